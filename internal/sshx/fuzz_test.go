package sshx

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// unquote reads back one shell word made only of bare safe characters,
// '...' segments and "'" segments (what env.Quote produces), or reports
// false.
func unquote(s string) (string, bool) {
	var b strings.Builder
	for len(s) > 0 {
		switch s[0] {
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", false
			}
			b.WriteString(s[1 : 1+end])
			s = s[end+2:]
		case '"':
			if !strings.HasPrefix(s, `"'"`) {
				return "", false
			}
			b.WriteByte('\'')
			s = s[3:]
		default:
			c := s[0]
			if !safeWordByte(c) {
				return "", false
			}
			b.WriteByte(c)
			s = s[1:]
		}
	}
	return b.String(), true
}

// FuzzLoginCommand checks that LoginCommand puts cmd, after the env
// prelude, into exactly one shell word that reads back to it.
func FuzzLoginCommand(f *testing.F) {
	for _, s := range []string{"", "a", "I'm", "''", "a\nb", "$(id)", "héllo", "a b'c\"d"} {
		f.Add(s, "")
		f.Add(s, "KEY")
	}
	f.Fuzz(func(t *testing.T, cmd, key string) {
		var keys []string
		if key != "" {
			keys = []string{key}
		}
		line, err := LoginCommand(cmd, keys)
		if err != nil {
			if key == "" || validateKey(key) == nil {
				t.Fatalf("LoginCommand(%q, %q): %v", cmd, key, err)
			}
			return
		}
		const prefix = "exec /bin/sh -lc "
		word, ok := strings.CutPrefix(line, prefix)
		if !ok {
			t.Fatalf("%q lacks %q", line, prefix)
		}
		script, ok := unquote(word)
		want := cmd
		if key != "" {
			want = "export " + key + `="$` + RunEnvPrefix + key + `"; unset ` + RunEnvPrefix + key + "; " + cmd
		}
		if !ok || script != want {
			t.Fatalf("LoginCommand(%q, %q) = %q: script reads back as %q (ok=%v), want %q", cmd, key, line, script, ok, want)
		}
	})
}

// FuzzParseHostKey checks that ParseHostKey never panics and that a key it
// accepts renders back to an equal key.
func FuzzParseHostKey(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYyPtRZpQ/5WvcJGmCbYxkTkMdvMbWJuRV9VFGKXJf/ smolvm")
	f.Add("")
	f.Add("ssh-rsa AAAA")
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYyPtRZpQ/5WvcJGmCbYxkTkMdvMbWJuRV9VFGKXJf/\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYyPtRZpQ/5WvcJGmCbYxkTkMdvMbWJuRV9VFGKXJf/")
	f.Fuzz(func(t *testing.T, line string) {
		k, err := ParseHostKey(line)
		if err != nil {
			return
		}
		again, err := ParseHostKey(string(ssh.MarshalAuthorizedKey(k)))
		if err != nil || !bytes.Equal(again.Marshal(), k.Marshal()) {
			t.Fatalf("key from %q does not round-trip: %v", line, err)
		}
	})
}

// safeWordByte is shlex.quote's set of bytes left bare: [A-Za-z0-9_@%+=:,./-].
func safeWordByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("_@%+=:,./-", c) >= 0
}
