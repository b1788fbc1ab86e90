package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
	"github.com/smolvm/smolvm/env"
)

const mask = "****"

func (a *app) newEnvListCommand() *cobra.Command {
	var show bool
	cmd := &cobra.Command{
		Use:   "list ID [--show-values]",
		Short: "List variables (values masked unless --show-values)",
		Long: `list prints KEY=VALUE lines sorted by key. Values are masked (****) unless
--show-values is given; then they are shell-quoted exactly as in the env
file (a multi-line value spans lines), so the output can be pasted into a
POSIX shell. --json gives the exact values as JSON strings.`,
		Args: exactArgs(1, "ID"),
		RunE: func(c *cobra.Command, args []string) error { return a.runEnvList(c.Context(), args[0], show) },
	}
	cmd.Flags().BoolVar(&show, "show-values", false, "print the values (they may be secrets)")
	return cmd
}

func (a *app) runEnvList(ctx context.Context, id string, show bool) error {
	vm, err := smolvm.Attach(ctx, id, a.options()...)
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }()
	vars, err := vm.ListEnvVars(ctx)
	if err != nil {
		return err
	}
	keys := slices.Sorted(maps.Keys(vars))
	if a.json {
		out := make(map[string]string, len(vars))
		for k, v := range vars {
			out[k] = mask
			if show {
				out[k] = v
			}
		}
		writeJSON(a.stdout, map[string]any{"vm": id, "vars": out, "masked": !show})
		return nil
	}
	if len(keys) == 0 {
		fmt.Fprintf(a.stdout, "No variables set in %s\n", id)
		return nil
	}
	for _, k := range keys {
		v := mask
		if show {
			v = displayValue(vars[k])
		}
		fmt.Fprintf(a.stdout, "%s=%s\n", k, v)
	}
	return nil
}

// displayValue prints a value exactly as the env file holds it: quoted
// like Python's shlex.quote (a multi-line value spans lines), so the output
// can be pasted into a POSIX shell.
func displayValue(v string) string { return env.Quote(v) }
