package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

func (a *app) newStopCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "stop ID",
		Short: "Power a VM off (graceful, then forced after --timeout); the disk is kept",
		Args:  exactArgs(1, "ID"),
		RunE:  func(c *cobra.Command, args []string) error { return a.runStop(c.Context(), args[0], timeout) },
	}
	cmd.Flags().DurationVar(&timeout, "timeout", smolvm.DefaultStopTimeout, "how long to wait for a clean power-off before killing")
	return cmd
}

func (a *app) runStop(ctx context.Context, id string, timeout time.Duration) error {
	vm, err := smolvm.Attach(ctx, id, a.options()...)
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }()
	if err := vm.Stop(ctx, timeout); err != nil {
		return err
	}
	return a.printInfo(ctx, vm, "stopped")
}
