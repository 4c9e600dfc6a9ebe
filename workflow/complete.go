package workflow

import (
	"context"
	"strings"
)

// ItemIDs lists up to limit item ids that start with prefix, in order: what
// shell completion offers. It walks the primary key from prefix on, so it
// reads no more rows than it returns.
func (s *Service) ItemIDs(ctx context.Context, prefix string, limit int) ([]string, error) {
	var out []string
	err := s.read(ctx, func(tx *Tx) error {
		ids, err := tx.st.ItemIDsFrom(ctx, prefix, limit)
		for _, id := range ids {
			if !strings.HasPrefix(id, prefix) {
				break
			}
			out = append(out, id)
		}
		return storeErr("read items", err)
	})
	return out, err
}

// SignalIDs lists up to limit signal ids whose digits start with prefix,
// newest first.
func (s *Service) SignalIDs(ctx context.Context, prefix string, limit int) ([]int64, error) {
	var out []int64
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.st.SignalIDsWithPrefix(ctx, prefix, limit)
		return storeErr("read signals", err)
	})
	return out, err
}
