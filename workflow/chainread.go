package workflow

import (
	"context"
	"runtime"
	"sync"

	"github.com/oxygen-tools/oxygen/store"
)

// chainBatchSize is how many events a reader hands the checker at a time.
const chainBatchSize = 256

// checkedEvent is a row of the log with its re-hash, when the goroutine
// that read it computed it.
type checkedEvent struct {
	store.AuditEvent
	verdict rehashVerdict
}

// rehashVerdict is what re-hashing an event found.
type rehashVerdict uint8

const (
	notRehashed rehashVerdict = iota
	rehashIntact
	rehashAltered
	rehashInvalid // the payload is not valid JSON
)

// rehash re-hashes the event from its stored prev_hash.
func (c *chainHasher) rehash(e *store.AuditEvent) rehashVerdict {
	intact, err := c.matches(e.PrevHash, e.Seq, storedMS(e.At), e.Actor, e.Action, e.Subject, e.Payload, e.Hash)
	switch {
	case err != nil:
		return rehashInvalid
	case !intact:
		return rehashAltered
	}
	return rehashIntact
}

// chainReaders opens the extra read transactions a full check reads the
// log on.
type chainReaders struct {
	st    store.Store
	clock Clock
}

// chainReaders is nil for a store that serves one transaction (store.OneTx):
// the check then reads the log in order on it.
func (s *Service) chainReaders() *chainReaders {
	if _, one := s.Store.(store.OneTx); one {
		return nil
	}
	return &chainReaders{st: s.Store, clock: s.Clock}
}

// maxChainReaders bounds the transactions (and so connections) one check
// holds at once.
const maxChainReaders = 4

// minRangeSize and maxRanges shape the ranges: small enough that the
// readers take turns often (the checker waits for the range it is at), few
// enough that a log whose seqs jump far (a row inserted by hand) is not cut
// into ranges that are almost all empty.
const (
	minRangeSize = 4096
	maxRanges    = 1024
)

// rangeQueue is how many batches a reader may read ahead of the checker.
const rangeQueue = 8

// rangeBatch is part of a range's events; last marks the range's end.
type rangeBatch struct {
	events []checkedEvent
	last   bool
}

// readRanges hands every event to check in seq order, as readInOrder
// does, but reads the log as contiguous seq ranges on several read
// transactions at once, range i on reader i mod n, each reader re-hashing
// the events it read on its own goroutine: reading a row through the
// driver costs most of a full check, and one reader uses one core.
//
// The ranges cover the seqs from the first event to the head this
// transaction sees. The log is append-only (triggers refuse changes), so
// the other readers' snapshots, taken a moment later, hold the same rows up
// to that head; check still sees every row in order and checks each link,
// so a gap or a prev_hash that breaks at a range's first row is reported as
// anywhere else. The first reader is this transaction; a store that keeps
// fewer connections than readers is raised to that many for the duration.
func (tx *Tx) readRanges(ctx context.Context, more *chainReaders, check func(*checkedEvent) bool) error {
	first, ok, err := tx.st.AuditFirst(ctx)
	if err != nil || !ok {
		return err
	}
	head, _, err := tx.st.AuditHead(ctx)
	if err != nil {
		return err
	}
	// Unsigned arithmetic: seqs written by hand may span all of int64.
	span := uint64(head.Seq) - uint64(first.Seq)
	size := max(minRangeSize, span/maxRanges+1)
	ranges := span/size + 1
	// A log of one range, or one core, gains nothing from another
	// transaction.
	readers := int(min(uint64(runtime.GOMAXPROCS(0)), maxChainReaders, ranges))
	if readers < 2 {
		return tx.readInOrder(ctx, 1, check)
	}
	if p, ok := more.st.(store.Pooled); ok {
		if was := p.MaxConns(); was > 0 && was < readers {
			p.SetMaxConns(readers)
			defer p.SetMaxConns(was)
		}
	}
	bounds := func(i uint64) (lo, hi int64) {
		lo = int64(uint64(first.Seq) + i*size)
		if uint64(head.Seq)-uint64(lo) < size {
			return lo, head.Seq
		}
		return lo, lo + int64(size) - 1
	}

	stop := make(chan struct{})
	queues := make([]chan rangeBatch, readers)
	// Checked batches go back to the readers: a pass allocates a few of
	// them rather than one per chainBatchSize events.
	spare := make(chan []checkedEvent, readers*(rangeQueue+2))
	newBatch := func() []checkedEvent {
		select {
		case b := <-spare:
			return b[:0]
		default:
			return make([]checkedEvent, 0, chainBatchSize)
		}
	}
	errs := make([]error, readers)
	var wg sync.WaitGroup
	read := func(r int, stx store.Tx) error {
		hasher := newChainHasher()
		send := func(b rangeBatch) bool {
			select {
			case queues[r] <- b:
				return true
			case <-stop:
				return false
			}
		}
		for i := uint64(r); i < ranges; i += uint64(readers) {
			lo, hi := bounds(i)
			batch := newBatch()
			stopped := false
			err := stx.AuditEachRange(ctx, lo, hi, func(row *store.AuditEvent) bool {
				batch = append(batch, checkedEvent{AuditEvent: *row, verdict: hasher.rehash(row)})
				if len(batch) == chainBatchSize {
					if !send(rangeBatch{events: batch}) {
						stopped = true
						return false
					}
					batch = newBatch()
				}
				return true
			})
			if err != nil || stopped || !send(rangeBatch{events: batch, last: true}) {
				return err
			}
		}
		return nil
	}
	for r := range readers {
		queues[r] = make(chan rangeBatch, rangeQueue)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(queues[r])
			if r == 0 {
				errs[r] = read(r, tx.st)
				return
			}
			errs[r] = more.st.Read(ctx, more.clock, func(stx store.Tx) error { return read(r, stx) })
		}()
	}

	// Stopping waits for the readers, the first of which reads on this
	// transaction; deferred too, so a panic in check leaves none behind.
	halted := false
	halt := func() {
		if !halted {
			halted = true
			close(stop)
			wg.Wait()
		}
	}
	defer halt()
	broken := false
walk:
	for i := uint64(0); i < ranges; i++ {
		for {
			b, ok := <-queues[i%uint64(readers)]
			if !ok {
				break walk // its reader failed: errs says how
			}
			for j := range b.events {
				if !check(&b.events[j]) {
					broken = true
					break walk
				}
			}
			select {
			case spare <- b.events:
			default:
			}
			if b.last {
				break
			}
		}
	}
	halt()
	if broken {
		return nil
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
