package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

func (a *app) newEnvUnsetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "unset ID KEY...",
		Short: "Remove variables (keys that are not set are ignored)",
		Args:  minArgs(2, "ID and at least one KEY"),
		RunE: func(c *cobra.Command, args []string) error {
			return a.runEnvUnset(c.Context(), args[0], args[1:])
		},
	}
}

func (a *app) runEnvUnset(ctx context.Context, id string, keys []string) error {
	vm, err := smolvm.Attach(ctx, id, a.options()...)
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }()
	removed, err := vm.UnsetEnvVars(ctx, keys)
	if err != nil {
		return err
	}
	gone := slices.Sorted(maps.Keys(removed))
	var missing []string
	for _, k := range keys {
		if _, ok := removed[k]; !ok && !slices.Contains(missing, k) {
			missing = append(missing, k)
		}
	}
	if a.json {
		writeJSON(a.stdout, map[string]any{"vm": id, "removed": nonNil(gone), "not_set": nonNil(missing)})
		return nil
	}
	if len(gone) == 0 {
		fmt.Fprintf(a.stdout, "Nothing removed from %s: %s not set\n", id, strings.Join(missing, ", "))
		return nil
	}
	fmt.Fprintf(a.stdout, "Removed %d variable(s) from %s: %s\n", len(gone), id, strings.Join(gone, ", "))
	if len(missing) > 0 {
		fmt.Fprintf(a.stdout, "Not set: %s\n", strings.Join(missing, ", "))
	}
	fmt.Fprintln(a.stdout, reloadHint)
	return nil
}
