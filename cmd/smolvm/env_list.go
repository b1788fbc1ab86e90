package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"

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
		Args:  exactArgs(1, "ID"),
		RunE:  func(c *cobra.Command, args []string) error { return a.runEnvList(c.Context(), args[0], show) },
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
	keys := sortedKeys(vars)
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

// displayValue prints a value on one line: as is when it is plain, else
// shell-quoted with control characters escaped Go-style.
func displayValue(v string) string {
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return strconv.Quote(v)
		}
	}
	return env.Quote(v)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
