package smolvm

import "time"

// State is a VM's lifecycle state. Transitions follow one table (see
// internal/store): created -> starting -> running -> stopping -> stopped,
// with error reachable from the transitional states and restart from
// stopped or error.
type State string

// The VM states.
const (
	StateCreated  State = "created"
	StateStarting State = "starting"
	StateRunning  State = "running"
	StateStopping State = "stopping"
	StateStopped  State = "stopped"
	StateError    State = "error"
)

// Info describes a VM as recorded in the state store.
type Info struct {
	ID         string    `json:"id"`
	State      State     `json:"state"`
	Backend    string    `json:"backend"`
	Accel      string    `json:"accel,omitempty"`
	PID        int       `json:"pid,omitempty"`
	SSHAddr    string    `json:"ssh_addr,omitempty"`
	VCPUs      int       `json:"vcpus"`
	MemoryMiB  int       `json:"memory_mib"`
	KernelPath string    `json:"kernel"`
	InitrdPath string    `json:"initrd,omitempty"`
	RootfsPath string    `json:"rootfs"`
	DiskPath   string    `json:"disk"`
	DiskMode   DiskMode  `json:"disk_mode"`
	Network    string    `json:"network,omitempty"`
	Dir        string    `json:"dir"`
	SerialLog  string    `json:"serial_log"`
	Ephemeral  bool      `json:"ephemeral,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}
