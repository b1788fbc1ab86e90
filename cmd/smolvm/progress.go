package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/smolvm/smolvm"
)

// progress renders long operations (image builds, boots) on stderr, one
// line per step with the elapsed time.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w, start: time.Now()} }

func (p *progress) report(e smolvm.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	el := time.Since(p.start).Seconds()
	detail := e.Detail
	if e.Bytes > 0 {
		detail += " (" + humanBytes(e.Bytes) + ")"
	}
	fmt.Fprintf(p.w, "[%6.1fs] %-14s %s\n", el, e.Step, detail)
}

func progressOf(step, detail string, n int64) smolvm.Progress {
	return smolvm.Progress{Step: step, Detail: detail, Bytes: n}
}
