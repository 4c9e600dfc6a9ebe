package sqlite

import (
	"context"
	"os"
	"time"
)

// wakePoll is how often a waiter looks at the write-ahead log for a commit:
// a stat, about a microsecond, where a look at the store is a transaction.
const wakePoll = 5 * time.Millisecond

// Subscribe implements store.Waker for processes on this machine: every
// commit appends to the write-ahead log, so a change of its size or
// modification time means some write committed, perhaps the one that frees
// resource. A wake may be for another resource (the waiter looks and waits
// on); a commit is never missed for longer than wakePoll. This is what lets
// the next waiter in line take a released lease within milliseconds instead
// of its next poll of the store.
func (s *Store) Subscribe(ctx context.Context, resource string) (<-chan struct{}, func(), error) {
	wake := make(chan struct{}, 1)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	wal := s.path + "-wal"
	last := walStamp(wal)
	go func() {
		defer close(done)
		t := time.NewTicker(wakePoll)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			if now := walStamp(wal); now != last {
				last = now
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
	}()
	return wake, func() { cancel(); <-done }, nil
}

type stamp struct {
	size  int64
	mtime time.Time
}

func walStamp(path string) stamp {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}
	}
	return stamp{fi.Size(), fi.ModTime()}
}
