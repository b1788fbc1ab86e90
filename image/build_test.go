package image

import (
	"bytes"
	"context"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testBuilder builds from the extracted Debian kernel with a static
// busybox standing in for the agent (the agent is not needed to inspect
// the image's layout).
func testBuilder(t *testing.T, cache string, opts ...Option) (*Builder, *[]Event) {
	t.Helper()
	_, k, md := debianKernel(t)
	var mu sync.Mutex
	events := &[]Event{}
	base := []Option{WithCacheDir(cache), WithKernel(k, md), WithAgent(staticBinary(t)),
		WithProgress(func(e Event) { mu.Lock(); *events = append(*events, e); mu.Unlock() })}
	return NewBuilder(append(base, opts...)...), events
}

func TestBuildLayout(t *testing.T) {
	cache := t.TempDir()
	b, events := testBuilder(t, cache)
	img, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	agent := staticBinary(t)

	t.Run("manifest", func(t *testing.T) {
		if img.Dir != filepath.Join(cache, "images", img.Name) || img.Name != img.Fingerprint[:16] {
			t.Errorf("image dir %s name %s", img.Dir, img.Name)
		}
		if img.KernelVersion != "6.1.0-57-cloud-amd64" && !strings.Contains(img.KernelVersion, "cloud-amd64") {
			t.Errorf("kernel version %q", img.KernelVersion)
		}
		if img.AgentSHA256 != sha256File(t, agent) || !strings.HasPrefix(img.BusyboxVersion, "1.") {
			t.Errorf("agent %s busybox %q", img.AgentSHA256, img.BusyboxVersion)
		}
		again, err := readManifest(img.Dir)
		if err != nil || again.Fingerprint != img.Fingerprint || again.Size != img.Size || again.Size == 0 {
			t.Errorf("manifest reread: %+v %v", again, err)
		}
	})
	t.Run("events in order", func(t *testing.T) {
		var steps []string
		for _, e := range *events {
			if len(steps) == 0 || steps[len(steps)-1] != string(e.Step) {
				steps = append(steps, string(e.Step))
			}
		}
		if got := strings.Join(steps, " "); got != "resolve-kernel modules initrd rootfs done" {
			t.Errorf("steps %q", got)
		}
	})
	t.Run("initrd", func(t *testing.T) {
		recs, order := readInitrd(t, img.Initrd)
		want, _ := os.ReadFile(agent)
		if r := recs["init"]; !bytes.Equal(r.data, want) || r.mode != 0o100755 {
			t.Errorf("/init: mode %o, %d bytes; want the agent, 0755", r.mode, len(r.data))
		}
		if c := recs["dev/console"]; c.mode != 0o020600 || c.rmajor != 5 || c.rminor != 1 {
			t.Errorf("dev/console: mode %o %d:%d", c.mode, c.rmajor, c.rminor)
		}
		for _, d := range []string{"dev", "proc", "sys", "newroot", "etc/smolvm"} {
			if recs[d].mode&0o170000 != 0o040000 {
				t.Errorf("%s: not a directory", d)
			}
		}
		list := strings.Fields(string(recs[ModulesList].data))
		if strings.Join(list, "\n") != strings.Join(img.Modules, "\n") || len(list) < len(DefaultModules) {
			t.Errorf("%s = %q, manifest %q", ModulesList, list, img.Modules)
		}
		for _, p := range list {
			r, ok := recs[p]
			if !ok || !bytes.HasPrefix(r.data, []byte("\x7fELF")) {
				t.Errorf("%s listed but not an ELF member", p)
			}
			mi, err := elfModinfo(r.data)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range mi.Depends { // every dependency loads earlier
				found := false
				for _, q := range list {
					if q == p {
						break
					}
					found = found || moduleName(strings.TrimSuffix(path.Base(q), ".ko")) == d
				}
				if !found {
					t.Errorf("%s: dependency %s not listed before it", p, d)
				}
			}
		}
		for i, name := range order {
			r := recs[name]
			if r.uid != 0 || r.gid != 0 || r.mtime != 0 || r.ino != uint32(i+1) {
				t.Errorf("%s: uid %d gid %d mtime %d ino %d", name, r.uid, r.gid, r.mtime, r.ino)
			}
			if i > 0 && order[i-1] >= name {
				t.Errorf("entries not sorted: %s before %s", order[i-1], name)
			}
		}
	})
	t.Run("rootfs", func(t *testing.T) { checkRootfs(t, img, agent) })
	t.Run("cache hit", func(t *testing.T) {
		before, _ := os.Stat(img.Rootfs)
		*events = nil
		start := time.Now()
		again, err := b.Build(context.Background())
		elapsed := time.Since(start)
		if err != nil || again.Fingerprint != img.Fingerprint || again.Created != img.Created {
			t.Fatalf("second build: %+v %v", again, err)
		}
		after, _ := os.Stat(img.Rootfs)
		if !after.ModTime().Equal(before.ModTime()) {
			t.Error("rootfs rewritten on a cache hit")
		}
		for i, e := range *events { // resolve the inputs, then done from the cache
			want := StepResolveKernel
			if i == len(*events)-1 {
				want = StepDone
			}
			if e.Step != want || (want == StepDone && !e.Cached) {
				t.Errorf("cache-hit events %+v", *events)
			}
		}
		t.Logf("cache hit took %v", elapsed)
	})
}

func checkRootfs(t *testing.T, img Image, agent string) {
	fi, err := os.Stat(img.Rootfs)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != DefaultRootfsMiB<<20 || allocated(img.Rootfs) >= fi.Size()/4 {
		t.Errorf("rootfs apparent %d allocated %d: want %d MiB, sparse", fi.Size(), allocated(img.Rootfs), DefaultRootfsMiB)
	}
	t.Logf("kernel %s, initrd %s, rootfs %s apparent / %s allocated",
		fmtSize(fileSize(img.Kernel)), fmtSize(fileSize(img.Initrd)), fmtSize(fi.Size()), fmtSize(allocated(img.Rootfs)))
	if out, err := runToolOutput(context.Background(), "e2fsck", "-fn", img.Rootfs); err != nil {
		t.Errorf("e2fsck -fn: %v\n%s", err, out)
	}
	if got := debugfs(t, img.Rootfs, "cat /etc/passwd"); !strings.Contains(got, "root:x:0:0:root:/root:/bin/sh\n") ||
		!strings.Contains(got, "user:x:1000:1000:user:/home/user:/bin/sh\n") {
		t.Errorf("/etc/passwd:\n%s", got)
	}
	if got := debugfs(t, img.Rootfs, "cat /etc/profile"); !strings.Contains(got, "/etc/profile.d/*.sh") || !strings.Contains(got, "PS1=") {
		t.Errorf("/etc/profile does not source profile.d:\n%s", got)
	}
	if got := debugfs(t, img.Rootfs, "cat /sbin/smolvm-agent"); sha256Hex([]byte(got)) != sha256File(t, agent) {
		t.Error("/sbin/smolvm-agent differs from the agent")
	}
	stat := func(p string) (mode, uid, gid string) {
		out := debugfs(t, img.Rootfs, "stat "+p)
		m := regexp.MustCompile(`Mode:\s+(\d+)`).FindStringSubmatch(out)
		u := regexp.MustCompile(`User:\s+(\d+)\s+Group:\s+(\d+)`).FindStringSubmatch(out)
		if m == nil || u == nil {
			t.Fatalf("stat %s:\n%s", p, out)
		}
		return m[1], u[1], u[2]
	}
	cases := []struct{ path, mode, uid string }{
		{"/", "0755", "0"}, {"/tmp", "01777", "0"}, {"/root", "0700", "0"}, {"/home/user", "0755", "1000"},
		{"/etc/shadow", "0600", "0"}, {"/etc/profile.d", "0755", "0"}, {"/bin/busybox", "0755", "0"},
		{"/var/empty", "0755", "0"}, {"/etc/smolvm", "0755", "0"},
	}
	for _, c := range cases {
		mode, uid, gid := stat(c.path)
		if mode != c.mode || uid != c.uid || gid != c.uid {
			t.Errorf("%s: mode %s uid %s gid %s, want %s %s", c.path, mode, uid, gid, c.mode, c.uid)
		}
	}
	for _, d := range []string{"/run", "/proc", "/sys", "/dev", "/etc/hostname", "/etc/resolv.conf", "/etc/group"} {
		if out := debugfs(t, img.Rootfs, "stat "+d); !strings.Contains(out, "Inode:") {
			t.Errorf("%s missing", d)
		}
	}
	for _, l := range []string{"/bin/sh", "/bin/ls", "/usr/bin/env", "/sbin/poweroff"} {
		if out := debugfs(t, img.Rootfs, "stat "+l); !strings.Contains(out, `Fast link dest: "/bin/busybox"`) {
			t.Errorf("%s is not a link to /bin/busybox:\n%s", l, out)
		}
	}
}
