package api_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/smolvm/smolvm/internal/firecracker/api"
	"github.com/smolvm/smolvm/internal/firecracker/fctest"
)

// TestClientBodiesMatchSpec drives every typed method through the strict
// fake: each body must validate against the official spec.
func TestClientBodiesMatchSpec(t *testing.T) {
	spec := fctest.SpecForTest(t)
	ctx := context.Background()
	srv, sock := fctest.Start(t, spec)
	c := api.New(sock)
	yes := true
	steps := []struct {
		name string
		do   func() error
	}{
		{"logger", func() error { return c.PutLogger(ctx, api.Logger{LogPath: "/l", Level: "Info", ShowLevel: &yes}) }},
		{"boot-source", func() error {
			return c.PutBootSource(ctx, api.BootSource{KernelImagePath: "/k", BootArgs: "console=ttyS0", InitrdPath: "/i"})
		}},
		{"machine-config", func() error {
			return c.PutMachineConfig(ctx, api.MachineConfig{VCPUCount: 2, MemSizeMiB: 512, SMT: &yes, HugePages: "None"})
		}},
		{"drive", func() error {
			return c.PutDrive(ctx, api.Drive{DriveID: "rootfs", PathOnHost: "/d", IsRootDevice: true, CacheType: "Unsafe", IOEngine: "Sync"})
		}},
		{"net", func() error {
			return c.PutNetworkInterface(ctx, api.NetworkInterface{IfaceID: "eth0", HostDevName: "tap0", GuestMAC: "06:00:00:00:00:01"})
		}},
		{"vsock", func() error { return c.PutVsock(ctx, api.Vsock{GuestCID: 3, UDSPath: "/v"}) }},
		{"start", func() error { return c.Action(ctx, api.ActionInstanceStart) }},
		{"pause", func() error { return c.PatchVM(ctx, api.StatePaused) }},
		{"snapshot", func() error {
			return c.CreateSnapshot(ctx, api.SnapshotCreate{SnapshotPath: "/s", MemFilePath: "/m", SnapshotType: "Full"})
		}},
		{"resume", func() error { return c.PatchVM(ctx, api.StateResumed) }},
		{"flush", func() error { return c.Action(ctx, api.ActionFlushMetrics) }},
		{"ctrl-alt-del", func() error { return c.Action(ctx, api.ActionSendCtrlAltDel) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	info, err := c.Info(ctx)
	if err != nil || info.State != "Running" || info.VMMVersion == "" {
		t.Fatalf("info %+v %v", info, err)
	}
	if n := len(srv.Calls()); n != len(steps)+1 {
		t.Fatalf("%d calls", n)
	}

	_, sock2 := fctest.Start(t, spec)
	c2 := api.New(sock2)
	err = c2.LoadSnapshot(ctx, api.SnapshotLoad{SnapshotPath: "/s",
		MemBackend: &api.MemoryBackend{BackendType: "File", BackendPath: "/m"}, ResumeVM: true,
		VsockOverride: &api.VsockOverride{UDSPath: "/v2"}, NetworkOverrides: []api.NetworkOverride{{IfaceID: "eth0", HostDevName: "tap1"}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFaultDecoding(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"fault message", `{"fault_message":"bad kernel"}`, 400, "bad kernel"},
		{"plain text", "oops\n", 500, "oops"},
		{"empty", "", 503, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "fca")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = os.RemoveAll(dir) }()
			sock := filepath.Join(dir, "s")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { //nolint:gosec
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			})}
			go func() { _ = srv.Serve(l) }()
			defer func() { _ = srv.Close() }()
			err = api.New(sock).PatchVM(context.Background(), api.StatePaused)
			var fe *api.FaultError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v", err)
			}
			if fe.StatusCode != c.status || fe.FaultMessage != c.want || fe.Method != "PATCH" || fe.Path != "/vm" {
				t.Fatalf("got %+v", fe)
			}
			if !api.IsFault(err, c.status) {
				t.Fatal("IsFault false")
			}
		})
	}
}

func TestNoSocket(t *testing.T) {
	err := api.New(filepath.Join(t.TempDir(), "absent.sock")).Action(context.Background(), api.ActionInstanceStart)
	var fe *api.FaultError
	if err == nil || errors.As(err, &fe) {
		t.Fatalf("want a connection error, got %v", err)
	}
}
