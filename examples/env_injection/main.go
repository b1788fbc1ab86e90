// Command env_injection is smolvm's environment-variable walkthrough: boot a
// VM with a variable, set more at runtime, list them, use them in a command,
// unset one and list again.
//
//	go run ./examples/env_injection
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/smolvm/smolvm"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "env_injection:", err)
		os.Exit(1)
	}
}

// run prints the walkthrough to w; opts go to smolvm.New (tests pass a
// private data dir).
func run(ctx context.Context, w io.Writer, opts ...smolvm.Option) error {
	fmt.Fprintln(w, "Starting VM with APP_MODE=production ...")
	vm, err := smolvm.New(ctx, smolvm.Config{
		ID:        "env-demo",
		VCPUs:     1,
		MemoryMiB: 512,
		Env:       map[string]string{"APP_MODE": "production"},
	}, opts...)
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }() // stop and delete the VM

	res, err := vm.Run(ctx, "echo $APP_MODE")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "APP_MODE in the guest: %s\n", res.Output())

	names, err := vm.SetEnvVars(ctx, map[string]string{"DEBUG": "1", "API_URL": "https://api.example.com"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Variables now set: %s\n", strings.Join(names, ", "))

	vars, err := vm.ListEnvVars(ctx)
	if err != nil {
		return err
	}
	printVars(w, vars)

	res, err = vm.Run(ctx, `echo "mode=$APP_MODE debug=$DEBUG url=$API_URL"`)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Command output: %s\n", res.Output())

	removed, err := vm.UnsetEnvVars(ctx, []string{"DEBUG"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Removed: %v\n", removed)

	vars, err = vm.ListEnvVars(ctx)
	if err != nil {
		return err
	}
	printVars(w, vars)
	return nil
}

func printVars(w io.Writer, vars map[string]string) {
	fmt.Fprintln(w, "Current variables:")
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s=%s\n", k, vars[k])
	}
}
