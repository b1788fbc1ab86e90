package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/testenv"
)

// The CLI is tested as a user runs it: the real binary, a real data dir,
// real VMs.
var smolvmBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "smolvm-cli-")
	if err != nil {
		panic(err)
	}
	smolvmBin = filepath.Join(dir, "smolvm")
	for _, b := range [][]string{
		{"build", "-o", smolvmBin, "."},
		{"build", "-o", filepath.Join(dir, "smolvm-agent"), "../smolvm-agent"},
	} {
		cmd := exec.Command("go", b...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go %v: %v\n%s", b, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// cli runs the smolvm binary with the given data dir.
func cli(t *testing.T, dataDir string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, smolvmBin, args...)
	cmd.Env = append(os.Environ(), "SMOLVM_DATA_DIR="+dataDir, "HOST_SECRET=from the host")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("smolvm %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return cliResult{code, out.String(), errb.String()}
}

func dataDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "smolvm-cli-data-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Leave no VM behind even when a test failed half-way.
		cli(t, dir, "rm", "-f", "--all")
		_ = os.RemoveAll(dir)
	})
	return dir
}

func TestCLIBadInputNoVM(t *testing.T) {
	dir := dataDir(t)
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown command", []string{"frobnicate"}, 1, "unknown command"},
		{"exec unknown vm", []string{"exec", "nope", "--", "true"}, 125, "not found"},
		{"stop unknown vm", []string{"stop", "nope"}, 1, "not found"},
		{"invalid id", []string{"create", "--name", "Bad_ID!"}, 2, "invalid --name"},
		{"cpus out of range", []string{"create", "--cpus", "64"}, 2, "invalid --cpus"},
		{"memory out of range", []string{"create", "--memory", "64"}, 2, "invalid --memory"},
		{"missing kernel", []string{"create", "--kernel", missing, "--rootfs", missing}, 2, "invalid --kernel"},
		{"empty command", []string{"run", "--", " "}, 2, "no command"},
		{"no command", []string{"run"}, 2, "no command"},
		{"malformed env key", []string{"run", "--env", "1A=x", "--", "true"}, 2, `"1A"`},
		{"env key with dash", []string{"run", "--env", "FOO-BAR=x", "--", "true"}, 2, "FOO-BAR"},
		{"env empty key", []string{"run", "--env", "=x", "--", "true"}, 2, "--env"},
		{"env from unset host var", []string{"run", "--env", "SMOLVM_SURELY_UNSET_VAR", "--", "true"}, 2, "not set on the host"},
		{"env file missing", []string{"run", "--env-file", missing, "--", "true"}, 2, "--env-file"},
		{"bad flag", []string{"ls", "--bogus"}, 2, "bogus"},
		{"rm without ids", []string{"rm"}, 2, "--all"},
		{"env set unknown vm", []string{"env", "set", "nope", "A=1"}, 1, "not found"},
		{"explicit zero cpus", []string{"run", "--cpus", "0", "--", "true"}, 2, "--cpus"},
		{"explicit empty name", []string{"create", "--name", ""}, 2, "--name"},
		{"negative timeout", []string{"run", "--timeout", "-1s", "--", "true"}, 2, "--timeout"},
		{"env set nothing with replace", []string{"env", "set", "nope", "--replace"}, 2, "nothing to set"},
		{"env set bad argument", []string{"env", "set", "nope", "=x"}, 2, "argument: invalid env key"},
		{"reserved prefix", []string{"run", "--env", "SMOLVM_RUNENV_FOO=x", "--", "true"}, 2, "reserves"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, dir, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("exit %d stderr %q; want exit %d and a message containing %q", r.code, r.stderr, tc.code, tc.msg)
			}
		})
	}
	if r := cli(t, dir, "ls", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("after bad input, ls --json = %q (exit %d); want []", r.stdout, r.code)
	}
	rm := cli(t, dir, "rm", "--json", "nope", "nope2")
	var rmOut struct {
		Removed []string
		Errors  []map[string]string
	}
	if err := json.Unmarshal([]byte(rm.stdout), &rmOut); err != nil || rm.code != 1 || len(rmOut.Errors) != 2 || rmOut.Removed == nil {
		t.Errorf("rm --json of unknown VMs: exit %d, one JSON document expected: %q (%v)", rm.code, rm.stdout, err)
	}
	r := cli(t, dir, "--json", "exec", "nope", "--", "true")
	var je map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &je); err != nil || je["kind"] != "not_found" {
		t.Errorf("--json error output %q: %v", r.stdout, err)
	}
}

func TestCLIRunOneShot(t *testing.T) {
	testenv.RequireVM(t)
	dir := dataDir(t)
	r := cli(t, dir, "run", "--env", "APP_MODE=production", "--env", "HOST_SECRET", "--",
		`echo "$APP_MODE"; printf '%s\n' "$HOST_SECRET"; uname -s; echo to-stderr >&2; exit 42`)
	if r.code != 42 {
		t.Fatalf("exit %d, want 42; stderr:\n%s", r.code, r.stderr)
	}
	if want := "production\nfrom the host\nLinux\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "to-stderr\n") {
		t.Errorf("stderr %q lacks the command's stderr", r.stderr)
	}
	if strings.Contains(r.stderr, "from the host") {
		t.Error("an env value leaked into smolvm's own stderr")
	}
	if ls := cli(t, dir, "ls", "--json"); strings.TrimSpace(ls.stdout) != "[]" {
		t.Errorf("one-shot run left a VM: %s", ls.stdout)
	}
}

func TestCLIKilledRunLeavesNoVM(t *testing.T) {
	testenv.RequireVM(t)
	dir := dataDir(t)
	cmd := exec.Command(smolvmBin, "run", "--", "sleep 1000")
	cmd.Env = append(os.Environ(), "SMOLVM_DATA_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the VM runs (the command is in flight), then kill -9 the CLI.
	var pid int
	deadline := time.Now().Add(6 * time.Minute)
	for pid == 0 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the one-shot VM never reached running")
		}
		time.Sleep(500 * time.Millisecond)
		var infos []struct {
			State string `json:"state"`
			PID   int    `json:"pid"`
		}
		r := cli(t, dir, "ls", "--json")
		if json.Unmarshal([]byte(r.stdout), &infos) == nil && len(infos) == 1 && infos[0].State == "running" {
			pid = infos[0].PID
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	deadline = time.Now().Add(20 * time.Second)
	for syscall.Kill(pid, 0) == nil && !isZombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("qemu pid %d still alive after its smolvm run was killed", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := cli(t, dir, "ls", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("after reconcile, ls shows %s", r.stdout)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "vms")); len(entries) != 0 {
		t.Errorf("VM directories left: %v", entries)
	}
}

func TestCLIInterruptedRun(t *testing.T) {
	testenv.RequireVM(t)
	dir := dataDir(t)
	cmd := exec.Command(smolvmBin, "run", "--", "echo started; sleep 300")
	cmd.Env = append(os.Environ(), "SMOLVM_DATA_DIR="+dir)
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(6 * time.Minute)
	for !strings.Contains(out.String(), "started") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the command never started; stderr:\n%s", errb.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("SIGINT of smolvm run: %v, stderr %q; want exit 130 and \"interrupted\"", err, errb.String())
	}
	if r := cli(t, dir, "ls", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("an interrupted run left a VM: %s", r.stdout)
	}
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}

func TestCLIPersistentVMs(t *testing.T) {
	testenv.RequireVM(t)
	dir := dataDir(t)
	// Two CLI processes create VMs at once: both succeed, distinct ports.
	var wg sync.WaitGroup
	results := make([]cliResult, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = cli(t, dir, "create", "--name", fmt.Sprintf("p%d", i), "--env", "SECRET_TOKEN=s3cr3t value")
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 || strings.TrimSpace(r.stdout) != fmt.Sprintf("p%d", i) {
			t.Fatalf("create p%d: exit %d stdout %q stderr:\n%s", i, r.code, r.stdout, r.stderr)
		}
	}
	var infos []struct {
		ID, State string
		SSHAddr   string `json:"ssh_addr"`
	}
	if err := json.Unmarshal([]byte(cli(t, dir, "ls", "--json").stdout), &infos); err != nil || len(infos) != 2 {
		t.Fatalf("ls --json: %v %+v", err, infos)
	}
	if infos[0].SSHAddr == "" || infos[0].SSHAddr == infos[1].SSHAddr {
		t.Errorf("the two VMs got ports %q and %q", infos[0].SSHAddr, infos[1].SSHAddr)
	}
	if r := cli(t, dir, "create", "--name", "p0"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("duplicate create: exit %d stderr %q", r.code, r.stderr)
	}

	if r := cli(t, dir, "exec", "p0", "--", `printf %s "$SECRET_TOKEN"`); r.code != 0 || r.stdout != "s3cr3t value" {
		t.Errorf("exec sees boot env: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, dir, "exec", "p0", "--env", "SECRET_TOKEN=override", "--", `printf %s "$SECRET_TOKEN"`); r.stdout != "override" {
		t.Errorf("exec --env must win over the env file: %q", r.stdout)
	}
	if r := cli(t, dir, "env", "set", "p0", "A=1", "B=two words"); r.code != 0 || !strings.Contains(r.stdout, "A, B") {
		t.Errorf("env set: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r := cli(t, dir, "env", "list", "p0")
	if r.code != 0 || !strings.Contains(r.stdout, "B=****") || strings.Contains(r.stdout, "two words") || strings.Contains(r.stdout, "s3cr3t") {
		t.Errorf("env list must mask values: %q", r.stdout)
	}
	r = cli(t, dir, "env", "list", "p0", "--show-values", "--json")
	var listed struct{ Vars map[string]string }
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || listed.Vars["B"] != "two words" || listed.Vars["SECRET_TOKEN"] != "s3cr3t value" {
		t.Errorf("env list --show-values --json = %q (%v)", r.stdout, err)
	}
	if r := cli(t, dir, "env", "unset", "p0", "A", "NOPE"); r.code != 0 || !strings.Contains(r.stdout, "Removed 1") {
		t.Errorf("env unset: %q %q", r.stdout, r.stderr)
	}
	if r := cli(t, dir, "stop", "p1"); r.code != 0 {
		t.Fatalf("stop: %q", r.stderr)
	}
	if r := cli(t, dir, "exec", "p1", "--", "true"); r.code == 0 || !strings.Contains(r.stderr, "not running") {
		t.Errorf("exec on a stopped VM: exit %d stderr %q", r.code, r.stderr)
	}
	if r := cli(t, dir, "rm", "p0"); r.code == 0 || !strings.Contains(r.stderr, "-f") {
		t.Errorf("rm of a running VM without -f: exit %d stderr %q", r.code, r.stderr)
	}
	// The system's OpenSSH client: one command, and an interactive shell
	// with a PTY, with the pinned host key.
	if r := cli(t, dir, "ssh", "p0", "--", "echo via-openssh; tty -s || echo no-tty"); r.code != 0 || r.stdout != "via-openssh\nno-tty\n" {
		t.Errorf("smolvm ssh -- CMD: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	var info struct {
		User, Host string
		Port       int
		KeyPath    string `json:"key_path"`
		KnownHosts string `json:"known_hosts"`
	}
	if err := json.Unmarshal([]byte(cli(t, dir, "ssh", "p0", "--json").stdout), &info); err != nil {
		t.Fatal(err)
	}
	pty := exec.Command("ssh", "-tt", "-i", info.KeyPath, "-p", fmt.Sprint(info.Port), "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile="+info.KnownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		info.User+"@"+info.Host)
	pty.Stdin = strings.NewReader("tty; echo \"term=$TERM\"; exit 3\n")
	out, err := pty.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "/dev/pts/") {
		t.Errorf("interactive OpenSSH shell with a PTY: %v\n%s", err, out)
	}
	// The image under p0's disk cannot be removed while p0 exists.
	var vmInfo []struct {
		Rootfs string `json:"rootfs"`
	}
	if err := json.Unmarshal([]byte(cli(t, dir, "ls", "--json").stdout), &vmInfo); err != nil || len(vmInfo) == 0 {
		t.Fatalf("ls --json: %v", err)
	}
	img := filepath.Base(filepath.Dir(vmInfo[0].Rootfs))
	if r := cli(t, dir, "image", "rm", img); r.code != 1 || !strings.Contains(r.stderr, "used by VM(s) p0") {
		t.Errorf("image rm of an image in use: exit %d stderr %q", r.code, r.stderr)
	}
	if r := cli(t, dir, "image", "ls"); !strings.Contains(r.stdout, "p0,p1") {
		t.Errorf("image ls does not show the users: %q", r.stdout)
	}
	if r := cli(t, dir, "logs", "p0"); !strings.Contains(r.stdout, "smolvm-agent: milestone ssh-listening") {
		t.Errorf("logs lack the agent's milestones: %q", trunc(r.stdout))
	}
	if r := cli(t, dir, "rm", "-f", "p0", "p1"); r.code != 0 {
		t.Errorf("rm -f: %q", r.stderr)
	}
	if r := cli(t, dir, "ls", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("after rm: %s", r.stdout)
	}
}

func trunc(s string) string {
	if len(s) > 500 {
		return s[len(s)-500:]
	}
	return s
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
