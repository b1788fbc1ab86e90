package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// AgentName is the guest agent's binary name.
const AgentName = "smolvm-agent"

// ErrNoAgent is returned when no agent binary is given, none sits next to
// the executable, and this module's source is not available to build one.
var ErrNoAgent = errors.New("guest agent binary not found")

// errSuffix renders an optional cause without wrapping it: the sentinel
// (ErrInvalid) is what callers match on.
func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func commandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}

// resolveAgent finds the agent binary: the option, else smolvm-agent next
// to the running executable, else one built from this module's source
// (cached under agentDir by a hash of the source).
func (b *Builder) resolveAgent(ctx context.Context, agentDir string) (string, error) {
	path := b.agent
	if path == "" {
		if exe, err := os.Executable(); err == nil {
			p := filepath.Join(filepath.Dir(exe), AgentName)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				path = p
			}
		}
	}
	if path == "" {
		p, err := b.buildAgent(ctx, agentDir)
		if err != nil {
			return "", err
		}
		path = p
	}
	if ok, err := isStatic(path); err != nil || !ok {
		return "", fmt.Errorf("%w: agent %s: not a static ELF executable%s", ErrInvalid, path, errSuffix(err))
	}
	return path, nil
}

// moduleRoot is this module's source root, found from this file's path
// (absent when the binary was built with -trimpath or moved).
func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", fmt.Errorf("%w: module source not available (built with -trimpath?)", ErrNoAgent)
	}
	root := filepath.Dir(filepath.Dir(file))
	if gos, _ := filepath.Glob(filepath.Join(root, "cmd", AgentName, "*.go")); len(gos) == 0 {
		return "", fmt.Errorf("%w: no Go source in %s", ErrNoAgent, filepath.Join(root, "cmd", AgentName))
	}
	return root, nil
}

// sourceHash hashes the agent's source: the non-test Go files of
// cmd/smolvm-agent and of every package of this module it imports
// (transitively, whatever the build tags), plus go.mod and go.sum (which pin
// the external dependencies) and the Go version. Edits elsewhere in the
// module do not change it, so they cause no agent rebuild.
func sourceHash(root string) (string, error) {
	files, err := agentSources(root)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		_, _ = fmt.Fprintf(h, "%s\n", rel)
		r, err := os.Open(f)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, r)
		_ = r.Close()
		if err != nil {
			return "", err
		}
	}
	_, _ = fmt.Fprintf(h, "%s\n", runtime.Version())
	return hex.EncodeToString(h.Sum(nil)), nil
}

// modulePath returns the path on go.mod's module line ("" if none).
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			rest, _, _ = strings.Cut(rest, "//")
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// agentSources lists, sorted, go.mod, go.sum and the Go files of the
// module's packages that cmd/smolvm-agent depends on.
func agentSources(root string) ([]string, error) {
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	modPath := modulePath(mod)
	if modPath == "" {
		return nil, fmt.Errorf("%s: no module line", filepath.Join(root, "go.mod"))
	}
	files := []string{filepath.Join(root, "go.mod")}
	if _, err := os.Stat(filepath.Join(root, "go.sum")); err == nil {
		files = append(files, filepath.Join(root, "go.sum"))
	}
	seen := map[string]bool{}
	queue := []string{"cmd/" + AgentName}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		if seen[dir] {
			continue
		}
		seen[dir] = true
		gos, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(dir), "*.go"))
		if err != nil {
			return nil, err
		}
		for _, f := range gos {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			files = append(files, f)
			pf, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				return nil, fmt.Errorf("agent source %s: %w", f, err)
			}
			for _, imp := range pf.Imports {
				path := strings.Trim(imp.Path.Value, "`\"")
				if rel, ok := strings.CutPrefix(path, modPath+"/"); ok {
					queue = append(queue, rel)
				}
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

// buildAgent runs `go build` for ./cmd/smolvm-agent unless a binary for
// the same source hash is cached. -trimpath and -buildvcs=false make the
// bytes depend on the source and toolchain only, so the image fingerprint
// (which hashes the binary) does not move with unrelated commits.
func (b *Builder) buildAgent(ctx context.Context, agentDir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	sum, err := sourceHash(root)
	if err != nil {
		return "", fmt.Errorf("hash agent source: %w", err)
	}
	out := filepath.Join(agentDir, sum[:16], AgentName)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".build-")
	if err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	b.log.Info("building guest agent", "dir", root)
	b.emit(Event{Step: StepAgent, Detail: "go build ./cmd/" + AgentName})
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", tmp.Name(), "./cmd/"+AgentName)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: go build ./cmd/%s: %w: %s", ErrTool, AgentName, err, strings.TrimSpace(string(msg)))
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil { //nolint:gosec // an executable
		return "", err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	return out, nil
}
