package envsync

import (
	"log/slog"

	"github.com/smolvm/smolvm/env"
)

// Syncer performs env operations on one guest env file. The zero value
// manages env.Path with LockAuto and logs nothing. A Syncer holds no
// state between calls and is safe for concurrent use.
type Syncer struct {
	// Path is the env file in the guest; "" means env.Path. Its
	// directory also holds the temp file and the lock.
	Path string
	// Lock selects the guest-side lock; see LockMode.
	Lock LockMode
	// Logger receives one debug record per operation (keys, sizes and
	// counts, never values); nil discards.
	Logger *slog.Logger
}

func (s *Syncer) path() string {
	if s.Path == "" {
		return env.Path
	}
	return s.Path
}

func (s *Syncer) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
