package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

type rmOpts struct {
	force bool
	all   bool
}

func (a *app) newRmCommand() *cobra.Command {
	var o rmOpts
	cmd := &cobra.Command{
		Use:   "rm [-f] ID... | rm --all [-f]",
		Short: "Delete VMs (disk, directory, leases, record)",
		Long:  "rm deletes VMs. A running VM is refused unless -f stops it first.",
		RunE: func(c *cobra.Command, args []string) error {
			if o.all == (len(args) > 0) {
				return usageError{errors.New("give VM IDs or --all (not both)")}
			}
			return a.runRm(c.Context(), o, args)
		},
	}
	cmd.Flags().BoolVarP(&o.force, "force", "f", false, "stop running VMs first")
	cmd.Flags().BoolVar(&o.all, "all", false, "delete every VM")
	return cmd
}

func (a *app) runRm(ctx context.Context, o rmOpts, ids []string) error {
	if o.all {
		infos, err := smolvm.List(ctx, a.options()...)
		if err != nil {
			return err
		}
		for _, in := range infos {
			ids = append(ids, in.ID)
		}
	}
	var errs []error
	var removed []string
	for _, id := range ids {
		if err := a.rmOne(ctx, id, o.force); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, id)
		if !a.json {
			fmt.Fprintln(a.stdout, id)
		}
	}
	return a.removedResult(removed, errs)
}

func (a *app) rmOne(ctx context.Context, id string, force bool) error {
	vm, err := smolvm.Attach(ctx, id, a.options()...)
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }()
	info, err := vm.Info(ctx)
	if err != nil {
		return err
	}
	if !force && (info.State == smolvm.StateRunning || info.State == smolvm.StateStarting) {
		return fmt.Errorf("vm %q is %s (use -f to stop and delete it): %w", id, info.State, smolvm.ErrInvalidState)
	}
	return vm.Delete(ctx)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// removedResult reports a multi-item removal: with --json one document
// holding what was removed and what failed (exit 1 if anything failed).
func (a *app) removedResult(removed []string, errs []error) error {
	if !a.json {
		return errors.Join(errs...)
	}
	failed := make([]map[string]string, 0, len(errs))
	for _, err := range errs {
		failed = append(failed, map[string]string{"error": err.Error(), "kind": errorKind(err)})
	}
	writeJSON(a.stdout, map[string]any{"removed": nonNil(removed), "errors": failed})
	if len(errs) > 0 {
		return exitCode(1)
	}
	return nil
}
