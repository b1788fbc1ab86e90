package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// FaultError is an API error reply: the HTTP status and the server's
// fault_message. Use errors.As to read it.
type FaultError struct {
	Method       string
	Path         string
	StatusCode   int
	FaultMessage string
}

// Error says which request failed, with the status and the fault message.
func (e *FaultError) Error() string {
	return fmt.Sprintf("firecracker %s %s: %d: %s", e.Method, e.Path, e.StatusCode, e.FaultMessage)
}

// Client talks to one Firecracker API socket. It is safe for concurrent
// use; every call is bounded by its context.
type Client struct {
	sock string
	hc   *http.Client
}

// New returns a client for the API socket at sock. It does not connect.
func New(sock string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		DisableKeepAlives: true,
	}
	return &Client{sock: sock, hc: &http.Client{Transport: tr}}
}

// Socket is the API socket path this client uses.
func (c *Client) Socket() string { return c.sock }

// Info is GET /.
func (c *Client) Info(ctx context.Context) (InstanceInfo, error) {
	var info InstanceInfo
	err := c.do(ctx, http.MethodGet, "/", nil, &info)
	return info, err
}

// PutBootSource is PUT /boot-source (pre-boot only).
func (c *Client) PutBootSource(ctx context.Context, b BootSource) error {
	return c.do(ctx, http.MethodPut, "/boot-source", b, nil)
}

// PutMachineConfig is PUT /machine-config (pre-boot only).
func (c *Client) PutMachineConfig(ctx context.Context, m MachineConfig) error {
	return c.do(ctx, http.MethodPut, "/machine-config", m, nil)
}

// PutDrive is PUT /drives/{drive_id} with d.DriveID as the path id.
func (c *Client) PutDrive(ctx context.Context, d Drive) error {
	return c.do(ctx, http.MethodPut, "/drives/"+url.PathEscape(d.DriveID), d, nil)
}

// PutNetworkInterface is PUT /network-interfaces/{iface_id}.
func (c *Client) PutNetworkInterface(ctx context.Context, n NetworkInterface) error {
	return c.do(ctx, http.MethodPut, "/network-interfaces/"+url.PathEscape(n.IfaceID), n, nil)
}

// PutVsock is PUT /vsock.
func (c *Client) PutVsock(ctx context.Context, v Vsock) error {
	return c.do(ctx, http.MethodPut, "/vsock", v, nil)
}

// PutLogger is PUT /logger.
func (c *Client) PutLogger(ctx context.Context, l Logger) error {
	return c.do(ctx, http.MethodPut, "/logger", l, nil)
}

// Action is PUT /actions with the given action type.
func (c *Client) Action(ctx context.Context, actionType string) error {
	return c.do(ctx, http.MethodPut, "/actions", InstanceAction{ActionType: actionType}, nil)
}

// PatchVM is PATCH /vm: state is StatePaused or StateResumed.
func (c *Client) PatchVM(ctx context.Context, state string) error {
	return c.do(ctx, http.MethodPatch, "/vm", VMState{State: state}, nil)
}

// CreateSnapshot is PUT /snapshot/create (the VM must be paused).
func (c *Client) CreateSnapshot(ctx context.Context, s SnapshotCreate) error {
	return c.do(ctx, http.MethodPut, "/snapshot/create", s, nil)
}

// LoadSnapshot is PUT /snapshot/load (only on a fresh, unconfigured VMM).
func (c *Client) LoadSnapshot(ctx context.Context, s SnapshotLoad) error {
	return c.do(ctx, http.MethodPut, "/snapshot/load", s, nil)
}

// maxReply bounds how much of a reply body is read.
const maxReply = 1 << 20

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("firecracker %s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+path, body)
	if err != nil {
		return fmt.Errorf("firecracker %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("firecracker %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return fmt.Errorf("firecracker %s %s: read reply: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return faultFrom(method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("firecracker %s %s: decode reply: %w", method, path, err)
	}
	return nil
}

func faultFrom(method, path string, status int, data []byte) error {
	fe := &FaultError{Method: method, Path: path, StatusCode: status}
	var f struct {
		FaultMessage string `json:"fault_message"`
	}
	if err := json.Unmarshal(data, &f); err == nil && f.FaultMessage != "" {
		fe.FaultMessage = f.FaultMessage
	} else {
		fe.FaultMessage = strings.TrimSpace(string(data))
	}
	return fe
}

// IsFault reports whether err is a FaultError with the given status code.
func IsFault(err error, status int) bool {
	var fe *FaultError
	return errors.As(err, &fe) && fe.StatusCode == status
}

// Metrics is the body of PUT /metrics.
type Metrics struct {
	MetricsPath string `json:"metrics_path"`
}

// PutMetrics is PUT /metrics (pre-boot only).
func (c *Client) PutMetrics(ctx context.Context, m Metrics) error {
	return c.do(ctx, http.MethodPut, "/metrics", m, nil)
}
