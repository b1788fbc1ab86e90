package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smolvm/smolvm"
)

const (
	thrConc   = "20 concurrent Run(true) on one VM: wall"
	thrSingle = "1 Run(true): wall"
	thrBoot4  = "4 VMs booted concurrently: wall to all ready"
	thrBoot1  = "1 VM booted: wall to ready"
)

func throughputGroup(ctx context.Context, env *benchEnv, r *Report) error {
	vm, err := env.sharedVM(ctx)
	if err != nil {
		return err
	}
	var runFailures atomic.Int64
	var firstRunErr error
	var errMu sync.Mutex
	note := func(err error) {
		runFailures.Add(1)
		errMu.Lock()
		if firstRunErr == nil {
			firstRunErr = err
		}
		errMu.Unlock()
	}
	one := func(ctx context.Context) error {
		res, err := vm.Run(ctx, "true")
		if err == nil && !res.OK() {
			err = fmt.Errorf("exit %d", res.ExitCode)
		}
		return err
	}
	runs := 0
	res, err := Alternate(ctx, env.reps(3, 10),
		Arm{Name: thrConc, Run: Timed(func(ctx context.Context) error {
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					if err := one(ctx); err != nil {
						note(err)
					}
				})
			}
			wg.Wait()
			runs += 20
			return nil
		})},
		Arm{Name: thrSingle, Run: Timed(one)},
	)
	if err != nil {
		return err
	}
	conc := NewMetric("throughput", thrConc, "ms", Millis(res[thrConc].Times), false)
	single := NewMetric("throughput", thrSingle, "ms", Millis(res[thrSingle].Times), false)
	r.Metrics = append(r.Metrics, conc, single)
	r.Ratios = append(r.Ratios, NewRatio("throughput", "20 concurrent Runs / 1 Run", conc, single, 0))
	c := Check{Group: "throughput", Name: "zero failures in 20 concurrent Runs", OK: runFailures.Load() == 0,
		Detail: fmt.Sprintf("%d runs, %d failures", runs, runFailures.Load())}
	if firstRunErr != nil {
		c.Detail += fmt.Sprintf(" (first: %v)", firstRunErr)
	}
	r.Checks = append(r.Checks, c)

	boot := func(count int) func(context.Context) (time.Duration, error) {
		return func(ctx context.Context) (time.Duration, error) {
			vms := make([]*smolvm.VM, count)
			errs := make([]error, count)
			start := time.Now()
			var wg sync.WaitGroup
			for i := range count {
				wg.Go(func() {
					id := fmt.Sprintf("bench-boot-%d-%d", count, i)
					vms[i], errs[i] = smolvm.New(ctx, smolvm.Config{ID: id}, env.vmOptions()...)
					if errs[i] == nil {
						errs[i] = vmTrue(ctx, vms[i])
					}
				})
			}
			wg.Wait()
			d := time.Since(start)
			for _, v := range vms {
				if v != nil {
					if err := v.Close(); err != nil {
						errs = append(errs, fmt.Errorf("close: %w", err))
					}
				}
			}
			return d, errors.Join(errs...)
		}
	}
	bres, err := Alternate(ctx, env.reps(1, 3),
		Arm{Name: thrBoot4, Run: boot(4)},
		Arm{Name: thrBoot1, Run: boot(1)},
	)
	if err != nil {
		return err
	}
	b4 := NewMetric("throughput", thrBoot4, "ms", Millis(bres[thrBoot4].Times), false)
	b1 := NewMetric("throughput", thrBoot1, "ms", Millis(bres[thrBoot1].Times), false)
	b4.Note, b1.Note = "New + first Run", "New + first Run"
	r.Metrics = append(r.Metrics, b4, b1)
	r.Ratios = append(r.Ratios, NewRatio("throughput", "4 concurrent boots / 1 boot", b4, b1, 0))
	r.Checks = append(r.Checks, failureCheck("throughput", "every concurrent boot succeeded", bres))
	return nil
}

// vmTrue runs `true` in v and wants exit 0.
func vmTrue(ctx context.Context, v *smolvm.VM) error {
	res, err := v.Run(ctx, "true")
	if err == nil && !res.OK() {
		err = fmt.Errorf("exit %d", res.ExitCode)
	}
	return err
}
