package workflow

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/oxygen-tools/oxygen/store"
)

// Service is the API both CLIs call. Each exported method that changes state
// is one write transaction; read methods use one read transaction.
type Service struct {
	// Root is the repository's oxygen root (the main worktree's): policy
	// and signal exports. Worktree is the one the command runs in: files
	// and the git index. Layout also knows where machine-local state is.
	Root     string
	Worktree string
	Layout   *Layout
	Config   *Config
	Store    store.Store
	Clock    Clock
	// Warn reports a problem that does not fail the command, such as a
	// brief that could not be refreshed after a lease ended; nil drops it.
	Warn func(msg string)
}

func (s *Service) warn(format string, args ...any) {
	if s.Warn != nil {
		s.Warn(fmt.Sprintf(format, args...))
	}
}

// NewService wires a service for the repository a layout describes.
func NewService(l *Layout, cfg *Config, st store.Store, clock Clock) *Service {
	if clock == nil {
		clock = SystemClock
	}
	return &Service{Root: l.Root, Worktree: l.Worktree, Layout: l, Config: cfg, Store: st, Clock: clock}
}

// write runs fn in one write transaction. The files that mirror its rows
// (see exports.go) are staged at its end and written after it commits;
// then the briefs its lease ends may have made stale are checked.
func (s *Service) write(ctx context.Context, fn func(*Tx) error) error {
	var exports []export
	var stale []staleBrief
	own := 0
	err := write(ctx, s.Store, s.Clock, func(tx *Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		stale = tx.staleBriefs
		if len(tx.exports) == 0 {
			return nil
		}
		staged, err := s.stageExports(ctx, tx)
		if err != nil {
			return err
		}
		exports, own = staged, len(tx.exports)
		markExporting(exports)
		return nil
	})
	defer doneExporting(exports)
	if err != nil {
		return err
	}
	if err := s.writeExports(exports, own); err != nil {
		return err
	}
	if len(stale) > 0 {
		s.refreshBriefs(ctx, stale)
	}
	return nil
}

func (s *Service) read(ctx context.Context, fn func(*Tx) error) error {
	return read(ctx, s.Store, s.Clock, fn)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// OpenService loads the policy that governs the layout's store and opens
// the store, which must exist: only Init creates one.
func OpenService(ctx context.Context, l *Layout, clock Clock) (*Service, error) {
	cfg, err := LoadConfig(l.Root)
	if err != nil {
		return nil, err
	}
	l.UseStore(os.Getenv("OXYGEN_STORE"), cfg.Store.Path)
	if _, err := l.MigrateLegacy(); err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, l, cfg)
	if err != nil {
		return nil, err
	}
	return NewService(l, cfg, st, clock), nil
}
