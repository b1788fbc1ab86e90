package image

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// debPackage identifies one binary package version.
type debPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
}

// FileName is the name apt-get download gives the .deb (':' escaped).
func (p debPackage) FileName() string {
	return p.Name + "_" + strings.ReplaceAll(p.Version, ":", "%3a") + "_" + p.Arch + ".deb"
}

// parseControl parses the first stanza of `apt-cache show` output (RFC
// 822-style fields; continuation lines are joined with a newline).
func parseControl(out []byte) map[string]string {
	fields := map[string]string{}
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if len(fields) > 0 {
				break
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "" {
				fields[last] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			last = ""
			continue
		}
		last = strings.TrimSpace(k)
		fields[last] = strings.TrimSpace(v)
	}
	return fields
}

var versionedImage = regexp.MustCompile(`^(linux-image-[A-Za-z0-9.+~-]+)\s*\(\s*=\s*([A-Za-z0-9.+~:-]+)\s*\)$`)

var (
	debName    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	debVersion = regexp.MustCompile(`^[A-Za-z0-9.+~:-]+$`)
	debArch    = regexp.MustCompile(`^[a-z0-9-]+$`)
)

// valid checks the fields against Debian policy's syntax, so nothing odd
// reaches a file name or an apt-get argument.
func (p debPackage) valid() error {
	if !debName.MatchString(p.Name) || !debVersion.MatchString(p.Version) || !debArch.MatchString(p.Arch) {
		return fmt.Errorf("%w: apt-cache: malformed package %q version %q arch %q", ErrInvalid, p.Name, p.Version, p.Arch)
	}
	return nil
}

// kernelDependency picks the versioned kernel package out of a kernel
// metapackage's control fields: the first Depends alternative of the form
// "linux-image-X (= V)". A stanza that is itself a versioned kernel (no such
// dependency, name not a metapackage) resolves to itself.
func kernelDependency(fields map[string]string) (debPackage, error) {
	name, arch := fields["Package"], fields["Architecture"]
	if name == "" || arch == "" || fields["Version"] == "" {
		return debPackage{}, errors.New("apt-cache: no Package/Version/Architecture field")
	}
	for _, dep := range strings.Split(fields["Depends"], ",") {
		for _, alt := range strings.Split(dep, "|") {
			if m := versionedImage.FindStringSubmatch(strings.TrimSpace(alt)); m != nil {
				p := debPackage{Name: m[1], Version: m[2], Arch: arch}
				return p, p.valid()
			}
		}
	}
	if strings.HasPrefix(name, "linux-image-") && fields["Depends"] != "" && !strings.Contains(fields["Depends"], "linux-image-") {
		p := debPackage{Name: name, Version: fields["Version"], Arch: arch}
		return p, p.valid()
	}
	return debPackage{}, fmt.Errorf("apt-cache: %s has no versioned linux-image dependency", name)
}

// aptShow runs apt-cache show for the candidate version of pkg.
func aptShow(ctx context.Context, pkg string) (map[string]string, error) {
	out, err := runTool(ctx, "", "apt-cache", "show", "--no-all-versions", pkg)
	if err != nil {
		return nil, err
	}
	f := parseControl(out)
	if f["Package"] == "" {
		return nil, fmt.Errorf("%w: apt-cache show %s: no package stanza", ErrTool, pkg)
	}
	return f, nil
}

// aptDownload fetches pkg=version into dir (unless it is there already) and
// returns the .deb path. It downloads into a private temp dir first so
// concurrent builders never see a partial file.
func aptDownload(ctx context.Context, dir string, p debPackage) (string, bool, error) {
	dst := filepath.Join(dir, p.FileName())
	if _, err := os.Stat(dst); err == nil {
		return dst, true, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, err
	}
	tmp, err := os.MkdirTemp(dir, ".download-")
	if err != nil {
		return "", false, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if _, err := runTool(ctx, tmp, "apt-get", "download", "-q", p.Name+"="+p.Version); err != nil {
		return "", false, err
	}
	got := filepath.Join(tmp, p.FileName())
	if _, err := os.Stat(got); err != nil {
		return "", false, fmt.Errorf("%w: apt-get download %s=%s did not produce %s", ErrTool, p.Name, p.Version, p.FileName())
	}
	if err := os.Rename(got, dst); err != nil {
		return "", false, err
	}
	return dst, false, nil
}

// runTool runs a host tool and returns its stdout; a failure carries the
// tool's stderr tail and wraps ErrTool.
func runTool(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return nil, fmt.Errorf("%w: %s %s: %w: %s", ErrTool, name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}
