package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

func (a *app) newCreateCommand() *cobra.Command {
	var f vmFlags
	cmd := &cobra.Command{
		Use:   "create [flags]",
		Short: "Create and boot a VM that stays up; prints its ID",
		Long: `create boots a VM that outlives this command (no daemon: the hypervisor
process runs on its own), injects the --env variables and prints the VM's ID.
Use exec, env, ssh, stop and rm with that ID.`,
		Example: `  id=$(smolvm create --env DEBUG=1)
  smolvm exec "$id" -- 'echo $DEBUG'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return a.runCreate(c.Context(), f, c.Flags().Changed) },
	}
	f.register(cmd.Flags(), true)
	return cmd
}

func (a *app) runCreate(ctx context.Context, f vmFlags, changed func(string) bool) error {
	cfg, err := f.config(a, changed)
	if err != nil {
		return err
	}
	vm, err := smolvm.New(ctx, cfg, a.options()...)
	if err != nil {
		return err
	}
	info, err := vm.Info(ctx)
	// The VM must outlive this handle: release it without deleting.
	if aerr := detach(vm); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	if a.json {
		writeJSON(a.stdout, info)
		return nil
	}
	fmt.Fprintln(a.stdout, info.ID)
	return nil
}

// detach releases a handle from New without stopping its VM.
func detach(vm *smolvm.VM) error { return vm.Release() }
