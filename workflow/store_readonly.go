package workflow

import (
	"context"
	"os"
	"path/filepath"
)

// OpenServiceReadOnly is OpenService for processes that must never change
// the repository (the dashboard, shell completion): the same policy and the
// same store, opened read-only. Where OpenService would move a store left at
// its old place into the git common directory, this reads it where it is.
func OpenServiceReadOnly(ctx context.Context, l *Layout, clock Clock) (*Service, error) {
	cfg, err := LoadConfig(l.Root)
	if err != nil {
		return nil, err
	}
	l.UseStore(os.Getenv("OXYGEN_STORE"), cfg.Store.Path)
	if !l.Found() && l.Explicit == "" && l.legacyHome != "" {
		if _, err := os.Stat(filepath.Join(l.legacyHome, "state", "oxygen.db")); err == nil {
			l.Home = l.legacyHome
		}
	}
	st, err := OpenStoreReadOnly(ctx, l, cfg)
	if err != nil {
		return nil, err
	}
	return NewService(l, cfg, st, clock), nil
}
