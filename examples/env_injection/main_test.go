package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/smolvm/smolvm"
	"github.com/smolvm/smolvm/internal/testenv"
)

// TestExampleOutput runs the walkthrough against a real VM and compares
// what it prints with the expected sequence in testdata/output.golden.
func TestExampleOutput(t *testing.T) {
	testenv.RequireVM(t)
	dir, err := os.MkdirTemp("", "smolvm-example-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, smolvm.WithDataDir(dir), smolvm.WithBootTimeout(5*time.Minute)); err != nil {
		t.Fatalf("%v\noutput so far:\n%s", err, out.String())
	}
	want, err := os.ReadFile("testdata/output.golden")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("output differs from testdata/output.golden:\n%s", out.String())
	}
}
