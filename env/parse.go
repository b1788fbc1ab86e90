package env

import "strings"

// Reasons a line is skipped; the Reason of a Skipped. None contains any
// text from the file.
const (
	ReasonNotExport    = "not an export line"
	ReasonUnsupported  = "unsupported shell syntax (expansion, glob or operator)"
	ReasonUnterminated = "unterminated quote"
	ReasonNotOneAssign = "export needs exactly one KEY=VALUE"
	ReasonInvalidKey   = "invalid key"
	ReasonInvalidValue = "invalid value (NUL or invalid UTF-8)"
	ReasonTooLarge     = "variable too large"
)

// Skipped describes a logical line Parse did not take a variable from.
// It never holds the line's text, which may contain a secret value.
type Skipped struct {
	Line   int    // 1-based physical line where the logical line starts
	Key    string // the key when the line is an export KEY=... assignment, else ""
	Reason string // one of the Reason constants
}

// Parse reads an env file and returns its variables (never nil). It reads
// everything Render writes, and the subset of sh described in the package
// documentation; a line it cannot take is skipped, never fatal. The only
// error is a *SizeError (ErrTooLarge) when data is longer than
// MaxFileSize: no env file this package writes is that large, so such a
// file is not one to merge into. Use ParseReport to learn which lines
// were skipped, or to read a file of any size.
func Parse(data []byte) (map[string]string, error) {
	if len(data) > MaxFileSize {
		return nil, &SizeError{What: "env file", Size: len(data), Limit: MaxFileSize}
	}
	vars, _ := ParseReport(data)
	return vars, nil
}

// ParseReport is Parse without the size check, also returning the lines
// it skipped in file order. Blank lines and comments are not reported.
// Every variable it returns passes ValidateKey and ValidateValue.
func ParseReport(data []byte) (map[string]string, []Skipped) {
	vars := map[string]string{}
	var skipped []Skipped
	lx := newLexer(data)
	for {
		ll, ok := lx.next()
		if !ok {
			return vars, skipped
		}
		if len(ll.words) == 0 && !ll.unterminated {
			continue
		}
		key, value, reason := assignment(ll)
		if reason != "" {
			skipped = append(skipped, Skipped{Line: ll.line, Key: key, Reason: reason})
			continue
		}
		vars[key] = value
	}
}

// assignment interprets one non-empty logical line. It returns the key
// and value, or a reason (and the key when one is known).
func assignment(ll logicalLine) (key, value, reason string) {
	if ll.unterminated {
		return "", "", ReasonUnterminated
	}
	if w := ll.words[0]; w.quoted || w.text != "export" {
		return "", "", ReasonNotExport
	}
	for _, w := range ll.words {
		if w.unsupported {
			return "", "", ReasonUnsupported
		}
	}
	if len(ll.words) != 2 {
		return "", "", ReasonNotOneAssign
	}
	key, value, found := strings.Cut(ll.words[1].text, "=")
	if !found {
		return "", "", ReasonNotOneAssign
	}
	if ValidateKey(key) != nil {
		return key, "", ReasonInvalidKey
	}
	if !validValue(value) {
		return key, "", ReasonInvalidValue
	}
	if varSize(key, value) > MaxVarSize {
		return key, "", ReasonTooLarge
	}
	return key, value, ""
}
