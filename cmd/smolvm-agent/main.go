// Command smolvm-agent is the guest agent: PID 1 of smolvm VMs (see
// internal/guest and docs/agent.md).
package main

import (
	"fmt"
	"os"

	"github.com/smolvm/smolvm/internal/guest"
)

func main() {
	if err := guest.Run(os.Args, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "smolvm-agent:", err)
		os.Exit(1)
	}
}
