package workflow

import (
	"context"
	"strconv"
	"strings"
)

// ItemIDs lists up to limit item ids that start with prefix, in order: what
// shell completion offers. It walks the primary key from prefix on, so it
// reads no more rows than it returns.
func (s *Service) ItemIDs(ctx context.Context, prefix string, limit int) ([]string, error) {
	var out []string
	err := s.read(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT id FROM items WHERE id >= ? ORDER BY id LIMIT ?`, prefix, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return storeErr("read items", err)
			}
			if !strings.HasPrefix(id, prefix) {
				break
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}

// SignalIDs lists up to limit signal ids whose digits start with prefix,
// newest first.
func (s *Service) SignalIDs(ctx context.Context, prefix string, limit int) ([]int64, error) {
	var out []int64
	err := s.read(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT id FROM signals ORDER BY id DESC`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() && len(out) < limit {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return storeErr("read signals", err)
			}
			if strings.HasPrefix(strconv.FormatInt(id, 10), prefix) {
				out = append(out, id)
			}
		}
		return rows.Err()
	})
	return out, err
}
