package sshx

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// testSigner returns a fresh ed25519 signer.
func testSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseHostKey(t *testing.T) {
	k := testSigner(t)
	line := AuthorizedKey(k)
	for _, tc := range []struct {
		name    string
		in      string
		wantErr error // nil: success
		anyErr  bool
	}{
		{"plain", line, nil, false},
		{"with comment and newline", line + " root@guest\n", nil, false},
		{"surrounding space", "  " + line + "\r\n", nil, false},
		{"empty means not known yet", "", ErrNoHostKey, true},
		{"blank means not known yet", " \n", ErrNoHostKey, true},
		{"garbage", "ssh-ed25519 !!!", nil, true},
		{"two keys", line + "\n" + AuthorizedKey(testSigner(t)), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHostKey(tc.in)
			if tc.anyErr {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Marshal()) != string(k.PublicKey().Marshal()) {
				t.Error("parsed a different key")
			}
		})
	}
}

func TestPinnedHostKey(t *testing.T) {
	pinned, other := testSigner(t), testSigner(t)
	cb := PinnedHostKey(pinned.PublicKey())
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
	if err := cb("vm:22", addr, pinned.PublicKey()); err != nil {
		t.Errorf("pinned key refused: %v", err)
	}
	err := cb("vm:22", addr, other.PublicKey())
	if !errors.Is(err, ErrHostKeyMismatch) {
		t.Fatalf("other key: err %v, want ErrHostKeyMismatch", err)
	}
	for _, want := range []string{"vm:22", ssh.FingerprintSHA256(other.PublicKey()), ssh.FingerprintSHA256(pinned.PublicKey())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
