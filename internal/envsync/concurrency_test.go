package envsync

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConcurrentSets runs 20 merges at once, each in its own shell
// process, and checks that no key is lost, for each lock kind.
func TestConcurrentSets(t *testing.T) {
	const n = 20
	for _, s := range sandboxes(t) {
		for _, lock := range []LockMode{LockAuto, LockLink} {
			if s.root != "" && lock == LockLink {
				continue // the busybox chroot has no flock: auto is link there
			}
			t.Run(s.name+"/"+lock.String(), func(t *testing.T) {
				ctx := context.Background()
				sy := s.syncer(lock)
				if _, err := sy.Set(ctx, s, map[string]string{"BASE": "multi\nline\n"}, true); err != nil { // drop keys of an earlier subtest
					t.Fatal(err)
				}
				s.stats()
				want := map[string]string{"BASE": "multi\nline\n"}
				for i := range n {
					want[fmt.Sprintf("K%02d", i)] = fmt.Sprintf("value %d\nwith 'quotes' and $(no)", i)
				}
				start := time.Now()
				var wg sync.WaitGroup
				errs := make(chan error, n)
				for i := range n {
					k := fmt.Sprintf("K%02d", i)
					wg.Go(func() {
						if _, err := sy.Set(ctx, s, map[string]string{k: want[k]}, false); err != nil {
							errs <- fmt.Errorf("%s: %w", k, err)
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				t.Logf("%d concurrent sets took %v", n, time.Since(start))
				s.logStats(t, fmt.Sprintf("%d concurrent sets", n))
				got, err := sy.List(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				assertSameVars(t, "after concurrent sets", got, want)
				if l := leftovers(t, s); len(l) != 0 {
					t.Errorf("leftover files: %v", l)
				}
			})
		}
	}
}
