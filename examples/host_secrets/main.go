// Command host_secrets passes selected host variables (API keys) into a VM
// at boot, without putting their values on any command line or in any log,
// and shows that the guest sees them while only their names are printed.
//
//	OPENAI_API_KEY=sk-... ANTHROPIC_API_KEY=... go run ./examples/host_secrets
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/smolvm/smolvm"
)

// passThrough lists the host variables the sandbox may see; nothing else
// from the host environment reaches the guest.
var passThrough = []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN"}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "host_secrets:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	vars := map[string]string{}
	for _, k := range passThrough {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	if len(vars) == 0 {
		fmt.Println("none of", passThrough, "is set on the host; set one to see it passed through")
	}
	vm, err := smolvm.New(ctx, smolvm.Config{Env: vars})
	if err != nil {
		return err
	}
	defer func() { _ = vm.Close() }()
	for _, k := range passThrough {
		// The guest reports only whether the key is set and its length.
		res, err := vm.Run(ctx, fmt.Sprintf(`if [ -n "${%s+x}" ]; then echo "set (${#%s} chars)"; else echo unset; fi`, k, k))
		if err != nil {
			return err
		}
		fmt.Printf("%-18s %s\n", k, res.Output())
	}
	return nil
}
