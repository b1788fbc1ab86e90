package sshd

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePasswd(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []User
	}{
		{"root", "root:x:0:0:root:/root:/bin/sh\n", []User{{Name: "root", Home: "/root", Shell: "/bin/sh"}}},
		{"defaults for empty home and shell", "u:x:5:6:::\n", []User{{Name: "u", UID: 5, GID: 6, Home: "/", Shell: "/bin/sh"}}},
		{"comment and blank skipped", "# c\n\nu:x:1:1::/h:/bin/bash", []User{{Name: "u", UID: 1, GID: 1, Home: "/h", Shell: "/bin/bash"}}},
		{"CRLF tolerated", "u:x:1:1::/h:/bin/sh\r\n", []User{{Name: "u", UID: 1, GID: 1, Home: "/h", Shell: "/bin/sh"}}},
		{"wrong field count skipped", "u:x:1:1:/h:/bin/sh\n", nil},
		{"non-numeric uid skipped", "u:x:a:1::/h:/bin/sh\n", nil},
		{"uid out of range skipped", "u:x:4294967296:1::/h:/bin/sh\n", nil},
		{"empty name skipped", ":x:1:1::/h:/bin/sh\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParsePasswd([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseGroupsOf(t *testing.T) {
	g := "root:x:0:\nwheel:x:10:root,user\naudio:x:29:user\nbad:x:zz:user\n#c:x:1:user\nshort:x:3\n"
	tests := []struct {
		name string
		user string
		want []uint32
	}{
		{"member of two", "user", []uint32{10, 29}},
		{"member of one", "root", []uint32{10}},
		{"member of none", "nobody", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseGroupsOf([]byte(g), tc.user); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParsePasswd(f *testing.F) {
	f.Add("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, u := range ParsePasswd([]byte(s)) {
			if u.Name == "" || u.Home == "" || u.Shell == "" || strings.ContainsAny(u.Name+u.Home+u.Shell, ":\n") {
				t.Fatalf("bad user %+v from %q", u, s)
			}
		}
		_ = ParseGroupsOf([]byte(s), "user")
	})
}

func TestParseAuthorizedKeys(t *testing.T) {
	s, _ := newSigner(t)
	line := strings.TrimSpace(string(marshalAuthorized(s)))
	tests := []struct {
		name  string
		in    string
		count int
		err   bool
	}{
		{"one key", line + "\n", 1, false},
		{"comments, blanks, options, CRLF", "# c\n\n" + `no-pty,command="x" ` + line + "\r\n" + line, 2, false},
		{"bad line named", line + "\ngarbage\n", 1, true},
		{"empty", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseAuthorizedKeys([]byte(tc.in))
			if len(keys) != tc.count || (err != nil) != tc.err {
				t.Fatalf("got %d keys, err %v", len(keys), err)
			}
			if tc.err && !strings.Contains(err.Error(), "line 2") {
				t.Fatalf("error does not name the line: %v", err)
			}
		})
	}
}

func FuzzParseAuthorizedKeys(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGY+JyaD8IHzudfawgOF6Qp1a4gU97cB3rETzjJfYIpO c\n# x\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseAuthorizedKeys([]byte(s))
		for _, k := range keys {
			if k == nil || len(k.Marshal()) == 0 {
				t.Fatal("empty key returned")
			}
		}
		if err != nil && !strings.Contains(err.Error(), "line ") {
			t.Fatalf("error does not name a line: %v", err)
		}
	})
}
