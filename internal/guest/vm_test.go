package guest

import (
	"bufio"
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

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/smolvm/smolvm/image"
	"github.com/smolvm/smolvm/internal/console"
	"github.com/smolvm/smolvm/internal/paths"
	"github.com/smolvm/smolvm/internal/testenv"
)

// TestAgentInVM boots the default image (plus the button and evdev
// modules) twice from one disk under QEMU and checks what image.TestBoot
// does not: the PID 1 duties (mounts, hostname, orphan reaping), a
// non-root login with sftp through the agent's re-exec, a PTY, shutdown
// by the ACPI power button and by busybox poweroff, and the host key
// surviving a restart, and a fatal boot error powering off with its
// reason on the console.
func TestAgentInVM(t *testing.T) {
	testenv.RequireVM(t)
	d, err := paths.Default()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	img, err := image.NewBuilder(image.WithCacheDir(t.TempDir()), image.WithDebsDir(d.Debs()),
		image.WithModules(append(append([]string{}, image.DefaultModules...), "button", "evdev")...)).Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	overlay := filepath.Join(dir, "disk.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-b", img.Rootfs, "-F", "raw", overlay).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	args := "console=ttyS0 panic=1 quiet smolvm.hostname=agenttest smolvm.authkey=" +
		base64.StdEncoding.EncodeToString(ssh.MarshalAuthorizedKey(signer.PublicKey()))

	// Boot 1: PID 1 duties, then the ACPI power button.
	vm := bootVM(t, img, overlay, filepath.Join(dir, "serial1.log"), args)
	root := vm.dial(t, "root", signer)
	out := vm.run(t, root, "hostname; id -u; cat /etc/resolv.conf; grep -E ' (/tmp|/run|/dev/pts|/dev/shm) ' /proc/mounts | cut -d' ' -f2,3; readlink /dev/fd")
	want := "agenttest\n0\nnameserver 10.0.2.3\n/dev/pts devpts\n/dev/shm tmpfs\n/run tmpfs\n/tmp tmpfs\n/proc/self/fd\n"
	if out != want {
		vm.fail(t, "PID 1 state:\n got %q\nwant %q", out, want)
	}
	// An orphan (the shell exits before its sleep) must be reaped by PID 1.
	vm.run(t, root, "sleep 0.3 & exit 0")
	for i := 0; ; i++ {
		z := vm.run(t, root, "sleep 0.5; grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l")
		if strings.TrimSpace(z) == "0" {
			break
		}
		if i > 20 {
			vm.fail(t, "zombies left: %s", z)
		}
	}
	user := vm.dial(t, "user", signer)
	if got := vm.run(t, user, "id -u; pwd"); got != "1000\n/home/user\n" {
		vm.fail(t, "user: %q", got)
	}
	sc, err := sftp.NewClient(user)
	if err != nil {
		vm.fail(t, "sftp: %v", err)
	}
	f, err := sc.Create("up.txt")
	if err == nil {
		_, err = f.Write([]byte("via sftp\n"))
		_ = f.Close()
	}
	_ = sc.Close()
	if err != nil {
		vm.fail(t, "sftp put: %v", err)
	}
	if got := vm.run(t, root, "stat -c '%u %s' /home/user/up.txt"); got != "1000 9\n" {
		vm.fail(t, "sftp file as seen by root: %q", got)
	}
	s, err := root.NewSession()
	if err != nil {
		vm.fail(t, "session: %v", err)
	}
	if err := s.RequestPty("xterm", 30, 90, ssh.TerminalModes{}); err != nil {
		vm.fail(t, "pty-req: %v", err)
	}
	tty, err := s.Output("tty; stty size")
	if err != nil || !strings.HasPrefix(string(tty), "/dev/pts/") || !strings.Contains(string(tty), "30 90") {
		vm.fail(t, "pty: %q %v", tty, err)
	}
	hostKey := vm.report.HostKey
	vm.qmp(t, `{"execute":"system_powerdown"}`)
	vm.waitExit(t, "phase shutdown: ACPI power button")

	// Boot 2: same disk, same host key; busybox poweroff.
	vm = bootVM(t, img, overlay, filepath.Join(dir, "serial2.log"), args)
	if vm.report.HostKey != hostKey {
		vm.fail(t, "host key changed across boots: %q then %q", hostKey, vm.report.HostKey)
	}
	root = vm.dial(t, "root", signer)
	s, err = root.NewSession()
	if err != nil {
		vm.fail(t, "session: %v", err)
	}
	_ = s.Run("poweroff") // the connection may drop before exit-status
	vm.waitExit(t, "phase shutdown: SIGUSR2 (poweroff)")
	rep2 := vm.report

	// Boot 3: a root device that never appears is fatal: the reason is on
	// the console and the VM powers off instead of hanging or panicking.
	vm = startVM(t, img, overlay, filepath.Join(dir, "serial3.log"), args+" root=/dev/vdz smolvm.rootwait=2")
	vm.waitExit(t, "phase root-wait: FATAL: root device /dev/vdz did not appear within 2s")
	for i, m := range console.Milestones {
		t.Logf("boot 2 milestone %d %-15s %v", i, m, rep2.Milestones[m])
	}
}

type testVM struct {
	argv   []string
	log    string
	addr   string
	qmpSck string
	exited chan error
	report console.Report
}

func startVM(t *testing.T, img image.Image, disk, log, args string) *testVM {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	vm := &testVM{log: log, addr: fmt.Sprintf("127.0.0.1:%d", port), qmpSck: log + ".qmp", exited: make(chan error, 1)}
	vm.argv = []string{"qemu-system-x86_64", "-M", "pc", "-accel", "tcg", "-m", "512", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", img.Kernel, "-initrd", img.Initrd,
		"-drive", "if=none,id=d0,file=" + disk + ",format=qcow2", "-device", "virtio-blk-pci,drive=d0",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22", port), "-device", "virtio-net-pci,netdev=n0",
		"-serial", "file:" + log, "-qmp", "unix:" + vm.qmpSck + ",server,nowait", "-append", args}
	cmd := exec.Command(vm.argv[0], vm.argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
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
	})
	return vm
}

func bootVM(t *testing.T, img image.Image, disk, log, args string) *testVM {
	t.Helper()
	vm := startVM(t, img, disk, log, args)
	deadline := time.Now().Add(4 * time.Minute)
	for {
		if b, err := os.ReadFile(log); err == nil {
			if rep, err := console.Parse(bytes.NewReader(b)); err == nil && rep.HostKey != "" {
				if _, ok := rep.Milestones[console.SSHListening]; ok {
					vm.report = rep
					return vm
				}
			}
		}
		select {
		case err := <-vm.exited:
			vm.exited <- err
			vm.fail(t, "qemu exited before ssh-listening: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			vm.fail(t, "no ssh-listening after 4m")
		}
	}
}

func (vm *testVM) dial(t *testing.T, user string, key ssh.Signer) *ssh.Client {
	t.Helper()
	pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(vm.report.HostKey))
	if err != nil {
		vm.fail(t, "hostkey line %q: %v", vm.report.HostKey, err)
	}
	c, err := ssh.Dial("tcp", vm.addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(pinned), Timeout: 60 * time.Second})
	if err != nil {
		vm.fail(t, "ssh %s: %v", user, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (vm *testVM) run(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		vm.fail(t, "session: %v", err)
	}
	defer s.Close()
	out, err := s.Output(cmd)
	if err != nil {
		vm.fail(t, "%q: %v (stdout %q)", cmd, err, out)
	}
	return string(out)
}

func (vm *testVM) qmp(t *testing.T, command string) {
	t.Helper()
	c, err := net.Dial("unix", vm.qmpSck)
	if err != nil {
		vm.fail(t, "qmp: %v", err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		vm.fail(t, "qmp greeting: %v", err)
	}
	for _, line := range []string{`{"execute":"qmp_capabilities"}`, command} {
		if _, err := fmt.Fprintln(c, line); err != nil {
			vm.fail(t, "qmp: %v", err)
		}
		for {
			// Asynchronous events (POWERDOWN, ...) may come before the reply.
			resp, err := r.ReadString('\n')
			if err != nil || strings.Contains(resp, `"error"`) {
				vm.fail(t, "qmp %s: %q %v", line, resp, err)
			}
			if strings.Contains(resp, `"return"`) {
				break
			}
		}
	}
}

// waitExit waits for QEMU to exit after a shutdown request and checks the
// console says why.
func (vm *testVM) waitExit(t *testing.T, consoleLine string) {
	t.Helper()
	select {
	case err := <-vm.exited:
		vm.exited <- err
		if err != nil {
			vm.fail(t, "qemu exited with %v", err)
		}
	case <-time.After(2 * time.Minute):
		vm.fail(t, "still running 2m after the shutdown request")
	}
	b, _ := os.ReadFile(vm.log)
	if !strings.Contains(string(b), consoleLine) || !strings.Contains(string(b), "phase power-off: now") {
		vm.fail(t, "console lacks %q and the power-off line", consoleLine)
	}
}

func (vm *testVM) fail(t *testing.T, format string, args ...any) {
	t.Helper()
	b, _ := os.ReadFile(vm.log)
	tail := string(b)
	if len(tail) > 6000 {
		tail = tail[len(tail)-6000:]
	}
	t.Fatalf("%s\nqemu: %s\nserial log %s (tail):\n%s", fmt.Sprintf(format, args...), strings.Join(vm.argv, " "), vm.log, tail)
}
