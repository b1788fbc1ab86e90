package fctest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/smolvm/smolvm/internal/firecracker/api"
)

func TestServerRules(t *testing.T) {
	spec := SpecForTest(t)
	ctx := context.Background()
	type step struct {
		name   string
		do     func(c *api.Client) error
		status int // 0 = success
	}
	boot := func(c *api.Client) error {
		return c.PutBootSource(ctx, api.BootSource{KernelImagePath: "/k"})
	}
	start := func(c *api.Client) error { return c.Action(ctx, api.ActionInstanceStart) }
	cases := []struct {
		name  string
		steps []step
		state string
	}{
		{"start without kernel is refused", []step{{"start", start, 400}}, NotStarted},
		{"boot-source after start is refused", []step{{"boot", boot, 0}, {"start", start, 0}, {"boot again", boot, 400}}, Running},
		{"second start is refused", []step{{"boot", boot, 0}, {"start", start, 0}, {"start", start, 400}}, Running},
		{"pause before start is refused", []step{{"pause", func(c *api.Client) error { return c.PatchVM(ctx, api.StatePaused) }, 400}}, NotStarted},
		{"ctrl-alt-del before start is refused", []step{{"cad", func(c *api.Client) error { return c.Action(ctx, api.ActionSendCtrlAltDel) }, 400}}, NotStarted},
		{"snapshot of a running vm is refused", []step{{"boot", boot, 0}, {"start", start, 0},
			{"snap", func(c *api.Client) error {
				return c.CreateSnapshot(ctx, api.SnapshotCreate{SnapshotPath: "/s", MemFilePath: "/m"})
			}, 400}}, Running},
		{"pause resume snapshot", []step{{"boot", boot, 0}, {"start", start, 0},
			{"pause", func(c *api.Client) error { return c.PatchVM(ctx, api.StatePaused) }, 0},
			{"snap", func(c *api.Client) error {
				return c.CreateSnapshot(ctx, api.SnapshotCreate{SnapshotPath: "/s", MemFilePath: "/m"})
			}, 0},
			{"resume", func(c *api.Client) error { return c.PatchVM(ctx, api.StateResumed) }, 0}}, Running},
		{"load after configuring is refused", []step{{"boot", boot, 0},
			{"load", func(c *api.Client) error {
				return c.LoadSnapshot(ctx, api.SnapshotLoad{SnapshotPath: "/s", MemBackend: &api.MemoryBackend{BackendType: "File", BackendPath: "/m"}})
			}, 400}}, NotStarted},
		{"load on a fresh vmm resumes", []step{{"load", func(c *api.Client) error {
			return c.LoadSnapshot(ctx, api.SnapshotLoad{SnapshotPath: "/s", MemBackend: &api.MemoryBackend{BackendType: "File", BackendPath: "/m"}, ResumeVM: true})
		}, 0}}, Running},
		{"load without memory is refused", []step{{"load", func(c *api.Client) error {
			return c.LoadSnapshot(ctx, api.SnapshotLoad{SnapshotPath: "/s"})
		}, 400}}, NotStarted},
		{"drive id mismatch is refused", []step{{"drive", func(c *api.Client) error {
			return c.PutDrive(ctx, api.Drive{DriveID: "a", PathOnHost: "/d", IsRootDevice: true})
		}, 0}, {"raw mismatch", func(c *api.Client) error {
			return rawPut(ctx, c, "/drives/a", `{"drive_id":"b","is_root_device":true}`)
		}, 400}}, NotStarted},
		{"iface id mismatch is refused", []step{{"raw mismatch", func(c *api.Client) error {
			return rawPut(ctx, c, "/network-interfaces/eth0", `{"iface_id":"eth1","host_dev_name":"tap0"}`)
		}, 400}}, NotStarted},
		{"vsock low cid is refused", []step{{"vsock", func(c *api.Client) error {
			return c.PutVsock(ctx, api.Vsock{GuestCID: 2, UDSPath: "/v"})
		}, 400}}, NotStarted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, sock := Start(t, spec)
			cl := api.New(sock)
			for _, s := range c.steps {
				err := s.do(cl)
				if s.status == 0 {
					if err != nil {
						t.Fatalf("%s: %v", s.name, err)
					}
					continue
				}
				var fe *api.FaultError
				if !errors.As(err, &fe) || fe.StatusCode != s.status || fe.FaultMessage == "" {
					t.Fatalf("%s: want fault %d with a message, got %v", s.name, s.status, err)
				}
			}
			if got := srv.State(); got != c.state {
				t.Fatalf("state %q, want %q", got, c.state)
			}
			info, err := cl.Info(ctx)
			if err != nil || info.State != c.state {
				t.Fatalf("GET / = %+v, %v", info, err)
			}
			if calls := srv.Calls(); len(calls) != len(c.steps)+1 {
				t.Fatalf("recorded %d calls, want %d: %v", len(calls), len(c.steps)+1, calls)
			}
		})
	}
}

func TestServerFaultAndOrder(t *testing.T) {
	spec := SpecForTest(t)
	ctx := context.Background()
	srv, sock := Start(t, spec)
	srv.Fault("PUT", "/machine-config", http.StatusBadRequest, "Invalid memory size")
	cl := api.New(sock)
	if err := cl.PutBootSource(ctx, api.BootSource{KernelImagePath: "/k"}); err != nil {
		t.Fatal(err)
	}
	err := cl.PutMachineConfig(ctx, api.MachineConfig{VCPUCount: 1, MemSizeMiB: 128})
	var fe *api.FaultError
	if !errors.As(err, &fe) || fe.StatusCode != 400 || fe.FaultMessage != "Invalid memory size" {
		t.Fatalf("got %v", err)
	}
	calls := srv.Calls()
	want := []string{"PUT /boot-source", "PUT /machine-config"}
	if len(calls) != len(want) {
		t.Fatalf("calls %v", calls)
	}
	for i, w := range want {
		if calls[i].String() != w {
			t.Fatalf("call %d = %s, want %s", i, calls[i], w)
		}
	}
	if calls[1].Status != 400 {
		t.Fatalf("status recorded %d", calls[1].Status)
	}
}

// rawPut sends a hand-written body, bypassing the typed client's encoding,
// and turns a fault reply into an *api.FaultError like the client does.
func rawPut(ctx context.Context, c *api.Client, path, body string) error {
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", c.Socket())
	}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://localhost"+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 300 {
		return nil
	}
	var f struct {
		FaultMessage string `json:"fault_message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&f)
	return &api.FaultError{Method: http.MethodPut, Path: path, StatusCode: resp.StatusCode, FaultMessage: f.FaultMessage}
}
