package qemu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/hypervisor"
)

// Child mode: the test binary re-executes itself to start a VM from a
// process the test can kill (Pdeathsig) or let exit (Detach).
const (
	childEnv     = "SMOLVM_QEMU_TEST_CHILD" // "start"
	childSpecEnv = "SMOLVM_QEMU_TEST_SPEC"  // the hypervisor.Spec as JSON
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "start" {
		os.Exit(childStart())
	}
	code := m.Run()
	if kernelTmp != "" {
		_ = os.RemoveAll(kernelTmp)
	}
	os.Exit(code)
}

// childStart starts the VM described in the environment, prints its handle
// as one JSON line and then, for a non-detached VM, waits to be killed.
func childStart() int {
	var spec hypervisor.Spec
	if err := json.Unmarshal([]byte(os.Getenv(childSpecEnv)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "child: spec:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := New(Options{}).Start(ctx, spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: start:", err)
		return 1
	}
	b, _ := json.Marshal(h)
	fmt.Println(string(b))
	if spec.Detach {
		return 0
	}
	time.Sleep(time.Hour)
	return 0
}
