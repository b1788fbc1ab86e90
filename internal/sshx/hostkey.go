package sshx

import (
	"bytes"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ParseHostKey parses one authorized_keys line (as the guest prints it on
// the serial console, e.g. "ssh-ed25519 AAAA... comment").
func ParseHostKey(authorizedKey string) (ssh.PublicKey, error) {
	line := strings.TrimSpace(authorizedKey)
	if line == "" {
		return nil, ErrNoHostKey
	}
	k, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, fmt.Errorf("parse host key: %w", err)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("parse host key: more than one key given")
	}
	return k, nil
}

// PinnedHostKey returns a HostKeyCallback that accepts exactly pinned and
// fails every other key with an error wrapping ErrHostKeyMismatch that
// names both fingerprints.
func PinnedHostKey(pinned ssh.PublicKey) ssh.HostKeyCallback {
	want := pinned.Marshal()
	return func(hostname string, _ net.Addr, got ssh.PublicKey) error {
		if bytes.Equal(got.Marshal(), want) {
			return nil
		}
		return fmt.Errorf("%w: %s presented %s %s, pinned %s %s", ErrHostKeyMismatch, hostname,
			got.Type(), ssh.FingerprintSHA256(got), pinned.Type(), ssh.FingerprintSHA256(pinned))
	}
}

// hostKeyAlgorithms lists the signature algorithms a server may use with a
// key of the pinned key's type, so a server holding several host keys
// presents the pinned one.
func hostKeyAlgorithms(k ssh.PublicKey) []string {
	if k.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{k.Type()}
}
