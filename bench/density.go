package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smolvm/smolvm"
)

// procMemKiB reads a "Key:   N kB" line from a /proc status-like file.
func procMemKiB(text, key string) (int, bool) {
	f := strings.Fields(field(text, key))
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(f[0])
	return n, err == nil
}

func densityGroup(ctx context.Context, env *benchEnv, r *Report) error {
	const memMiB = smolvm.DefaultMemoryMiB
	vm, err := smolvm.New(ctx, smolvm.Config{ID: "bench-density", MemoryMiB: memMiB}, env.vmOptions()...)
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }()
	info, err := vm.Info(ctx)
	if err != nil {
		return err
	}
	if info.PID == 0 {
		return fmt.Errorf("vm %s has no hypervisor PID", vm.ID())
	}
	idle := time.Duration(env.reps(2, 10)) * time.Second
	env.progress("density: VM booted, idling %s", idle)
	if !sleepCtx(ctx, idle) {
		return ctx.Err()
	}
	var rss, pss []float64
	pssErr := ""
	for i := range env.reps(3, 10) {
		if i > 0 && !sleepCtx(ctx, time.Second) {
			return ctx.Err()
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", info.PID))
		if err != nil {
			return err
		}
		if kb, ok := procMemKiB(string(status), "VmRSS"); ok {
			rss = append(rss, float64(kb)/1024)
		}
		rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", info.PID))
		if err != nil {
			pssErr = err.Error()
			continue
		}
		if kb, ok := procMemKiB(string(rollup), "Pss"); ok {
			pss = append(pss, float64(kb)/1024)
		}
	}
	rssM := NewMetric("density", "idle VM: QEMU VmRSS", "MiB", rss, false)
	pssM := NewMetric("density", "idle VM: QEMU PSS (smaps_rollup)", "MiB", pss, false)
	if pssErr != "" {
		pssM.Note = "unreadable: " + pssErr
	}
	guest := NewMetric("density", "configured guest memory", "MiB", []float64{memMiB}, false)
	r.Metrics = append(r.Metrics, rssM, pssM, guest)
	r.Ratios = append(r.Ratios, NewRatio("density", "QEMU RSS / guest memory", rssM, guest, 0))
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
