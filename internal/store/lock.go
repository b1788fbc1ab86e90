package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockPoll is how often lockFile retries a held lock.
const lockPoll = 5 * time.Millisecond

// lockFile takes an exclusive flock on path (created 0600 if missing),
// waiting at most BusyTimeout and no longer than ctx allows. The returned
// function releases it. flock locks belong to the open file description, so
// two goroutines of one process exclude each other too; they vanish when
// their process dies.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // #nosec G304 G703 -- next to the caller's database
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, BusyTimeout)
	defer cancel()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) // #nosec G115 -- a small fd
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}
