package main

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

func (a *app) newLogsCommand() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs ID [-f]",
		Short: "Print a VM's serial console log",
		Args:  exactArgs(1, "ID"),
		RunE:  func(c *cobra.Command, args []string) error { return a.runLogs(c.Context(), args[0], follow) },
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until interrupted or the VM stops")
	return cmd
}

func (a *app) runLogs(ctx context.Context, id string, follow bool) error {
	vm, err := smolvm.Attach(ctx, id, a.options()...)
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }()
	info, err := vm.Info(ctx)
	if err != nil {
		return err
	}
	if a.json {
		b, err := os.ReadFile(info.SerialLog)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		writeJSON(a.stdout, map[string]any{"vm": id, "path": info.SerialLog, "log": bytesJSON(b)})
		return nil
	}
	f, err := os.Open(info.SerialLog)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // never booted: nothing to print
		}
		return err
	}
	defer func() { _ = f.Close() }()
	for {
		if _, err := io.Copy(a.stdout, f); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
		// Follow while the guest may still write: a stopping guest prints
		// its shutdown lines; stop after the hypervisor is gone.
		if in, err := vm.Info(ctx); err != nil || (in.State != smolvm.StateRunning &&
			in.State != smolvm.StateStarting && in.State != smolvm.StateStopping) {
			_, err := io.Copy(a.stdout, f)
			return err
		}
	}
}
