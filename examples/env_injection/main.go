// Command env_injection is smolvm's environment-variable walkthrough: boot a
// VM with a variable, set more at runtime, list them, use them in a command,
// unset one and list again.
//
//	go run ./examples/env_injection
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/smolvm/smolvm"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "env_injection:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	fmt.Println("Starting VM with APP_MODE=production ...")
	vm, err := smolvm.New(ctx, smolvm.Config{
		ID:        "env-demo",
		VCPUs:     1,
		MemoryMiB: 512,
		Env:       map[string]string{"APP_MODE": "production"},
	})
	if err != nil {
		return err
	}
	defer vm.Close() // stop and delete the VM

	res, err := vm.Run(ctx, "echo $APP_MODE")
	if err != nil {
		return err
	}
	fmt.Printf("APP_MODE in the guest: %s\n", res.Output())

	names, err := vm.SetEnvVars(ctx, map[string]string{"DEBUG": "1", "API_URL": "https://api.example.com"})
	if err != nil {
		return err
	}
	fmt.Printf("Variables now set: %s\n", strings.Join(names, ", "))

	vars, err := vm.ListEnvVars(ctx)
	if err != nil {
		return err
	}
	printVars(vars)

	res, err = vm.Run(ctx, `echo "mode=$APP_MODE debug=$DEBUG url=$API_URL"`)
	if err != nil {
		return err
	}
	fmt.Printf("Command output: %s\n", res.Output())

	removed, err := vm.UnsetEnvVars(ctx, []string{"DEBUG"})
	if err != nil {
		return err
	}
	fmt.Printf("Removed: %v\n", removed)

	vars, err = vm.ListEnvVars(ctx)
	if err != nil {
		return err
	}
	printVars(vars)
	return nil
}

func printVars(vars map[string]string) {
	fmt.Println("Current variables:")
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Printf("  %s=%s\n", k, vars[k])
	}
}
