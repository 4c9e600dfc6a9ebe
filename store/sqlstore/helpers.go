package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// The helpers every operation uses: statements are written once with ?
// placeholders, and every database error leaves an operation classified by
// the driver (a lock held too long, a lost server), so the rules above
// never see a driver's error type.

func (tx *Tx) exec(ctx context.Context, op, query string, args ...any) (sql.Result, error) {
	res, err := tx.tx.ExecContext(ctx, tx.rebind(query), args...)
	if err != nil {
		return nil, tx.fail(op, err)
	}
	return res, nil
}

func (tx *Tx) query(ctx context.Context, op, query string, args ...any) (*sql.Rows, error) {
	rows, err := tx.tx.QueryContext(ctx, tx.rebind(query), args...)
	if err != nil {
		return nil, tx.fail(op, err)
	}
	return rows, nil
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.rebind(query), args...)
}

// insert runs an INSERT … RETURNING id (both databases support it; neither
// needs LastInsertId) and returns the new row's id.
func (tx *Tx) insert(ctx context.Context, op, query string, args ...any) (int64, error) {
	var id int64
	if err := tx.queryRow(ctx, query+" RETURNING id", args...).Scan(&id); err != nil {
		return 0, tx.fail(op, err)
	}
	return id, nil
}

// changed runs a guarded statement and reports how many rows it changed:
// the caller decides whether zero is a refusal.
func (tx *Tx) changed(ctx context.Context, op, query string, args ...any) (int64, error) {
	res, err := tx.exec(ctx, op, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, tx.fail(op, err)
	}
	return n, nil
}

func (tx *Tx) fail(op string, err error) error { return tx.drv.Classify(op, err) }

// Times are stored as integer Unix milliseconds; 0 (or NULL) is unset, which
// reads back as the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// boolInt is how both databases store a boolean column: 0 or 1.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nullText stores "" as NULL, for optional references.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullID stores 0 as NULL, for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect runs a query and scans every row it returns with scan: the loop
// every listing would otherwise write out again. An empty result is an
// empty, non-nil slice.
func collect[T any](ctx context.Context, tx *Tx, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := tx.query(ctx, op, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, tx.fail(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.fail(op, err)
	}
	return out, nil
}

// conditions builds the WHERE clause of a listing from the conditions it
// was asked for, each written with its own ? placeholders: only those
// asked for are in the statement, so the planner sees the plain shape an
// index serves. Conditions and values come from the operation's code,
// never from input.
type conditions struct {
	conds []string
	args  []any
}

// when adds cond and its arguments if on.
func (c *conditions) when(on bool, cond string, args ...any) {
	if on {
		c.conds = append(c.conds, cond)
		c.args = append(c.args, args...)
	}
}

// where is " WHERE a AND b …", or "" without conditions.
func (c *conditions) where() string {
	if len(c.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.conds, " AND ")
}
