package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/smolvm/smolvm"
)

const (
	latRun    = "Run(ctx, \"true\") (login shell)"
	latRaw    = "Run(ctx, \"true\", Raw())"
	latFresh  = "ssh true, fresh connection"
	latMaster = "ssh true, ControlMaster connection"
)

// sshCommand builds OpenSSH client invocations for one VM, pinned to its
// host key and using smolvm's key, with no user configuration.
type sshCommand struct {
	info   smolvm.SSHInfo
	stderr *os.File // ssh's stderr, for diagnostics
}

func (s sshCommand) args(extra ...string) []string {
	a := []string{
		"-F", "/dev/null", "-i", s.info.KeyPath, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + s.info.KnownHosts, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-p", strconv.Itoa(s.info.Port),
	}
	a = append(a, extra...)
	return append(a, s.info.User+"@"+s.info.Host, "true")
}

// run runs ssh. stdout is /dev/null and stderr a file, never pipes: a
// ControlPersist master inherits them and would hold a pipe open.
func (s sshCommand) run(ctx context.Context, extra ...string) error {
	cmd := exec.CommandContext(ctx, "ssh", s.args(extra...)...)
	cmd.Stderr = s.stderr
	off, _ := s.stderr.Seek(0, io.SeekEnd)
	if err := cmd.Run(); err != nil {
		msg := make([]byte, 300)
		n, _ := s.stderr.ReadAt(msg, off)
		return fmt.Errorf("ssh: %w: %s", err, strings.TrimSpace(string(msg[:n])))
	}
	return nil
}

func latencyGroup(ctx context.Context, env *benchEnv, r *Report) error {
	if _, err := exec.LookPath("ssh"); err != nil {
		return fmt.Errorf("OpenSSH client: %w", err)
	}
	vm, err := env.sharedVM(ctx)
	if err != nil {
		return err
	}
	info, err := vm.SSHInfo(ctx)
	if err != nil {
		return err
	}
	errf, err := os.OpenFile(filepath.Join(env.scratch, "ssh-stderr.log"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = errf.Close() }()
	ssh := sshCommand{info: info, stderr: errf}
	master := []string{"-o", "ControlMaster=auto", "-o", "ControlPath=" + filepath.Join(env.scratch, "cm.sock"), "-o", "ControlPersist=60"}
	defer func() {
		// End the master this harness started (ssh -O exit asks it to).
		cmd := exec.Command("ssh", ssh.args(append(master, "-O", "exit")...)...)
		cmd.Stderr = errf
		_ = cmd.Run()
	}()
	runTrue := func(opts ...smolvm.RunOption) func(context.Context) error {
		return func(ctx context.Context) error {
			res, err := vm.Run(ctx, "true", opts...)
			if err == nil && !res.OK() {
				err = fmt.Errorf("exit %d", res.ExitCode)
			}
			return err
		}
	}
	// Warm every path once: the master connection, the client's connection.
	for _, f := range []func(context.Context) error{
		func(ctx context.Context) error { return ssh.run(ctx, master...) },
		func(ctx context.Context) error { return ssh.run(ctx) },
		runTrue(),
	} {
		if err := f(ctx); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	res, err := Alternate(ctx, env.reps(20, 200),
		Arm{Name: latRun, Run: Timed(runTrue())},
		Arm{Name: latFresh, Run: Timed(func(ctx context.Context) error { return ssh.run(ctx) })},
		Arm{Name: latMaster, Run: Timed(func(ctx context.Context) error { return ssh.run(ctx, master...) })},
		Arm{Name: latRaw, Run: Timed(runTrue(smolvm.Raw()))},
	)
	if err != nil {
		return err
	}
	ms := map[string]Metric{}
	for _, name := range []string{latRun, latRaw, latFresh, latMaster} {
		ms[name] = NewMetric("latency", name, "ms", Millis(res[name].Times), true)
		r.Metrics = append(r.Metrics, ms[name])
	}
	r.Ratios = append(r.Ratios,
		NewRatio("latency", "Run p50 / fresh ssh p50", ms[latRun], ms[latFresh], 0.25),
		NewRatio("latency", "Run p50 / ControlMaster ssh p50", ms[latRun], ms[latMaster], 1.5),
		NewRatio("latency", "Run Raw() p50 / ControlMaster ssh p50", ms[latRaw], ms[latMaster], 0),
	)
	r.Checks = append(r.Checks, failureCheck("latency", "every command exited 0", res))
	r.Notes = append(r.Notes, "latency: Run runs `true` in a login shell (sources /etc/profile and the env file), as the "+
		"issue's Run(ctx, \"true\") does; `ssh host true` and Raw() run it with sh -c, so the Raw() row is the like-for-like "+
		"comparison. OpenSSH runs with -F /dev/null, the VM's pinned host key and smolvm's key; the ControlMaster connection "+
		"is opened once before timing.")
	return nil
}
