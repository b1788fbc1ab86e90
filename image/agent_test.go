package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAgentFromSource builds the real agent from this module with go build
// (no agent option, none next to the test binary) and checks the cache.
func TestAgentFromSource(t *testing.T) {
	if _, err := moduleRoot(); errors.Is(err, ErrNoAgent) {
		t.Fatalf("cmd/smolvm-agent has no source: %v", err)
	}
	dir := t.TempDir()
	b := NewBuilder()
	ctx := context.Background()
	start := time.Now()
	p, err := b.resolveAgent(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("agent built in %v", time.Since(start))
	if !strings.HasPrefix(p, dir+string(filepath.Separator)) || filepath.Base(p) != AgentName {
		t.Fatalf("agent at %s, want under %s", p, dir)
	}
	if ok, err := isStatic(p); err != nil || !ok {
		t.Fatalf("agent not static: %v", err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("agent size %d bytes", fi.Size())
	p2, err := b.resolveAgent(ctx, dir)
	if err != nil || p2 != p {
		t.Fatalf("second resolve %s, %v; want %s", p2, err, p)
	}
	if fi2, _ := os.Stat(p2); !fi2.ModTime().Equal(fi.ModTime()) {
		t.Error("agent rebuilt although the source did not change")
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("agent dir holds %d entries, want the binary only", len(ents))
	}
}

func TestSourceHash(t *testing.T) {
	root := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m // comment\n\ngo 1.26\n")
	write("cmd/smolvm-agent/main.go", "package main\n\nimport (\n\t\"fmt\"\n\t\"example.com/m/internal/b\"\n)\n")
	write("internal/b/b.go", "package b\n\nimport _ \"example.com/m/internal/c\"\n")
	write("internal/c/c_linux.go", "//go:build linux\n\npackage c\n")
	ref, err := sourceHash(root)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		rel     string
		changes bool
	}{
		{"test file ignored", "cmd/smolvm-agent/main_test.go", false},
		{"unrelated package ignored", "internal/other/other.go", false},
		{"testdata ignored", "internal/b/testdata/x.go", false},
		{"docs ignored", "README.md", false},
		{"imported package counts", "internal/b/more.go", true},
		{"transitive import counts", "internal/c/c_linux.go", true},
		{"agent main counts", "cmd/smolvm-agent/extra.go", true},
		{"go.sum counts", "go.sum", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			write(c.rel, "package x // "+c.name+"\n")
			h, err := sourceHash(root)
			if err != nil {
				t.Fatal(err)
			}
			if (h != ref) != c.changes {
				t.Fatalf("hash changed=%v, want %v", h != ref, c.changes)
			}
			ref = h
		})
	}
	t.Run("unparsable source is an error", func(t *testing.T) {
		write("internal/b/bad.go", "package b\nimport (")
		if _, err := sourceHash(root); err == nil {
			t.Fatal("no error for a file that does not parse")
		}
	})
}

func TestModulePath(t *testing.T) {
	cases := []struct{ name, gomod, want string }{
		{"plain", "module github.com/smolvm/smolvm\n\ngo 1.26\n", "github.com/smolvm/smolvm"},
		{"quoted with comment", "// head\nmodule \"example.com/m\" // c\n", "example.com/m"},
		{"none", "go 1.26\n", ""},
		{"modulex is not module", "modulex foo\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := modulePath([]byte(c.gomod)); got != c.want {
				t.Fatalf("modulePath = %q, want %q", got, c.want)
			}
		})
	}
}
