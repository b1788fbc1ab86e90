package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/smolvm/smolvm/image"
	"github.com/smolvm/smolvm/internal/console"
)

// coldPhases are the cold-start breakdown rows, in order.
var coldPhases = []string{
	"process start -> QEMU exec",
	"QEMU exec -> kernel start (firmware, kernel load)",
	"kernel start -> agent-start",
	"agent-start -> modules-loaded",
	"modules-loaded -> root-mounted",
	"root-mounted -> network-up",
	"network-up -> ssh-listening",
	"ssh-listening -> first command done",
	"first command done -> process exit (teardown)",
}

const (
	coldTotal = "smolvm run -- true: process start -> exit"
	coldFirst = "smolvm run -- true: process start -> first command done"
	bareWall  = "bare kernel boot: process start -> QEMU exit"
	bareInit  = "bare kernel boot: kernel start -> init"
)

// coldSample is one `smolvm run -- true` with its breakdown.
type coldSample struct {
	total  time.Duration
	first  time.Duration // 0 when the shutdown line was missing
	phases map[string]time.Duration
}

// coldRun runs `bin run -- true` once as a fresh process with its own data
// dir and reads the breakdown from the VM's serial console.
func coldRun(ctx context.Context, bin, dataDir string) (coldSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	_ = os.RemoveAll(filepath.Join(dataDir, "vms"))
	w := newSerialWatch(dataDir)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "run", "--", "true")
	cmd.Env = append(os.Environ(), "SMOLVM_DATA_DIR="+dataDir)
	cmd.Stdout, cmd.Stderr = &out, &out
	t0, start := boottime(), time.Now()
	err := cmd.Run()
	total, tExit := time.Since(start), boottime()
	serial, seen, _ := w.finish()
	if err != nil {
		return coldSample{}, fmt.Errorf("smolvm run -- true: %w: %s", err, tail(out.String()))
	}
	return coldBreakdown(t0, tExit, total, serial, seen), nil
}

// coldBreakdown splits one run into phases. Guest milestones count from
// kernel start on the guest's clock; the kernel's start on the host clock
// is estimated as the earliest (host time a line was seen - its guest
// time). Phases whose inputs are missing are left out.
func coldBreakdown(t0, tExit, total time.Duration, serial []byte, seen map[string]time.Duration) coldSample {
	s := coldSample{total: total, phases: map[string]time.Duration{}}
	rep, _ := console.Parse(bytes.NewReader(serial))
	guest := rep.Milestones
	var shutdown time.Duration
	haveShutdown := false
	for _, line := range strings.Split(string(serial), "\n") {
		if d, ok := shutdownStamp(line); ok {
			shutdown, haveShutdown = d, true
		}
	}
	if haveShutdown {
		guest["shutdown"] = shutdown
	}
	kernel, haveKernel := time.Duration(0), false
	for name, g := range guest {
		if h, ok := seen[name]; ok && (!haveKernel || h-g < kernel) {
			kernel, haveKernel = h-g, true
		}
	}
	qemuStart, haveQEMU := seen["qemu-start"]
	if haveQEMU {
		s.phases[coldPhases[0]] = qemuStart - t0
		if haveKernel {
			s.phases[coldPhases[1]] = kernel - qemuStart
		}
	}
	steps := []string{"", console.AgentStart, console.ModulesLoaded, console.RootMounted, console.NetworkUp, console.SSHListening, "shutdown"}
	for i := 1; i < len(steps); i++ {
		prev, ok1 := time.Duration(0), true
		if steps[i-1] != "" {
			prev, ok1 = guest[steps[i-1]]
		}
		cur, ok2 := guest[steps[i]]
		if ok1 && ok2 {
			s.phases[coldPhases[i+1]] = cur - prev
		}
	}
	if haveShutdown && haveKernel {
		done := kernel + shutdown
		s.first = done - t0
		s.phases[coldPhases[len(coldPhases)-1]] = tExit - done
	}
	return s
}

// coldGroup measures cold starts against bare kernel boots, alternately.
func coldGroup(ctx context.Context, env *benchEnv, r *Report) error {
	img, err := image.NewBuilder(image.WithCacheDir(env.dirs.Cache)).Build(ctx)
	if err != nil {
		return fmt.Errorf("default image: %w", err)
	}
	scratch := filepath.Join(env.scratch, "bare")
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return err
	}
	initrd := filepath.Join(scratch, "bare-initrd.img")
	if err := BuildBareInitrd(ctx, env.root, initrd); err != nil {
		return err
	}
	bare := BareBoot{Kernel: img.Kernel, Initrd: initrd, Accel: r.Machine.Accel, VCPUs: 1, MemoryMiB: 512, Dir: scratch}
	dataDir := filepath.Join(env.scratch, "cold-data")

	// One untimed round of each: the first run creates the SSH key and
	// state database, and both warm the page cache.
	if _, err := coldRun(ctx, env.bin, dataDir); err != nil {
		return err
	}
	if _, err := bare.Run(ctx); err != nil {
		return err
	}
	var samples []coldSample
	var inits []time.Duration
	res, err := Alternate(ctx, env.reps(3, 20),
		Arm{Name: coldTotal, Run: func(ctx context.Context) (time.Duration, error) {
			s, err := coldRun(ctx, env.bin, dataDir)
			if err == nil {
				samples = append(samples, s)
			}
			return s.total, err
		}},
		Arm{Name: bareWall, Run: func(ctx context.Context) (time.Duration, error) {
			s, err := bare.Run(ctx)
			if err == nil {
				inits = append(inits, s.KernelInit)
			}
			return s.Wall, err
		}},
	)
	if err != nil {
		return err
	}
	total := NewMetric("cold", coldTotal, "ms", Millis(res[coldTotal].Times), false)
	var firsts []time.Duration
	phases := map[string][]time.Duration{}
	for _, s := range samples {
		if s.first > 0 {
			firsts = append(firsts, s.first)
		}
		for k, v := range s.phases {
			phases[k] = append(phases[k], v)
		}
	}
	first := NewMetric("cold", coldFirst, "ms", Millis(firsts), false)
	bareM := NewMetric("cold", bareWall, "ms", Millis(res[bareWall].Times), false)
	r.Metrics = append(r.Metrics, total, first)
	for _, p := range coldPhases {
		m := NewMetric("cold", "  "+p, "ms", Millis(phases[p]), false)
		r.Metrics = append(r.Metrics, m)
	}
	r.Metrics = append(r.Metrics, bareM, NewMetric("cold", bareInit, "ms", Millis(inits), false))
	r.Ratios = append(r.Ratios,
		NewRatio("cold", "smolvm run -- true to first command / bare kernel boot", first, bareM, 1.3),
		NewRatio("cold", "smolvm run -- true to exit / bare kernel boot", total, bareM, 0),
	)
	r.Checks = append(r.Checks, failureCheck("cold", "every cold run and bare boot succeeded", res))
	r.Notes = append(r.Notes,
		"cold: each `smolvm run -- true` is a fresh process; the bare boot is the same kernel with a gzip newc initrd whose /init "+
			"powers off at once, on the QEMU command line smolvm's backend builds (qemu.Argv: same machine, accelerator, devices, "+
			"1 vCPU, 512 MiB), timed from process start to QEMU exit.",
		"cold breakdown: guest phases are the agent's console milestones (guest clock since kernel start); the kernel's start on "+
			"the host clock is estimated from when the lines appeared in the serial log; QEMU exec is the QEMU process's start time "+
			"(/proc, 10 ms resolution). \"First command done\" is the agent's shutdown line: the CLI asks the guest to power off "+
			"right after `true` returns, so it is an upper bound that includes opening that session.")
	return nil
}

// failureCheck passes when no arm failed, naming the first error otherwise.
func failureCheck(group, name string, res map[string]*Samples) Check {
	c := Check{Group: group, Name: name, OK: true}
	n := 0
	for _, s := range res {
		n += len(s.Times) + s.Failures
		if s.Failures > 0 {
			c.OK = false
			if c.Detail != "" {
				c.Detail += "; "
			}
			c.Detail += fmt.Sprintf("%d failed (first: %v)", s.Failures, s.FirstErr)
		}
	}
	if c.OK {
		c.Detail = fmt.Sprintf("%d runs, 0 failures", n)
	}
	return c
}
