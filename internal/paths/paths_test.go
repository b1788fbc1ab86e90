package paths

import (
	"errors"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	for _, tc := range []struct {
		name               string
		env                map[string]string
		wantData, wantCach string
		wantErr            bool
	}{
		{"own vars win", map[string]string{"SMOLVM_DATA_DIR": "/d/", "SMOLVM_CACHE_DIR": "/c", "XDG_STATE_HOME": "/x", "XDG_CACHE_HOME": "/y"}, "/d", "/c", false},
		{"xdg", map[string]string{"XDG_STATE_HOME": "/x", "XDG_CACHE_HOME": "/y"}, "/x/smolvm", "/y/smolvm", false},
		{"relative xdg ignored", map[string]string{"HOME": "/h", "XDG_STATE_HOME": "rel", "XDG_CACHE_HOME": "rel"}, "/h/.local/state/smolvm", "/h/.cache/smolvm", false},
		{"home", map[string]string{"HOME": "/h"}, "/h/.local/state/smolvm", "/h/.cache/smolvm", false},
		{"relative own var refused", map[string]string{"SMOLVM_DATA_DIR": "rel"}, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"SMOLVM_DATA_DIR", "SMOLVM_CACHE_DIR", "XDG_STATE_HOME", "XDG_CACHE_HOME", "HOME"} {
				t.Setenv(k, tc.env[k])
			}
			d, err := Default()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Default() = %+v, %v", d, err)
			}
			if !tc.wantErr && (d.Data != tc.wantData || d.Cache != tc.wantCach) {
				t.Errorf("Default() = %+v, want data %s cache %s", d, tc.wantData, tc.wantCach)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	d := Dirs{Data: "/data", Cache: "/cache"}
	vm := d.VM("vm-1")
	for got, want := range map[string]string{
		d.DB(): "/data/smolvm.db", d.SSHKey(): "/data/ssh/id_ed25519", vm.Dir: "/data/vms/vm-1",
		vm.QMP(): "/data/vms/vm-1/qmp.sock", vm.SerialLog(): "/data/vms/vm-1/serial.log", d.Images(): "/cache/images",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestCheckSocket(t *testing.T) {
	if err := CheckSocket("/" + strings.Repeat("a", MaxSocketPath-1)); err != nil {
		t.Errorf("a %d-byte path: %v", MaxSocketPath, err)
	}
	err := CheckSocket("/" + strings.Repeat("a", MaxSocketPath))
	if !errors.Is(err, ErrSocketPathTooLong) || !strings.Contains(err.Error(), "108 bytes") {
		t.Errorf("a 108-byte path: %v", err)
	}
}
