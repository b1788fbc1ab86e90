// Package cmdline parses the kernel command line the way the Linux kernel
// does (lib/cmdline.c next_arg) and interprets the parameters the smolvm
// guest agent uses: root=, rootfstype=, rootflags=, ro/rw, ip=, smolvm.* and
// module.param=value. See docs/guest.md for the contract.
package cmdline

import "strings"

// Param is one kernel command line parameter. Value is "" and HasValue is
// false for a bare word such as "quiet".
type Param struct {
	Key      string
	Value    string
	HasValue bool
}

// Split splits a command line (e.g. the contents of /proc/cmdline) into
// parameters exactly as the kernel's next_arg does: whitespace separates
// parameters except inside double quotes; the first '=' (not at position 0)
// splits key and value; one pair of quotes around the value, or around the
// whole parameter, is removed. Splitting stops at a bare "--": what follows
// is init's argv, not kernel parameters. Split never fails: the kernel
// accepts any bytes.
func Split(s string) []Param {
	var out []Param
	s = skipSpaces(s)
	for s != "" {
		var p Param
		p, s = nextArg(s)
		if !p.HasValue && p.Key == "--" {
			break
		}
		out = append(out, p)
	}
	return out
}

// nextArg mirrors lib/cmdline.c next_arg; it returns the parameter and the
// rest of the line with leading spaces skipped.
func nextArg(args string) (Param, string) {
	inQuote, quoted := false, false
	if args[0] == '"' {
		args = args[1:]
		inQuote, quoted = true, true
	}
	i, equals := 0, 0
	for ; i < len(args); i++ {
		if isSpace(args[i]) && !inQuote {
			break
		}
		if equals == 0 && args[i] == '=' {
			equals = i
		}
		if args[i] == '"' {
			inQuote = !inQuote
		}
	}
	word, rest := args[:i], ""
	if i < len(args) {
		rest = args[i+1:]
	}
	// end is where the kernel writes its terminating NUL (it may move left
	// by one when a closing quote is dropped).
	end := i
	var p Param
	if equals == 0 {
		if quoted && end > 0 && word[end-1] == '"' {
			end--
		}
		p = Param{Key: word[:end]}
	} else {
		valStart := equals + 1
		if valStart < len(word) && word[valStart] == '"' {
			valStart++
			if word[end-1] == '"' {
				end--
			}
		}
		if quoted && end > 0 && end == i && word[end-1] == '"' {
			end--
		}
		if end < valStart {
			// The kernel's NUL landed on the opening quote: empty value.
			end = valStart
		}
		p = Param{Key: word[:equals], Value: word[valStart:end], HasValue: true}
	}
	return p, skipSpaces(rest)
}

// isSpace is the kernel's isspace (lib/ctype.c): \t \n \v \f \r, space and
// 0xA0 (Latin-1 no-break space).
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xA0
}

func skipSpaces(s string) string {
	for s != "" && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

// normKey makes '-' and '_' equal, as the kernel's parameq does.
func normKey(k string) string { return strings.ReplaceAll(k, "-", "_") }

// Lookup returns the value of the last parameter named key ('-' and '_'
// are equal in names, as in the kernel); later parameters win.
func Lookup(params []Param, key string) (string, bool) {
	key = normKey(key)
	val, found := "", false
	for _, p := range params {
		if normKey(p.Key) == key {
			val, found = p.Value, true
		}
	}
	return val, found
}

// ModuleParams returns the "param=value" options the command line gives
// module (e.g. "virtio_mmio" for virtio_mmio.device=...), space-separated
// and in command-line order, ready for finit_module. Values holding a space
// are double-quoted, as the kernel's module parameter parser expects.
func ModuleParams(params []Param, module string) string {
	prefix := normKey(module) + "."
	var b strings.Builder
	for _, p := range params {
		k := normKey(p.Key)
		if !strings.HasPrefix(k, prefix) || len(k) == len(prefix) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.Key[len(prefix):])
		if p.HasValue {
			b.WriteByte('=')
			if strings.ContainsFunc(p.Value, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }) {
				b.WriteString(`"` + p.Value + `"`)
			} else {
				b.WriteString(p.Value)
			}
		}
	}
	return b.String()
}
