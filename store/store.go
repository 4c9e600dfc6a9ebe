// Package store is the contract between Oxygen's rules (package workflow)
// and the databases that keep its state. The rules never see SQL: every
// statement is a named operation on a transaction (Tx), and each database
// implements those operations (store/sqlite for the embedded default,
// store/postgres for a team's server). store/storetest holds the one
// conformance suite both must pass.
//
// The package exists, rather than interfaces inside workflow, so that the
// drivers can depend on the contract without depending on the rules, and the
// rules' own tests can open a real store without an import cycle.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store is one repository's state.
//
// The one-writer contract: Write runs at most one transaction at a time per
// repository, across every process and machine sharing the store, and fn
// starts only once that holds. Rules that read and then write (count the
// in-progress items and then move one, read the audit head and then append,
// take the next id) are correct because of this contract alone, never
// because of an isolation level or a particular database's locking. Each
// driver says how it keeps it.
type Store interface {
	// Write runs fn in one write transaction and commits when fn returns
	// nil; any error rolls everything back.
	// clock is the machine's, which only a store without a clock of its
	// own reads.
	Write(ctx context.Context, clock Clock, fn func(Tx) error) error
	// Read runs fn in one read-only transaction over a consistent snapshot;
	// it never waits for writers.
	Read(ctx context.Context, clock Clock, fn func(Tx) error) error
	// Info says which database this is, for messages and `orchestrate where`.
	Info() Info
	Close() error
}

// Info describes a store for people: never a password.
type Info struct {
	Kind     string // "sqlite" or "postgres"
	Location string // the database file, or the server URL without its password
	Schema   int64  // the highest migration applied
}

// Clock reads the machine's time. Only stores without a clock of their own
// (SQLite) use it; a server store takes its time from the server.
type Clock func() time.Time

// Error codes, shared with package workflow, which maps each to one exit
// status.
const (
	CodeInvalid  = "invalid"
	CodeConflict = "conflict"
	CodeNotFound = "notfound"
	CodeTimeout  = "timeout"
	CodeInternal = "internal"
)

// Error is a store failure with the code it should surface as: a server that
// cannot be reached or a lock held too long is a timeout (try again), a
// wrong password or a schema newer than the binary is invalid (fix the
// setup), a guarded change that found its row moved is a conflict.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is what an operation that reads one row returns when there is
// none; callers turn it into their own "no such item" with the next command.
var ErrNotFound = errors.New("not found")

// Pooled is a store that a long-running process (the daemon, the
// dashboard) can let serve several transactions at once, where a CLI
// process keeps one connection.
type Pooled interface {
	SetMaxConns(n int)
	// MaxConns is the current limit, so that a caller raising it for a
	// while can put it back.
	MaxConns() int
}

// OneTx is a store whose every transaction is one and the same open
// transaction on one connection (a copy verified before its import
// commits): it serves one statement at a time, so a caller that would read
// on several transactions at once must read on one instead.
type OneTx interface {
	OneTx()
}

// Waker is a store that can wake the processes waiting for a resource
// when it may have changed hands, so the next in line takes a released
// lease at once instead of at its next poll: a server store with
// LISTEN/NOTIFY (its waiters may be on other machines), SQLite by watching
// its write-ahead log. A store without it is polled.
type Waker interface {
	// Subscribe returns a channel that receives a value (coalesced) each
	// time a committed write woke resource's waiters, until stop is called
	// or ctx ends.
	Subscribe(ctx context.Context, resource string) (wake <-chan struct{}, stop func(), err error)
}
