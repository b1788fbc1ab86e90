package smolvm

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/smolvm/smolvm/internal/proc"
	"github.com/smolvm/smolvm/internal/store"
	"github.com/smolvm/smolvm/internal/testenv"
)

func TestLifecycleStopStartKeepsDiskAndDeleteLeavesNothing(t *testing.T) {
	sharedVM(t) // builds the image once; this test boots its own VM
	dir := testDataDir(t)
	opts := testOptions(t, dir)
	ctx := ctxT(t, 10*time.Minute)

	vm, err := Create(ctx, Config{ID: "life"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	info, err := vm.Info(ctx)
	if err != nil || info.State != StateCreated {
		t.Fatalf("after Create: %+v, %v", info, err)
	}
	if _, err := vm.Run(ctx, "true"); !errors.Is(err, ErrInvalidState) {
		t.Errorf("Run on a created VM: %v, want ErrInvalidState", err)
	}
	if _, err := Create(ctx, Config{ID: "life"}, opts...); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("duplicate Create: %v, want ErrAlreadyExists", err)
	}
	if err := vm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	mustRun(t, vm, "echo kept > /root/marker && sync")
	if err := vm.Stop(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	info, _ = vm.Info(ctx)
	if info.State != StateStopped {
		t.Fatalf("after Stop: state %s", info.State)
	}
	if err := vm.Stop(ctx, time.Second); err != nil {
		t.Errorf("second Stop: %v (want idempotent)", err)
	}
	if _, err := vm.Run(ctx, "true"); !errors.Is(err, ErrInvalidState) {
		t.Errorf("Run on a stopped VM: %v, want ErrInvalidState", err)
	}
	// Two handles start the stopped VM at once: one boots it, the other is
	// refused (or finds it running); the VM must end up running.
	other, err := Attach(ctx, "life", opts...)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, h := range []*VM{vm, other} {
		go func() { errs <- h.Start(ctx) }()
	}
	var ok int
	for range 2 {
		if err := <-errs; err == nil {
			ok++
		} else if !errors.Is(err, ErrInvalidState) {
			t.Errorf("concurrent Start: %v", err)
		}
	}
	_ = other.Close()
	if info, _ := vm.Info(ctx); ok == 0 || info.State != StateRunning {
		t.Fatalf("after two concurrent starts: %d succeeded, state %s (%s)", ok, info.State, info.LastError)
	}
	if res := mustRun(t, vm, "cat /root/marker"); string(res.Stdout) != "kept\n" {
		t.Errorf("after restart the disk lost the marker: %q", res.Stdout)
	}
	info, _ = vm.Info(ctx)
	rec, err := vm.st.Get(ctx, vm.id)
	if err != nil {
		t.Fatal(err)
	}
	id := proc.ID{PID: rec.Handle.PID, StartTime: rec.Handle.StartTime}
	ports, _ := vm.st.Ports(ctx, vm.id)

	if err := vm.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if id.Alive() {
		t.Errorf("hypervisor pid %d still running after Delete", id.PID)
	}
	if _, err := os.Stat(info.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("VM dir %s still there: %v", info.Dir, err)
	}
	if _, err := vm.st.Get(ctx, vm.id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record still there: %v", err)
	}
	if len(ports) != 1 {
		t.Errorf("leased ports while running: %v", ports)
	}
	if left, _ := vm.st.Ports(ctx, vm.id); len(left) != 0 {
		t.Errorf("port leases left after Delete: %v", left)
	}
	if _, err := Attach(ctx, "life", opts...); !errors.Is(err, ErrNotFound) {
		t.Errorf("Attach after Delete: %v, want ErrNotFound", err)
	}
	for i := range 2 {
		if err := vm.Close(); err != nil {
			t.Errorf("Close #%d after Delete: %v", i+1, err)
		}
	}
	if _, err := vm.Run(ctx, "true"); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrInvalidState) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	if _, err := vm.SetEnvVars(ctx, map[string]string{"A": "1"}); !errors.Is(err, ErrClosed) {
		t.Errorf("SetEnvVars after Close: %v, want ErrClosed", err)
	}
}

func TestNewWithBrokenKernelLeavesNothing(t *testing.T) {
	testenv.RequireVM(t)
	dir := testDataDir(t)
	ctx := ctxT(t, 2*time.Minute)
	kernel := writeFile(t, "not-a-kernel")
	rootfs := writeFile(t, "rootfs")
	_, err := New(ctx, Config{ID: "broken", KernelPath: kernel, RootfsPath: rootfs}, testOptions(t, dir)...)
	if err == nil {
		t.Fatal("New with a garbage kernel succeeded")
	}
	t.Logf("error: %v", err)
	infos, lerr := List(ctx, WithDataDir(dir))
	if lerr != nil || len(infos) != 0 {
		t.Errorf("after a failed New, List = %+v, %v; want nothing", infos, lerr)
	}
	entries, _ := os.ReadDir(dir + "/vms")
	if len(entries) != 0 {
		t.Errorf("VM directories left: %v", entries)
	}
}

func TestAttachValidatesAndFinds(t *testing.T) {
	dir := testDataDir(t)
	ctx := ctxT(t, time.Minute)
	if _, err := Attach(ctx, "Bad ID", WithDataDir(dir)); !errors.Is(err, ErrInvalid) {
		t.Errorf("Attach(bad id): %v, want ErrInvalid", err)
	}
	if _, err := Attach(ctx, "nope", WithDataDir(dir)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Attach(unknown): %v, want ErrNotFound", err)
	}
}
