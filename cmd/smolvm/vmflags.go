package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/smolvm/smolvm"
)

// vmFlags are the VM configuration flags shared by run and create.
type vmFlags struct {
	name     string
	cpus     int
	memory   int
	kernel   string
	initrd   string
	rootfs   string
	bootArgs string
	backend  string
	diskMode string
	network  string
	env      []string
	envFiles []string
}

func (f *vmFlags) register(fs *pflag.FlagSet, withName bool) {
	if withName {
		fs.StringVar(&f.name, "name", "", "VM ID (default: vm-<8 hex>)")
	}
	fs.IntVar(&f.cpus, "cpus", 0, "vCPUs, 1-32 (default 1 with the default image, else 2)")
	fs.IntVar(&f.memory, "memory", 0, "guest memory in MiB, 128-16384 (default 512)")
	fs.StringVar(&f.kernel, "kernel", "", "kernel image (default: smolvm's image, built on first use)")
	fs.StringVar(&f.initrd, "initrd", "", "initrd")
	fs.StringVar(&f.rootfs, "rootfs", "", "root filesystem image")
	fs.StringVar(&f.bootArgs, "boot-args", "", "kernel command line (default: smolvm.SSHBootArgs)")
	fs.StringVar(&f.backend, "backend", "", "hypervisor: qemu or firecracker (default $SMOLVM_BACKEND, else auto)")
	fs.StringVar(&f.diskMode, "disk", "", "disk mode: isolated (copy-on-write, default) or shared")
	fs.StringVar(&f.network, "network", "", "network: user (default) or tap (needs root)")
	fs.StringArrayVarP(&f.env, "env", "e", nil, "set a guest variable: KEY=VALUE, or KEY to pass the host's value (repeatable)")
	fs.StringArrayVar(&f.envFiles, "env-file", nil, "read guest variables from a dotenv file (repeatable)")
}

// config builds the library config. changed reports whether a flag was
// given: an explicit --cpus 0, --memory 0 or --name "" is refused rather
// than read as "default".
func (f *vmFlags) config(a *app, changed func(string) bool) (smolvm.Config, error) {
	for _, z := range []struct {
		flag string
		zero bool
	}{{"cpus", f.cpus == 0}, {"memory", f.memory == 0}, {"name", f.name == ""}} {
		if z.zero && changed(z.flag) {
			return smolvm.Config{}, usageError{fmt.Errorf("--%s: an explicit empty or zero value is not allowed (omit the flag for the default)", z.flag)}
		}
	}
	vars, err := parseEnvFlags("--env", f.env, f.envFiles, a.lookupEnv)
	if err != nil {
		return smolvm.Config{}, err
	}
	backend := f.backend
	if backend == "" {
		backend = a.getenv("SMOLVM_BACKEND")
	}
	network := f.network
	if network == "user" {
		network = smolvm.NetworkUser
	}
	cfg := smolvm.Config{
		ID: f.name, VCPUs: f.cpus, MemoryMiB: f.memory,
		KernelPath: f.kernel, InitrdPath: f.initrd, RootfsPath: f.rootfs,
		BootArgs: f.bootArgs, Backend: backend, DiskMode: smolvm.DiskMode(f.diskMode),
		Network: network,
	}
	if len(vars) > 0 {
		cfg.Env = vars
	}
	return cfg, nil
}
