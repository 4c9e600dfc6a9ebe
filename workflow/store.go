package workflow

import (
	"context"
	"errors"
	"time"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlite"
)

// Tx is one transaction with the instant it runs at.
type Tx struct {
	st  store.Tx
	now time.Time
	// behind is how far the clock read behind the newest audit event (see
	// readClock); health reports it.
	behind time.Duration
	// exports are the files this transaction's rows need, written once it
	// commits (Service.write).
	exports []export
	// staleBriefs are the capsules in use that the leases this transaction
	// ended may have made stale, checked once it commits (briefs.go).
	staleBriefs []staleBrief
	// scans are the fingerprints taken before the transaction of resources
	// whose leases it may grant or end (Service.writeScanned).
	scans *leaseScans
}

// Now is the transaction's single reading of the clock, taken once the
// transaction holds its lock or snapshot (see readClock).
func (tx *Tx) Now() time.Time { return tx.now }

// write runs fn in one write transaction (store.Store's one-writer
// contract) and commits when fn returns nil. Anything else rolls back, so a
// refused command changes nothing. The clock is read once the write lock is
// held: a command that queued behind other writers must not grant a lease,
// or record an event, at the instant it started waiting.
func write(ctx context.Context, st store.Store, clock Clock, fn func(*Tx) error) error {
	return storeErr("write", st.Write(ctx, store.Clock(clock), func(stx store.Tx) error {
		tx := &Tx{st: stx}
		if err := tx.readClock(ctx); err != nil {
			return err
		}
		return fn(tx)
	}))
}

// read runs fn in a read-only transaction: a consistent snapshot that never
// blocks writers. Its time is read by the same rule as a write's.
func read(ctx context.Context, st store.Store, clock Clock, fn func(*Tx) error) error {
	return storeErr("read", st.Read(ctx, store.Clock(clock), func(stx store.Tx) error {
		tx := &Tx{st: stx}
		if err := tx.readClock(ctx); err != nil {
			return err
		}
		return fn(tx)
	}))
}

// readClock sets the transaction's one reading of the clock, never earlier
// than the newest audit event. Events are then in time order as well as in
// sequence order, which audit verify checks. A clock that stepped back (an
// NTP step, a clock set right after running ahead) makes the store's time
// stand still at the last event's until it catches up, instead of refusing
// every write meanwhile: leases last longer than asked by at most the step,
// never shorter, so no lease is granted twice, and holders can still renew
// and release. The query is also the transaction's first read, which is
// what takes a read snapshot.
func (tx *Tx) readClock(ctx context.Context) error {
	last, err := tx.st.AuditLastAt(ctx)
	if err != nil {
		return storeErr("read audit head", err)
	}
	tx.now = tx.st.Now().UTC().Truncate(time.Millisecond)
	if tx.now.Before(last) {
		tx.behind = last.Sub(tx.now)
		tx.now = last
	}
	return nil
}

// storeErr wraps a database error with its code: a store error keeps the
// code its driver gave it (a lock that outlived the wait is a timeout, a
// lost server is a timeout, a newer schema is invalid); anything else is
// classified by the driver that raised it. nil stays nil.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return sqlite.Classify(op, err)
}
