package firecracker_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/smolvm/smolvm"
	"github.com/smolvm/smolvm/internal/hypervisor/firecracker"
)

// TestRealFirecracker boots a real Firecracker VM through the library:
// Run, env set/list, stop. It runs only where a firecracker binary and a
// usable KVM exist and otherwise skips naming exactly what is missing.
// This is the documented exception to SMOLVM_REQUIRE_VM: CI hosts without
// KVM skip it rather than fail.
func TestRealFirecracker(t *testing.T) {
	var missing []string
	if _, err := exec.LookPath("firecracker"); err != nil {
		missing = append(missing, "no firecracker binary on PATH")
	}
	if ok, why := firecracker.HostKVM(); !ok {
		missing = append(missing, "KVM not usable: "+why)
	}
	if testing.Short() {
		missing = append(missing, "-short given")
	}
	if len(missing) > 0 {
		t.Skip("real Firecracker test skipped: " + strings.Join(missing, "; "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	vm, err := smolvm.New(ctx, smolvm.Config{Backend: "firecracker", VCPUs: 1, MemoryMiB: 512,
		Env: map[string]string{"APP_MODE": "production"}}, smolvm.WithDataDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = vm.Close() }()
	res, err := vm.Run(ctx, "echo $APP_MODE")
	if err != nil || res.Output() != "production" {
		t.Fatalf("Run: %+v %v", res, err)
	}
	if _, err := vm.SetEnvVars(ctx, map[string]string{"DEBUG": "1"}); err != nil {
		t.Fatal(err)
	}
	env, err := vm.ListEnvVars(ctx)
	if err != nil || env["APP_MODE"] != "production" || env["DEBUG"] != "1" {
		t.Fatalf("ListEnvVars: %v %v", env, err)
	}
	if res, err := vm.Run(ctx, "echo $DEBUG"); err != nil || res.Output() != "1" {
		t.Fatalf("Run after SetEnvVars: %+v %v", res, err)
	}
	if err := vm.Stop(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}
