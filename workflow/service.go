package workflow

import (
	"context"
	"strconv"
)

// Service is the API both CLIs call. Each exported method that changes state
// is one write transaction; read methods use one read transaction.
type Service struct {
	Root   string
	Config *Config
	Store  *Store
	Clock  Clock
}

// NewService wires a service for the repository at root.
func NewService(root string, cfg *Config, store *Store, clock Clock) *Service {
	if clock == nil {
		clock = SystemClock
	}
	return &Service{Root: root, Config: cfg, Store: store, Clock: clock}
}

func (s *Service) write(ctx context.Context, fn func(*Tx) error) error {
	return s.Store.write(ctx, s.Clock(), fn)
}

func (s *Service) read(ctx context.Context, fn func(*Tx) error) error {
	return s.Store.read(ctx, s.Clock(), fn)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
