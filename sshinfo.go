package smolvm

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/sshx"
)

// SSHInfo is what an external SSH client needs to reach a running VM with
// the guest's host key pinned.
type SSHInfo struct {
	User       string `json:"user"`
	Host       string `json:"host"`
	Port       int    `json:"port"`
	KeyPath    string `json:"key_path"`    // the installation's private key
	KnownHosts string `json:"known_hosts"` // a known_hosts file holding only the pinned key
}

// SSHInfo returns how to reach the VM with a standard SSH client. It needs a
// TCP transport (QEMU's user-mode networking).
func (vm *VM) SSHInfo(ctx context.Context) (SSHInfo, error) {
	if err := vm.usable(); err != nil {
		return SSHInfo{}, err
	}
	v, err := vm.st.Get(ctx, vm.id)
	if err != nil {
		return SSHInfo{}, mapStoreErr(vm.id, err)
	}
	if v.State != "running" {
		return SSHInfo{}, fmt.Errorf("vm %q is %s, not running: %w", vm.id, v.State, ErrInvalidState)
	}
	t := v.Handle.Transport
	if t.Kind != "tcp" {
		return SSHInfo{}, fmt.Errorf("vm %q is reached over %s, not TCP: use exec: %w", vm.id, t.Kind, ErrUnavailable)
	}
	host, portStr, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return SSHInfo{}, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return SSHInfo{}, err
	}
	layout := paths.VM{Dir: v.Dir}
	key, err := pinnedHostKey(layout)
	if err != nil {
		return SSHInfo{}, err
	}
	kh := filepath.Join(v.Dir, "known_hosts")
	line := fmt.Sprintf("[%s]:%d %s\n", host, port, key)
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		return SSHInfo{}, err
	}
	return SSHInfo{User: "root", Host: host, Port: port, KeyPath: vm.dirs.SSHKey(), KnownHosts: kh}, nil
}

// LoginCommand returns the remote command line that runs cmd in a login
// shell (`/bin/sh -lc`, cmd passed as one quoted argument), as Run does:
// for an external SSH client that should see the env file's variables.
func LoginCommand(cmd string) string {
	s, err := sshx.LoginCommand(cmd, nil)
	if err != nil {
		panic(err) // unreachable: no env keys are passed
	}
	return s
}
