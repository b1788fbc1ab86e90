package env

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// ParseDotenv reads a dotenv file (the CLI's --env-file) from r and
// returns its variables; the last assignment of a key wins. The format:
//
//   - lines end in LF or CRLF (every CRLF is read as LF, also inside
//     quotes); blank lines and lines whose first non-blank byte is # are
//     ignored;
//   - an entry is [export ]KEY=VALUE; blanks around KEY and before VALUE
//     are ignored; KEY must pass ValidateKey;
//   - VALUE starting with ' is literal up to the next ' (it may span
//     lines);
//   - VALUE starting with " runs to the next unescaped " (it may span
//     lines); inside, \n \r \t \" \\ and \$ are escapes, any other \c is
//     kept as both bytes; there is no variable expansion;
//   - after a closing quote only blanks and a # comment may follow;
//   - any other VALUE is the rest of the line, cut at the first # that
//     follows a blank, with surrounding blanks trimmed; quotes inside it
//     are literal;
//   - values must pass ValidateValue (no NUL, valid UTF-8, size).
//
// An error for an entry is a *LineError ("line 7: ...") whose Err is a
// *KeyError, *ValueError, *SizeError or wraps ErrSyntax, so errors.Is
// matches ErrInvalidKey, ErrInvalidValue, ErrTooLarge or ErrSyntax; it
// names keys but never values. A file longer than MaxFileSize is refused
// with a *SizeError before parsing. ParseDotenv does no I/O beyond r.
func ParseDotenv(r io.Reader) (map[string]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read dotenv: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, &SizeError{What: "dotenv file", Size: len(data), Limit: MaxFileSize}
	}
	p := dotenvParser{data: bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), line: 1}
	vars := map[string]string{}
	for p.pos < len(p.data) {
		start := p.line
		key, value, ok, err := p.entry()
		if err != nil {
			return nil, &LineError{Line: start, Err: err}
		}
		if ok {
			vars[key] = value
		}
	}
	return vars, nil
}

type dotenvParser struct {
	data []byte
	pos  int // start of the current physical line
	line int // its 1-based number
}

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)
}

// finishLine returns the current line from offset from (absolute) and
// moves p past its newline.
func (p *dotenvParser) finishLine(from int) []byte {
	end := bytes.IndexByte(p.data[from:], '\n')
	var rest []byte
	if end < 0 {
		rest, p.pos = p.data[from:], len(p.data)
	} else {
		rest, p.pos = p.data[from:from+end], from+end+1
	}
	p.line++
	return rest
}

// entry reads one line (or one multi-line quoted entry). ok is false for a
// blank or comment line.
func (p *dotenvParser) entry() (key, value string, ok bool, err error) {
	i := skipBlanks(p.data, p.pos)
	if i >= len(p.data) || p.data[i] == '\n' || p.data[i] == '#' {
		p.finishLine(i)
		return "", "", false, nil
	}
	if rest := p.data[i:]; bytes.HasPrefix(rest, []byte("export")) && len(rest) > 6 && (rest[6] == ' ' || rest[6] == '\t') {
		i = skipBlanks(p.data, i+6)
	}
	lineEnd := bytes.IndexByte(p.data[i:], '\n')
	if lineEnd < 0 {
		lineEnd = len(p.data) - i
	}
	eq := bytes.IndexByte(p.data[i:i+lineEnd], '=')
	if eq < 0 {
		p.finishLine(i)
		return "", "", false, syntaxErr("expected KEY=VALUE")
	}
	key = strings.TrimRight(string(p.data[i:i+eq]), " \t")
	if err := ValidateKey(key); err != nil {
		return "", "", false, err
	}
	vstart := i + eq + 1
	i = skipBlanks(p.data, vstart)
	switch {
	case i < len(p.data) && (p.data[i] == '\'' || p.data[i] == '"'):
		value, i, err = p.quoted(i)
		if err != nil {
			return "", "", false, fmt.Errorf("value of %q: %w", key, err)
		}
		trail := skipBlanks(p.data, i)
		if trail < len(p.data) && p.data[trail] != '\n' && p.data[trail] != '#' {
			return "", "", false, syntaxErr("value of %q: unexpected text after closing quote", key)
		}
		p.finishLine(trail)
	default:
		value = unquotedValue(p.finishLine(vstart))
	}
	if err := ValidateValue(key, value); err != nil {
		return "", "", false, err
	}
	return key, value, true, nil
}

// quoted reads a '...' or "..." value starting at the quote at i and
// returns it and the offset after the closing quote, counting the lines
// it spans.
func (p *dotenvParser) quoted(i int) (string, int, error) {
	q := p.data[i]
	var b []byte
	for j := i + 1; j < len(p.data); j++ {
		c := p.data[j]
		switch {
		case c == q:
			return string(b), j + 1, nil
		case c == '\\' && q == '"' && j+1 < len(p.data):
			if e, ok := dotenvEscape(p.data[j+1]); ok {
				b = append(b, e)
				j++
				continue
			}
		case c == '\n':
			p.line++
		}
		b = append(b, c)
	}
	return "", 0, syntaxErr("unterminated %c quote", q)
}

func dotenvEscape(c byte) (byte, bool) {
	switch c {
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	case '"', '\\', '$':
		return c, true
	}
	return 0, false
}

// unquotedValue cuts a trailing " #comment" and trims blanks.
func unquotedValue(rest []byte) string {
	for k := 1; k < len(rest); k++ {
		if rest[k] == '#' && (rest[k-1] == ' ' || rest[k-1] == '\t') {
			rest = rest[:k]
			break
		}
	}
	return strings.Trim(string(rest), " \t")
}

func skipBlanks(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}
