package smolvm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/smolvm/smolvm/internal/console"
)

// watchBoot follows the serial log as the guest boots, reports each agent
// milestone as progress, and returns once the agent says its SSH server
// listens: the first SSH attempt then succeeds instead of waiting out a
// retry backoff. It polls every 10 ms (a file read, nothing more).
func (vm *VM) watchBoot(ctx context.Context, path string) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	var off int64
	var pending []byte
	for {
		if chunk, err := readFrom(path, off); err == nil {
			off += int64(len(chunk))
			pending = append(pending, chunk...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				line := string(pending[:i])
				pending = pending[i+1:]
				if name, at, ok := console.ParseMilestone(line); ok {
					vm.opts.progress(Progress{Step: "boot", Detail: fmt.Sprintf("%s at %.2fs", name, at.Seconds())})
					if name == console.SSHListening {
						return nil
					}
				}
			}
			if len(pending) > 64*1024 {
				pending = pending[len(pending)-1024:] // a runaway line: keep its tail
			}
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

func readFrom(path string, off int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}
