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
	write("go.mod", "module x\n")
	write("cmd/a/main.go", "package main\n")
	ref, err := sourceHash(root)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		rel     string
		changes bool
	}{
		{"test file ignored", "cmd/a/main_test.go", false},
		{"testdata ignored", "cmd/a/testdata/x.go", false},
		{"hidden dir ignored", ".git/x.go", false},
		{"docs ignored", "README.md", false},
		{"new source counts", "internal/b/b.go", true},
		{"go.sum counts", "go.sum", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			write(c.rel, "package b // "+c.name+"\n")
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
}
