package guest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"

	"golang.org/x/crypto/ssh"

	"github.com/smolvm/smolvm/internal/console"
	"github.com/smolvm/smolvm/internal/guest/cmdline"
	"github.com/smolvm/smolvm/internal/guest/reaper"
	"github.com/smolvm/smolvm/internal/guest/sshd"
)

// hostKeyPath is on the root disk, so a restarted VM keeps its host key.
const hostKeyPath = "/etc/smolvm/ssh_host_ed25519_key"

// startSSH starts the SSH server on TCP port 22 (failure is fatal: the
// host has no other way in) and on the vsock port (failure is logged:
// QEMU without a vsock device is normal), and prints the host key line.
func startSSH(ctx context.Context, out io.Writer, log *slog.Logger, b cmdline.Boot, r *reaper.Reaper) error {
	signer, created, err := sshd.LoadOrCreateHostKey(hostKeyPath)
	if err != nil {
		// A read-only root (ro on the command line) cannot keep a key:
		// serve with a fresh one rather than not at all.
		log.Warn("host key not stored; using a key for this boot only", "err", err)
		if signer, err = ephemeralKey(); err != nil {
			return err
		}
	} else if created {
		log.Info("host key generated", "path", hostKeyPath)
	}
	keys, err := sshd.ParseAuthorizedKeys(b.AuthKeys)
	if err != nil {
		log.Error("smolvm.authkey", "err", err)
	}
	if len(keys) == 0 {
		log.Warn("no authorized keys (smolvm.authkey): every SSH login will be refused")
	}
	srv, err := sshd.New(sshd.Config{
		HostKey:        signer,
		AuthorizedKeys: keys,
		Starter:        r,
		SFTPCommand:    []string{"/proc/self/exe", SFTPServerArg},
		Logger:         log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", ":22")
	if err != nil {
		return fmt.Errorf("listen tcp :22: %w", err)
	}
	go serve(ctx, log, srv, ln)
	if b.VsockPort != 0 {
		vl, err := listenVsock(b.VsockPort)
		if err != nil {
			log.Info("no SSH on vsock", "port", b.VsockPort, "err", err)
		} else {
			go serve(ctx, log, srv, vl)
			log.Info("SSH on vsock", "port", b.VsockPort)
		}
	}
	_, _ = io.WriteString(out, console.FormatHostKey(srv.HostKeyLine()))
	return nil
}

func serve(ctx context.Context, log *slog.Logger, srv *sshd.Server, ln net.Listener) {
	if err := srv.Serve(ctx, ln); err != nil {
		log.Error("ssh listener stopped", "addr", ln.Addr().String(), "err", err)
	}
}

func ephemeralKey() (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate host key: %w", err)
	}
	return ssh.NewSignerFromKey(priv)
}
