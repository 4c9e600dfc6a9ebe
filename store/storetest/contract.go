package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
	"github.com/oxygen-tools/oxygen/workflow"
)

// machineClock is the clock a store without its own reads.
func machineClock() time.Time { return time.Now().UTC() }

// bumpToken moves the fencing token counter on by one inside a write: a
// change every schema allows (the counter only goes up) and one whose
// effect is easy to read back.
func bumpToken(tx store.Tx) error {
	_, err := sqlstore.SQLOf(tx).ExecContext(context.Background(), `UPDATE counters SET value = value + 1 WHERE name = 'lease_token'`)
	return err
}

func tokenCounter(t *testing.T, svc *workflow.Service) int64 {
	t.Helper()
	return scalar[int64](t, svc, `SELECT value FROM counters WHERE name = 'lease_token'`)
}

// runContract checks store.Store's contract directly, each party on its
// own Store (its own connection), as separate processes are.
func runContract(t *testing.T, open Opener) {
	t.Run("WriteSerialises", func(t *testing.T) {
		r := open(t)
		const writers = 6
		stores := make([]store.Store, writers)
		for i := range stores {
			stores[i] = r.Open(t).Store
		}
		var inside, overlaps atomic.Int32
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i, st := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = st.Write(ctx, machineClock, func(tx store.Tx) error {
					if inside.Add(1) != 1 {
						overlaps.Add(1)
					}
					defer inside.Add(-1)
					time.Sleep(20 * time.Millisecond)
					return bumpToken(tx)
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		if n := overlaps.Load(); n != 0 {
			t.Fatalf("%d writes ran while another's was running", n)
		}
	})

	t.Run("NowIsReadAfterTheLock", func(t *testing.T) {
		r := open(t)
		first, second := r.Open(t).Store, r.Open(t).Store
		const hold = 300 * time.Millisecond
		entered := make(chan struct{})
		var firstNow, secondNow time.Time
		var wg sync.WaitGroup
		wg.Add(1)
		var firstErr error
		go func() {
			defer wg.Done()
			firstErr = first.Write(ctx, machineClock, func(tx store.Tx) error {
				firstNow = tx.Now()
				close(entered)
				time.Sleep(hold)
				return bumpToken(tx)
			})
		}()
		<-entered
		err := second.Write(ctx, machineClock, func(tx store.Tx) error {
			secondNow = tx.Now()
			return nil
		})
		wg.Wait()
		if firstErr != nil || err != nil {
			t.Fatalf("writes: %v, %v", firstErr, err)
		}
		// The second began waiting while the first held the lock; had it
		// read its clock before the lock, its Now would fall inside the
		// first's hold.
		if secondNow.Before(firstNow.Add(hold)) {
			t.Fatalf("a write that waited behind another has Now %s, before the other's commit (%s + %s)", secondNow, firstNow, hold)
		}
	})

	t.Run("ErrorRollsBackEverything", func(t *testing.T) {
		r := open(t)
		svc := r.Open(t)
		before := dump(t, svc)
		refused := errors.New("the rule said no")
		write := func(outcome error) error {
			return svc.Store.Write(ctx, machineClock, func(tx store.Tx) error {
				if err := bumpToken(tx); err != nil {
					return err
				}
				now := tx.Now().UnixMilli()
				if _, err := sqlstore.SQLOf(tx).ExecContext(ctx, `INSERT INTO items (id, title, kind, domain, priority, objective, created_at, updated_at) VALUES ('WORK-900', 't', 'chore', 'builder', 'low', 'o', ?, ?)`, now, now); err != nil {
					return err
				}
				return outcome
			})
		}
		if err := write(refused); !errors.Is(err, refused) {
			t.Fatalf("Write returned %v, want fn's error", err)
		}
		if d := before.diff(dump(t, svc)); d != "" {
			t.Fatalf("a failed write left changes:\n%s", d)
		}
		// The same write, committed, shows in the snapshot: the comparison
		// above (and every refusal's) can see what it looks for.
		if err := write(nil); err != nil {
			t.Fatal(err)
		}
		if d := before.diff(dump(t, svc)); !strings.Contains(d, "items: + ") || !strings.Contains(d, "counters: + ") {
			t.Fatalf("a committed write shows as:\n%s", d)
		}
	})

	t.Run("ReadNeverWaitsForAWrite", func(t *testing.T) {
		r := open(t)
		writer, reader := r.Open(t), r.Open(t)
		was := tokenCounter(t, reader)
		entered, finish := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		var writeErr error
		go func() {
			defer wg.Done()
			writeErr = writer.Store.Write(ctx, machineClock, func(tx store.Tx) error {
				if err := bumpToken(tx); err != nil {
					return err
				}
				close(entered)
				<-finish
				return nil
			})
		}()
		<-entered
		// A read that waited for the write would wait forever: the write
		// finishes only after the read returns. The deadline turns that
		// into a failure instead of a hung test.
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		var seen int64
		err := reader.Store.Read(rctx, machineClock, func(tx store.Tx) error {
			return sqlstore.SQLOf(tx).QueryRowContext(rctx, `SELECT value FROM counters WHERE name = 'lease_token'`).Scan(&seen)
		})
		cancel()
		close(finish)
		wg.Wait()
		if err != nil {
			t.Fatalf("read while a write held the lock: %v", err)
		}
		if writeErr != nil {
			t.Fatalf("write: %v", writeErr)
		}
		if seen != was {
			t.Fatalf("read saw counter %d, the uncommitted write's; want the committed %d", seen, was)
		}
		if now := tokenCounter(t, reader); now != was+1 {
			t.Fatalf("counter %d after the write committed, want %d", now, was+1)
		}
	})
}
