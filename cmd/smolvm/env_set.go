package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/smolvm/smolvm"
)

type envSetOpts struct {
	files   []string
	replace bool
}

func (a *app) newEnvSetCommand() *cobra.Command {
	var o envSetOpts
	cmd := &cobra.Command{
		Use:   "set ID KEY=VALUE|KEY... [--env-file F]",
		Short: "Set variables (merged with the existing ones unless --replace)",
		Long: `set merges the variables into the VM's env file (--replace replaces the
whole set). KEY alone takes the host's value of KEY.`,
		Example: `  smolvm env set vm-1234abcd APP_MODE=production DEBUG=1
  smolvm env set vm-1234abcd --env-file .env
  smolvm env set vm-1234abcd OPENAI_API_KEY`,
		Args: minArgs(1, "ID and KEY=VALUE..."),
		RunE: func(c *cobra.Command, args []string) error {
			return a.runEnvSet(c.Context(), o, args[0], args[1:])
		},
	}
	cmd.Flags().StringArrayVar(&o.files, "env-file", nil, "read variables from a dotenv file (repeatable)")
	cmd.Flags().BoolVar(&o.replace, "replace", false, "replace every variable instead of merging")
	return cmd
}

func (a *app) runEnvSet(ctx context.Context, o envSetOpts, id string, pairs []string) error {
	if len(pairs) == 0 && len(o.files) == 0 {
		return usageError{errors.New("nothing to set: give KEY=VALUE arguments or --env-file (to remove variables use `smolvm env unset`)")}
	}
	vars, err := parseEnvFlags("argument", pairs, o.files, a.lookupEnv)
	if err != nil {
		return err
	}
	vm, err := smolvm.Attach(ctx, id, a.options()...)
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }()
	var opts []smolvm.EnvOption
	if o.replace {
		opts = append(opts, smolvm.Replace())
	}
	names, err := vm.SetEnvVars(ctx, vars, opts...)
	if err != nil {
		return err
	}
	set := slices.Sorted(maps.Keys(vars))
	if a.json {
		writeJSON(a.stdout, map[string]any{"vm": id, "set": nonNil(set), "present": nonNil(names)})
		return nil
	}
	fmt.Fprintf(a.stdout, "Set %d variable(s) in %s: %s\n", len(set), id, strings.Join(set, ", "))
	fmt.Fprintf(a.stdout, "Now present: %s\n", strings.Join(names, ", "))
	fmt.Fprintln(a.stdout, reloadHint)
	return nil
}
