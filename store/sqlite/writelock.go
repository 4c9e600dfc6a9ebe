package sqlite

import (
	"context"
	"os"
	"syscall"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

// Writers queue on a lock file next to the database before they BEGIN
// IMMEDIATE. SQLite's own wait for its write lock is a busy handler that
// sleeps 1, 2, 5, … up to 100 ms between tries, so under contention a
// writer that has waited longest sleeps longest, a newcomer often gets in
// first, and the holder's release waits behind sleeping claimants. A
// blocked flock(2) is woken by the kernel the moment the lock is free: no
// sleeps, no backoff, every waiter equally placed. The lock covers every
// process and every connection (each acquire is its own open file), and the
// kernel drops it when a process dies. SQLite's lock still decides; this
// only orders who asks for it, so a writer that does not take the file lock
// (the sqlite3 shell, say) is still serialised, just not queued fairly.

// writeLock takes the store's write queue lock, waiting at most BusyTimeout
// (or until ctx ends), and returns its release.
func (s *Store) writeLock(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(s.path+".write.lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, store.Errorf(store.CodeInternal, "open write lock: %v", err)
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		return func() { f.Close() }, nil
	}
	// Held: block in the kernel's queue. flock cannot be interrupted by a
	// context, so the blocked call runs on its own goroutine; a caller that
	// gives up leaves it to release the lock as soon as it gets it.
	got := make(chan error, 1)
	go func() { got <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	timer := time.NewTimer(BusyTimeout)
	defer timer.Stop()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, store.Errorf(store.CodeInternal, "take write lock: %v", err)
		}
		return func() { f.Close() }, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	go func() { <-got; f.Close() }()
	return nil, store.Errorf(store.CodeTimeout, "the store %s stayed locked for %s", s.path, BusyTimeout)
}
