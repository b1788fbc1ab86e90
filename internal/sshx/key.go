package sshx

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// keyComment is the comment stored in a generated private key.
const keyComment = "smolvm"

// LoadOrCreateKey returns the ed25519 client key stored at path (OpenSSH
// private key format, unencrypted), creating it when the file does not
// exist. The directory is created with mode 0700 and the file with 0600.
// Creation is atomic: the key is written to a temp file in the same
// directory and hard-linked to path, so concurrent callers in any number of
// processes all end up with the same key and nobody ever reads a partial
// file. An existing key file readable or writable by group or others is
// refused, as OpenSSH refuses it.
func LoadOrCreateKey(path string) (ssh.Signer, error) {
	s, err := loadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil { //nolint:gosec // the caller chooses the key location
		return nil, fmt.Errorf("create key dir: %w", err)
	}
	if err := createKey(path); err != nil {
		return nil, err
	}
	return loadKey(path)
}

// createKey writes a fresh key to path unless another caller got there
// first; either way path holds a complete key afterwards.
func createKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, keyComment)
	if err != nil {
		return fmt.Errorf("marshal key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() //nolint:gosec // our own temp file
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("create key: %w", err)
	}
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	// link(2) fails with EEXIST instead of replacing: the first writer wins
	// and every later one reads the winner's key.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("install key: %w", err)
	}
	return nil
}

func loadKey(path string) (ssh.Signer, error) {
	fi, err := os.Stat(path) //nolint:gosec // the caller chooses the key location
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load key %s: mode %04o is accessible by others (want 0600)", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path) //nolint:gosec // path is the caller's key location
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	return s, nil
}

// AuthorizedKey returns the signer's public key as one authorized_keys line
// ("ssh-ed25519 AAAA..."), without a trailing newline.
func AuthorizedKey(signer ssh.Signer) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}
