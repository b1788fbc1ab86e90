package fctest

import (
	"errors"
	"testing"
)

func TestValidateBody(t *testing.T) {
	spec := SpecForTest(t)
	cases := []struct {
		name, method, path, body string
		rule                     string // "" = valid
		field                    string
	}{
		{"boot-source ok", "PUT", "/boot-source", `{"kernel_image_path":"/k","boot_args":"console=ttyS0"}`, "", ""},
		{"boot-source missing kernel", "PUT", "/boot-source", `{"boot_args":"x"}`, "required", "kernel_image_path"},
		{"boot-source wrong type", "PUT", "/boot-source", `{"kernel_image_path":7}`, "type", "kernel_image_path"},
		{"boot-source unknown field", "PUT", "/boot-source", `{"kernel_image_path":"/k","kernel":"/k"}`, "unknown field", "kernel"},
		{"boot-source empty body", "PUT", "/boot-source", ``, "required", ""},
		{"boot-source not json", "PUT", "/boot-source", `{`, "json", ""},
		{"boot-source trailing data", "PUT", "/boot-source", `{"kernel_image_path":"/k"} {}`, "json", ""},
		{"machine-config ok", "PUT", "/machine-config", `{"vcpu_count":2,"mem_size_mib":256}`, "", ""},
		{"machine-config vcpu below minimum", "PUT", "/machine-config", `{"vcpu_count":0,"mem_size_mib":256}`, "minimum", "vcpu_count"},
		{"machine-config vcpu above maximum", "PUT", "/machine-config", `{"vcpu_count":33,"mem_size_mib":256}`, "maximum", "vcpu_count"},
		{"machine-config fractional integer", "PUT", "/machine-config", `{"vcpu_count":1.5,"mem_size_mib":256}`, "type", "vcpu_count"},
		{"machine-config bad enum", "PUT", "/machine-config", `{"vcpu_count":1,"mem_size_mib":256,"huge_pages":"1G"}`, "enum", "huge_pages"},
		{"machine-config missing mem", "PUT", "/machine-config", `{"vcpu_count":1}`, "required", "mem_size_mib"},
		{"machine-config patch subset", "PATCH", "/machine-config", `{"vcpu_count":1}`, "", ""},
		{"machine-config patch unknown field", "PATCH", "/machine-config", `{"cpus":1}`, "unknown field", "cpus"},
		{"drive ok", "PUT", "/drives/rootfs", `{"drive_id":"rootfs","path_on_host":"/d","is_root_device":true,"is_read_only":false}`, "", ""},
		{"drive missing is_root_device", "PUT", "/drives/rootfs", `{"drive_id":"rootfs","path_on_host":"/d"}`, "required", "is_root_device"},
		{"drive bool as string", "PUT", "/drives/rootfs", `{"drive_id":"rootfs","is_root_device":"true"}`, "type", "is_root_device"},
		{"drive bad cache enum", "PUT", "/drives/rootfs", `{"drive_id":"rootfs","is_root_device":true,"cache_type":"None"}`, "enum", "cache_type"},
		{"drive nested ref", "PUT", "/drives/rootfs", `{"drive_id":"rootfs","is_root_device":true,"rate_limiter":{"bandwidth":{"size":-1,"refill_time":1}}}`, "minimum", "rate_limiter.bandwidth.size"},
		{"drive nested required", "PUT", "/drives/rootfs", `{"drive_id":"rootfs","is_root_device":true,"rate_limiter":{"ops":{"size":1}}}`, "required", "rate_limiter.ops.refill_time"},
		{"net mtu too small", "PUT", "/network-interfaces/eth0", `{"iface_id":"eth0","host_dev_name":"tap0","mtu":10}`, "minimum", "mtu"},
		{"vsock cid below 3", "PUT", "/vsock", `{"guest_cid":2,"uds_path":"/v"}`, "minimum", "guest_cid"},
		{"vsock ok", "PUT", "/vsock", `{"guest_cid":3,"uds_path":"/v"}`, "", ""},
		{"action bad enum", "PUT", "/actions", `{"action_type":"Reboot"}`, "enum", "action_type"},
		{"action null", "PUT", "/actions", `{"action_type":null}`, "type", "action_type"},
		{"vm ok", "PATCH", "/vm", `{"state":"Paused"}`, "", ""},
		{"vm bad enum", "PATCH", "/vm", `{"state":"Stopped"}`, "enum", "state"},
		{"snapshot create missing mem", "PUT", "/snapshot/create", `{"snapshot_path":"/s"}`, "required", "mem_file_path"},
		{"snapshot load backend enum", "PUT", "/snapshot/load", `{"snapshot_path":"/s","mem_backend":{"backend_type":"Disk","backend_path":"/m"}}`, "enum", "mem_backend.backend_type"},
		{"snapshot load override array", "PUT", "/snapshot/load", `{"snapshot_path":"/s","network_overrides":[{"iface_id":"eth0"}]}`, "required", "network_overrides[0].host_dev_name"},
		{"body is array", "PUT", "/vsock", `[]`, "type", ""},
		{"mmds allows any object", "PUT", "/mmds", `{"anything":{"goes":1}}`, "", ""},
		{"unknown route", "PUT", "/nope", `{}`, "route", ""},
		{"method not in spec", "DELETE", "/vm", ``, "route", ""},
		{"get with body", "GET", "/", `{}`, "body", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := spec.ValidateBody(c.method, c.path, []byte(c.body))
			if c.rule == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want ValidationError(%s), got %v", c.rule, err)
			}
			if ve.Rule != c.rule || ve.Field != c.field {
				t.Fatalf("got rule %q field %q (%v), want rule %q field %q", ve.Rule, ve.Field, ve, c.rule, c.field)
			}
		})
	}
}

func FuzzValidateBody(f *testing.F) {
	p, err := FindSpec()
	if err != nil {
		f.Skip(err)
	}
	spec, err := LoadSpec(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("PUT", "/boot-source", []byte(`{"kernel_image_path":"/k"}`))
	f.Add("PUT", "/drives/x", []byte(`{"drive_id":"x","is_root_device":true,"rate_limiter":{"ops":{"size":1,"refill_time":2}}}`))
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		_ = spec.ValidateBody(method, path, body) // must not panic
	})
}
