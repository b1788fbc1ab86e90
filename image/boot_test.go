package image

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/smolvm/smolvm/internal/console"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/testenv"
)

// TestBoot builds the default image (Debian kernel package, busybox, the
// agent built from this module) into a temp cache and boots it under QEMU
// with a private minimal launcher (the real backend is internal/hypervisor/qemu):
// the agent must print its host key and milestones, accept the key from
// the kernel command line, run a login shell, and power the VM off.
func TestBoot(t *testing.T) {
	testenv.RequireVM(t)
	d, err := paths.Default()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cache := t.TempDir()
	var events []string
	start := time.Now()
	img, err := NewBuilder(WithCacheDir(cache), WithDebsDir(d.Debs()),
		WithProgress(func(e Event) { events = append(events, fmt.Sprintf("%s %s %d", e.Step, e.Detail, e.Bytes)) }),
	).Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s built in %v: %s", img.Name, time.Since(start).Round(time.Millisecond), strings.Join(events, "; "))
	hitStart := time.Now()
	again, err := NewBuilder(WithCacheDir(cache), WithDebsDir(d.Debs())).Build(ctx)
	if err != nil || again.Fingerprint != img.Fingerprint {
		t.Fatalf("rebuild with the same inputs: %v (fingerprint %s, first %s)", err, again.Fingerprint, img.Fingerprint)
	}
	t.Logf("cache hit (default inputs, agent source rehashed) took %v", time.Since(hitStart))
	recs, _ := readInitrd(t, img.Initrd)
	t.Logf("sizes: kernel %d, initrd %d, rootfs %d apparent / %d allocated, agent %d bytes",
		fileSize(img.Kernel), fileSize(img.Initrd), fileSize(img.Rootfs), allocated(img.Rootfs), len(recs["init"].data))

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	authKey := base64.StdEncoding.EncodeToString(ssh.MarshalAuthorizedKey(signer.PublicKey()))

	vm := launch(t, ctx, img, authKey)
	rep := vm.waitConsole(t, 3*time.Minute)
	for _, m := range console.Milestones {
		t.Logf("milestone %-15s %v", m, rep.Milestones[m])
	}
	pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(rep.HostKey))
	if err != nil {
		t.Fatalf("hostkey line %q: %v", rep.HostKey, err)
	}
	var presented ssh.PublicKey
	client, err := ssh.Dial("tcp", vm.addr, &ssh.ClientConfig{
		User: "root",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			presented = key
			return ssh.FixedHostKey(pinned)("", nil, key)
		},
		Timeout: 30 * time.Second,
	})
	if err != nil {
		vm.fail(t, "ssh dial: %v", err)
	}
	defer client.Close()
	if presented == nil || !bytes.Equal(presented.Marshal(), pinned.Marshal()) {
		vm.fail(t, "host key presented %v differs from the console line %q", presented, rep.HostKey)
	}
	sess, err := client.NewSession()
	if err != nil {
		vm.fail(t, "session: %v", err)
	}
	out, err := sess.CombinedOutput("sh -lc 'echo ok'")
	if err != nil || string(out) != "ok\n" {
		vm.fail(t, "sh -lc 'echo ok' = %q, %v", out, err)
	}
	t.Logf("ssh ready %v after launch", time.Since(vm.started).Round(time.Millisecond))

	sess, err = client.NewSession()
	if err != nil {
		vm.fail(t, "session: %v", err)
	}
	_ = sess.Run("poweroff") // the connection may drop before exit-status
	select {
	case err := <-vm.exited:
		if err != nil {
			vm.fail(t, "qemu exited with %v after poweroff", err)
		}
	case <-time.After(90 * time.Second):
		vm.fail(t, "qemu still running 90s after poweroff")
	}
}

// vmUnderTest is one QEMU process started by launch.
type vmUnderTest struct {
	argv    []string
	log     string
	addr    string
	started time.Time
	exited  chan error
}

func launch(t *testing.T, ctx context.Context, img Image, authKey string) *vmUnderTest {
	t.Helper()
	dir := t.TempDir()
	overlay := filepath.Join(dir, "disk.qcow2")
	if out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-b", img.Rootfs, "-F", "raw", overlay).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	vm := &vmUnderTest{log: filepath.Join(dir, "serial.log"), addr: fmt.Sprintf("127.0.0.1:%d", port), exited: make(chan error, 1)}
	vm.argv = []string{"qemu-system-x86_64",
		"-M", "pc", "-accel", "tcg", "-m", "512", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", img.Kernel, "-initrd", img.Initrd,
		"-drive", "if=none,id=d0,file=" + overlay + ",format=qcow2", "-device", "virtio-blk-pci,drive=d0",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22", port), "-device", "virtio-net-pci,netdev=n0",
		"-device", "virtio-rng-pci",
		"-serial", "file:" + vm.log,
		"-append", "console=ttyS0 panic=1 quiet smolvm.authkey=" + authKey,
	}
	cmd := exec.Command(vm.argv[0], vm.argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	vm.started = time.Now()
	go func() {
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		vm.exited <- err
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-vm.exited
		}
		if t.Failed() {
			vm.dump(t)
		}
	})
	return vm
}

// waitConsole polls the serial log until the agent reported its host key
// and ssh-listening, QEMU exits, or the timeout passes.
func (vm *vmUnderTest) waitConsole(t *testing.T, timeout time.Duration) console.Report {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(vm.log); err == nil {
			rep, err := console.Parse(bytes.NewReader(b))
			if err == nil && rep.HostKey != "" {
				if _, ok := rep.Milestones[console.SSHListening]; ok {
					return rep
				}
			}
		}
		select {
		case err := <-vm.exited:
			vm.exited <- err
			vm.fail(t, "qemu exited before the agent was ready: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			vm.fail(t, "no hostkey and ssh-listening lines after %v", timeout)
		}
	}
}

func (vm *vmUnderTest) fail(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatalf(format, args...)
}

// dump prints what a failed boot needs for diagnosis: the exact command
// line and the serial log's tail.
func (vm *vmUnderTest) dump(t *testing.T) {
	t.Logf("qemu command line:\n%s", shellQuote(vm.argv))
	b, _ := os.ReadFile(vm.log)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	t.Logf("serial log tail (%s):\n%s", vm.log, b)
}

func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=,./:+") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'"'"'`) + "'"
		}
	}
	return strings.Join(q, " ")
}
