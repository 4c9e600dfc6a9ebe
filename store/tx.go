package store

import (
	"context"
	"database/sql"
	"time"
)

// Tx is one transaction: its time and its named operations, grouped by
// the part of the model they touch (one interface per file).
type Tx interface {
	// Now is the transaction's one reading of the clock, taken once the
	// write lock (or the read snapshot) is held, so a command that queued
	// behind other writers never acts at the instant it started waiting.
	Now() time.Time

	// WakeWaiters wakes the processes waiting for resource once this
	// transaction commits (store.Waker); call it whenever a write may let a
	// waiter proceed: a lease ended, a ticket left the queue.
	WakeWaiters(ctx context.Context, resource string) error

	LeasesOps
	ItemsOps
	AuditOps
	SignalsOps
}

// SQL runs statements written with ? placeholders on either database: the
// store layer's own handle (sqlstore.SQLOf), never the rules'.
type SQL interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
