// Package fctest is a strict fake of Firecracker's API server for tests. It
// loads the official Swagger 2.0 spec (shared/firecracker/firecracker-api.yaml),
// validates every request body against its schema, rejects unknown fields and
// path/body id mismatches as the real server does, enforces the pre-/post-boot
// rules, and records the calls in order.
package fctest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// SpecRel is the spec's path relative to the shared directory.
const SpecRel = "firecracker/firecracker-api.yaml"

// ErrNoSpec means the spec file could not be located.
var ErrNoSpec = errors.New("firecracker API spec not found")

// Spec is a loaded Swagger 2.0 document.
type Spec struct {
	Path        string
	paths       map[string]map[string]any // path template -> method -> operation
	definitions map[string]any
}

// FindSpec locates the spec: $SMOLVM_SHARED_DIR/firecracker/..., else by
// walking up from the working directory, trying <dir>/shared and
// <dir>/../shared at every level (CI clones the repository with shared/ as a
// sibling of the clone).
func FindSpec() (string, error) {
	if d := os.Getenv("SMOLVM_SHARED_DIR"); d != "" {
		p := filepath.Join(d, SpecRel)
		if _, err := os.Stat(p); err != nil { //nolint:gosec // test-only lookup of a fixture path
			return "", fmt.Errorf("%w: SMOLVM_SHARED_DIR=%s: %w", ErrNoSpec, d, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoSpec, err)
	}
	for {
		for _, c := range []string{filepath.Join(dir, "shared", SpecRel), filepath.Join(dir, "..", "shared", SpecRel)} {
			if _, err := os.Stat(c); err == nil {
				return filepath.Clean(c), nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w (set SMOLVM_SHARED_DIR)", ErrNoSpec)
		}
		dir = parent
	}
}

// LoadSpec parses the spec at path.
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path) //nolint:gosec // test fixture path
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if v, _ := doc["swagger"].(string); v != "2.0" {
		return nil, fmt.Errorf("%s: not a Swagger 2.0 document", path)
	}
	s := &Spec{Path: path, paths: map[string]map[string]any{}}
	s.definitions, _ = doc["definitions"].(map[string]any)
	ps, _ := doc["paths"].(map[string]any)
	for p, ops := range ps {
		m := map[string]any{}
		om, _ := ops.(map[string]any)
		for method, op := range om {
			m[strings.ToUpper(method)] = op
		}
		s.paths[p] = m
	}
	return s, nil
}

// SpecForTest finds and loads the spec, skipping the test when it is absent
// (failing instead when SMOLVM_REQUIRE_VM is set).
func SpecForTest(t testing.TB) *Spec {
	t.Helper()
	p, err := FindSpec()
	if err != nil {
		if os.Getenv("SMOLVM_REQUIRE_VM") != "" {
			t.Fatalf("SMOLVM_REQUIRE_VM=1 but %v", err)
		}
		t.Skip(err.Error())
	}
	s, err := LoadSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// route matches a request path against the spec's path templates and
// returns the template and the path parameters.
func (s *Spec) route(path string) (string, map[string]string, bool) {
	if _, ok := s.paths[path]; ok {
		return path, nil, true
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for tmpl := range s.paths {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, t := range ts {
			if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
				if segs[i] == "" {
					ok = false
					break
				}
				params[t[1:len(t)-1]] = segs[i]
			} else if t != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return tmpl, params, true
		}
	}
	return "", nil, false
}

// Has reports whether the spec defines method on the path template.
func (s *Spec) Has(method, tmpl string) bool {
	_, ok := s.paths[tmpl][strings.ToUpper(method)]
	return ok
}

// bodySchema returns the operation's body parameter schema, and whether the
// body is flagged required.
func (s *Spec) bodySchema(method, tmpl string) (schema map[string]any, required bool, ok bool) {
	op, _ := s.paths[tmpl][method].(map[string]any)
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		pm, _ := p.(map[string]any)
		if pm["in"] == "body" {
			sc, _ := pm["schema"].(map[string]any)
			req, _ := pm["required"].(bool)
			return sc, req, true
		}
	}
	return nil, false, false
}
