package envsync

import "context"

// List returns the variables in the guest's env file (an empty, non-nil
// map when the file does not exist). It takes no lock: writers replace the
// file with one rename, and the guest reads it once, so List sees either
// the old or the new file, never a mix. It needs no write access to the
// env file's directory. Lines env.Parse skips are logged (line, key,
// reason) and left out.
func (s *Syncer) List(ctx context.Context, r Runner) (map[string]string, error) {
	o, err := s.exchange(ctx, r, "list", modeList, nil)
	if err != nil {
		return nil, err
	}
	return o.current, nil
}

// List is Syncer.List on env.Path.
func List(ctx context.Context, r Runner) (map[string]string, error) {
	return (&Syncer{}).List(ctx, r)
}
