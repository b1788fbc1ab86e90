package env

import "bytes"

// shellSpecial lists the bytes that, unquoted, make a shell expand,
// redirect or split a command in ways this reader will not emulate.
const shellSpecial = "$`;&|<>()*?[{}~"

// word is one shell word after quote removal.
type word struct {
	text        string
	quoted      bool // some part was quoted or backslash-escaped
	unsupported bool // contains something a shell would expand or treat as an operator
}

// logicalLine is one shell command line: it ends at a newline outside
// quotes that is not escaped.
type logicalLine struct {
	line         int // 1-based physical line where it starts
	words        []word
	unterminated bool // a quote was still open at the end of the input
}

// lexer cuts data into logical lines of words. It understands blanks,
// comments, '...', "..." and backslashes; everything else is a word byte.
type lexer struct {
	data []byte
	pos  int
	line int
}

func newLexer(data []byte) *lexer { return &lexer{data: data, line: 1} }

// next returns the next logical line, or false at the end of the input.
func (lx *lexer) next() (logicalLine, bool) {
	if lx.pos >= len(lx.data) {
		return logicalLine{}, false
	}
	ll := logicalLine{line: lx.line}
	var cur []byte
	var w word
	inWord := false
	flush := func() {
		if inWord {
			w.text = string(cur)
			ll.words = append(ll.words, w)
		}
		cur, w, inWord = cur[:0], word{}, false
	}
	d := lx.data
	for lx.pos < len(d) {
		c := d[lx.pos]
		switch {
		case c == '\n':
			lx.pos++
			lx.line++
			flush()
			return ll, true
		case c == '\r' && lx.pos+1 < len(d) && d[lx.pos+1] == '\n':
			lx.pos += 2 // CRLF outside quotes: the CR belongs to the line ending
			lx.line++
			flush()
			return ll, true
		case c == ' ' || c == '\t':
			flush()
			lx.pos++
		case c == '#' && !inWord:
			if i := bytes.IndexByte(d[lx.pos:], '\n'); i >= 0 {
				lx.pos += i // the newline itself ends the line above
			} else {
				lx.pos = len(d)
			}
		case c == '\\':
			lx.backslash(&cur, &w, &inWord)
		case c == '\'':
			inWord, w.quoted = true, true
			end := bytes.IndexByte(d[lx.pos+1:], '\'')
			if end < 0 {
				lx.unterminated(&ll)
				flush()
				return ll, true
			}
			seg := d[lx.pos+1 : lx.pos+1+end]
			cur = append(cur, seg...)
			lx.line += bytes.Count(seg, []byte{'\n'})
			lx.pos += end + 2
		case c == '"':
			inWord, w.quoted = true, true
			if !lx.doubleQuoted(&cur, &w) {
				lx.unterminated(&ll)
				flush()
				return ll, true
			}
		default:
			inWord = true
			if bytes.IndexByte([]byte(shellSpecial), c) >= 0 {
				w.unsupported = true
			}
			cur = append(cur, c)
			lx.pos++
		}
	}
	flush()
	return ll, true
}

// backslash handles \ outside quotes: \newline (or \CRLF) is a line
// continuation, \c is a literal c, a final \ is itself.
func (lx *lexer) backslash(cur *[]byte, w *word, inWord *bool) {
	d := lx.data
	switch {
	case lx.pos+1 < len(d) && d[lx.pos+1] == '\n':
		lx.pos += 2
		lx.line++
	case lx.pos+2 < len(d) && d[lx.pos+1] == '\r' && d[lx.pos+2] == '\n':
		lx.pos += 3
		lx.line++
	case lx.pos+1 < len(d):
		*inWord, w.quoted = true, true
		*cur = append(*cur, d[lx.pos+1])
		lx.pos += 2
	default:
		*inWord = true
		*cur = append(*cur, '\\')
		lx.pos++
	}
}

// doubleQuoted reads "..." starting at the opening quote. Inside, \
// escapes only $ ` " \ and newline (POSIX); an unescaped $ or ` marks the
// word unsupported. It reports false if the input ends first.
func (lx *lexer) doubleQuoted(cur *[]byte, w *word) bool {
	d := lx.data
	lx.pos++
	for lx.pos < len(d) {
		c := d[lx.pos]
		switch {
		case c == '"':
			lx.pos++
			return true
		case c == '\\' && lx.pos+1 < len(d):
			switch e := d[lx.pos+1]; e {
			case '$', '`', '"', '\\':
				*cur = append(*cur, e)
				lx.pos += 2
			case '\n':
				lx.pos += 2
				lx.line++
			default:
				*cur = append(*cur, c)
				lx.pos++
			}
			continue
		case c == '$' || c == '`':
			w.unsupported = true
		case c == '\n':
			lx.line++
		}
		*cur = append(*cur, c)
		lx.pos++
	}
	return false
}

// unterminated consumes the rest of the input for an open quote.
func (lx *lexer) unterminated(ll *logicalLine) {
	lx.line += bytes.Count(lx.data[lx.pos:], []byte{'\n'})
	lx.pos = len(lx.data)
	ll.unterminated = true
}
