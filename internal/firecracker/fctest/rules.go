package fctest

import (
	"encoding/json"
	"net/http"
)

const (
	msgPostBoot = "The requested operation is not supported after starting the microVM."
	msgPreBoot  = "The requested operation is not supported before starting the microVM."
)

// preBootOnly lists the operations the real server refuses once the
// microVM has started.
var preBootOnly = map[string]bool{
	"PUT /boot-source":                   true,
	"PUT /machine-config":                true,
	"PATCH /machine-config":              true,
	"PUT /drives/{drive_id}":             true,
	"PUT /network-interfaces/{iface_id}": true,
	"PUT /vsock":                         true,
	"PUT /logger":                        true,
	"PUT /metrics":                       true,
	"PUT /snapshot/load":                 true,
	"PUT /serial":                        true,
	"PUT /mmds/config":                   true,
	"PUT /entropy":                       true,
	"PUT /balloon":                       true,
	"PUT /cpu-config":                    true,
	"PUT /pmem/{id}":                     true,
}

// postBootOnly lists the operations that need a started microVM.
var postBootOnly = map[string]bool{
	"PATCH /vm":                            true,
	"PUT /snapshot/create":                 true,
	"PATCH /drives/{drive_id}":             true,
	"PATCH /network-interfaces/{iface_id}": true,
}

// apply runs with s.mu held.
func (s *Server) apply(method, tmpl string, body []byte) (int, any, string) {
	key := method + " " + tmpl
	if s.booted && preBootOnly[key] {
		return http.StatusBadRequest, nil, msgPostBoot
	}
	if !s.booted && postBootOnly[key] {
		return http.StatusBadRequest, nil, msgPreBoot
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	switch key {
	case "GET /":
		return http.StatusOK, map[string]string{"app_name": "Firecracker", "id": "anonymous-instance", "state": s.state, "vmm_version": "1.16.1"}, ""
	case "GET /version":
		return http.StatusOK, map[string]string{"firecracker_version": "1.16.1"}, ""
	case "PUT /boot-source":
		s.kernel = true
	case "PUT /vsock":
		s.vsock, _ = m["uds_path"].(string)
	case "PUT /snapshot/load":
		if s.touched {
			return http.StatusBadRequest, nil, "Loading a microVM snapshot not allowed after configuring boot-specific resources."
		}
		_, mf := m["mem_file_path"]
		_, mb := m["mem_backend"]
		if mf == mb {
			return http.StatusBadRequest, nil, "exactly one of mem_backend or mem_file_path must be given"
		}
		if o, ok := m["vsock_override"].(map[string]any); ok {
			s.override, _ = o["uds_path"].(string)
		}
		s.booted = true
		s.state = Paused
		if r, _ := m["resume_vm"].(bool); r {
			s.state = Running
		}
		return http.StatusNoContent, nil, ""
	case "PATCH /vm":
		if m["state"] == "Paused" {
			s.state = Paused
		} else {
			s.state = Running
		}
	case "PUT /snapshot/create":
		if s.state != Paused {
			return http.StatusBadRequest, nil, "Cannot create a snapshot: the microVM is not paused."
		}
	case "PUT /actions":
		return s.action(m["action_type"])
	}
	if method != http.MethodGet {
		s.touched = true
	}
	if method == http.MethodGet {
		return http.StatusOK, map[string]any{}, ""
	}
	return http.StatusNoContent, nil, ""
}

func (s *Server) action(a any) (int, any, string) {
	switch a {
	case "InstanceStart":
		if s.booted {
			return http.StatusBadRequest, nil, msgPostBoot
		}
		if !s.kernel {
			return http.StatusBadRequest, nil, "Cannot start microvm without kernel configuration."
		}
		s.booted, s.touched, s.state = true, true, Running
	case "SendCtrlAltDel":
		if !s.booted {
			return http.StatusBadRequest, nil, msgPreBoot
		}
	case "FlushMetrics":
		if !s.booted {
			return http.StatusBadRequest, nil, msgPreBoot
		}
	}
	return http.StatusNoContent, nil, ""
}
