package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

func (a *app) newStartCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "start ID",
		Short: "Boot a stopped VM (its disk is kept)",
		Args:  exactArgs(1, "ID"),
		RunE:  func(c *cobra.Command, args []string) error { return a.runStart(c.Context(), args[0]) },
	}
}

func (a *app) runStart(ctx context.Context, id string) error {
	vm, err := smolvm.Attach(ctx, id, a.options()...)
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }()
	if err := vm.Start(ctx); err != nil {
		return err
	}
	return a.printInfo(ctx, vm, "started")
}

// printInfo prints the VM's info as JSON, or a one-line confirmation.
func (a *app) printInfo(ctx context.Context, vm *smolvm.VM, verb string) error {
	if !a.json {
		fmt.Fprintf(a.stdout, "%s %s\n", verb, vm.ID())
		return nil
	}
	info, err := vm.Info(ctx)
	if err != nil {
		return err
	}
	writeJSON(a.stdout, info)
	return nil
}
