package workflow

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

// Waiting for a lease is first come, first served. Each waiter holds a
// ticket (a row in lease_waiters); a claim is granted only to the oldest live
// ticket, and a claim without a ticket is refused while any live ticket
// exists. A ticket is live while its heartbeat is fresh and, on this host,
// while its process exists, so a waiter that gives up or dies stops blocking
// others at once (or, on another host, within waiterStale).
const (
	waiterHeartbeat = time.Second
	waiterStale     = 5 * time.Second
	waiterPoll      = 150 * time.Millisecond
)

type waiter struct {
	ID        int64
	Resource  string
	Owner     string
	Domain    string
	PID       int
	Host      string
	CreatedAt Time
	Heartbeat Time
}

// hostname is read on first use: most commands never wait.
var hostname = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
})

func (w *waiter) live(now time.Time) bool {
	return alive(w.PID, w.Host, w.Heartbeat.Time, now, waiterStale)
}

// alive judges a process that keeps a heartbeat in the store: its beat is
// fresher than ttl and, when it runs on this host, the process still exists.
func alive(pid int, host string, beat, now time.Time, ttl time.Duration) bool {
	if now.Sub(beat) > ttl {
		return false
	}
	return host != hostname() || processAlive(pid)
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// waitersAhead lists live tickets for resource older than ticket (all live
// tickets when ticket is 0).
func (tx *Tx) waitersAhead(ctx context.Context, resource string, ticket int64) ([]*waiter, error) {
	all, err := tx.waiters(ctx, resource)
	if err != nil {
		return nil, err
	}
	var ahead []*waiter
	for _, w := range all {
		if (ticket == 0 || w.ID < ticket) && w.live(tx.now) {
			ahead = append(ahead, w)
		}
	}
	return ahead, nil
}

// ClaimWait claims like Claim, but while the resource is held by another (or
// others are queued first) it queues and waits up to wait; a zero wait is a
// plain Claim. Budget and handshake refusals fail at once. When ctx is
// cancelled or the wait runs out, the ticket is removed and ETIMEOUT
// returned.
func (s *Service) ClaimWait(ctx context.Context, req ClaimRequest, wait time.Duration) (*ClaimResult, error) {
	if wait < 0 {
		return nil, Errorf(EINVALID, "--wait cannot be negative")
	}
	if wait == 0 {
		return s.Claim(ctx, req)
	}
	if err := s.prepareClaim(&req); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	scans, err := s.scanLeases(req.Actor.Owner, req.Resource)
	if err != nil {
		return nil, err
	}
	var res *ClaimResult
	var ticket int64
	var lastHeld error
	err = s.writeScanned(ctx, scans, func(tx *Tx) error {
		r, err := s.claim(ctx, tx, req, 0)
		var held *heldError
		if errors.As(err, &held) {
			lastHeld = err
			ticket, err = tx.enqueue(ctx, req)
			return err
		}
		res = r
		return err
	})
	if err != nil {
		return nil, err
	}
	if res != nil {
		res.ShadowEdits = scans.found
		return res, nil
	}
	// A granted claim deletes its own ticket; any other way out removes it.
	defer func() {
		if res == nil {
			s.dequeue(ticket, req.Resource)
		}
	}()

	wake, stopWake, err := s.subscribe(ctx, req.Resource)
	if err != nil {
		return nil, err
	}
	defer stopWake()
	lastBeat := time.Now()
	next := waiterPoll
	timer := time.NewTimer(next)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, Errorf(ETIMEOUT, "stopped waiting for %s: %v", req.Resource, ErrorMessage(lastHeld))
		case <-timer.C:
		case <-wake:
		}
		if time.Now().After(deadline) {
			return nil, Errorf(ETIMEOUT, "waited %s for %s: %s", wait, req.Resource, ErrorMessage(lastHeld))
		}
		if time.Since(lastBeat) >= waiterHeartbeat {
			if err := s.heartbeat(ctx, ticket, req); err != nil {
				return nil, err
			}
			lastBeat = time.Now()
		}
		state, err := s.waitState(ctx, req.Resource, ticket)
		if err != nil {
			return nil, err
		}
		if req.OnWait != nil {
			req.OnWait(state)
		}
		if state.Holder != nil || state.Position > 1 {
			timer.Reset(s.nextLook(wake, state))
			continue
		}
		// Fingerprinted again now that the resource looks free: the files
		// as the previous holder left them are the new lease's start.
		res, err = s.claimScanned(ctx, req, ticket)
		var held *heldError
		switch {
		case errors.As(err, &held):
			lastHeld = err
			timer.Reset(s.nextLook(wake, state))
		case err != nil:
			return nil, err
		default:
			return res, nil
		}
	}
}

// subscribe asks a store that can wake waiters (store.Waker) to do so for
// resource; with any other store the wake channel is nil and the wait
// polls.
func (s *Service) subscribe(ctx context.Context, resource string) (<-chan struct{}, func(), error) {
	w, ok := s.Store.(store.Waker)
	if !ok {
		return nil, func() {}, nil
	}
	wake, stop, err := w.Subscribe(ctx, resource)
	if err != nil {
		return nil, nil, storeErr("wait for "+resource, err)
	}
	return wake, stop, nil
}

// nextLook is how long a waiter sleeps before it looks again. Polling, it
// is waiterPoll. Woken by the store, it looks when woken, when its
// heartbeat is due, or when the holder's lease runs out, whichever comes
// first: a lease that expires by the clock wakes nobody.
func (s *Service) nextLook(wake <-chan struct{}, st WaitState) time.Duration {
	if wake == nil {
		return waiterPoll
	}
	d := waiterHeartbeat
	if st.Holder != nil {
		if left := st.Holder.ExpiresAt.Sub(st.Now.Time); left > 0 && left < d {
			d = left
		}
	}
	return max(d, 10*time.Millisecond)
}

// WaitState is where a queued claim stands after a poll.
type WaitState struct {
	Resource string
	Position int    // in the queue of live waiters; 1 is next
	Holder   *Lease // the live lease in the way, nil when the resource is free
	Now      Time
}

// waitState is a cheap read: who holds the resource, and how many live
// tickets are ahead of this one? The claim may go ahead when nobody holds it
// and the ticket is first.
func (s *Service) waitState(ctx context.Context, resource string, ticket int64) (WaitState, error) {
	st := WaitState{Resource: resource}
	err := s.read(ctx, func(tx *Tx) error {
		st.Now = Time{tx.now}
		l, err := tx.activeLease(ctx, resource)
		if err != nil {
			return err
		}
		if l != nil && l.liveAt(tx.now) {
			st.Holder = l
		}
		ahead, err := tx.waitersAhead(ctx, resource, ticket)
		st.Position = len(ahead) + 1
		return err
	})
	return st, err
}

func (tx *Tx) enqueue(ctx context.Context, req ClaimRequest) (int64, error) {
	// Tickets of waiters that died are swept here, so the queue stays short.
	if err := tx.sweepWaiters(ctx, req.Resource); err != nil {
		return 0, err
	}
	id, err := tx.st.WaiterInsert(ctx, store.Waiter{Resource: req.Resource, Owner: req.Actor.Owner, Domain: req.Actor.Domain,
		PID: os.Getpid(), Host: hostname(), CreatedAt: tx.now, HeartbeatAt: tx.now})
	return id, storeErr("queue for lease", err)
}

func (tx *Tx) sweepWaiters(ctx context.Context, resource string) error {
	all, err := tx.waiters(ctx, resource)
	if err != nil {
		return err
	}
	for _, w := range all {
		if !w.live(tx.now) {
			if err := tx.st.WaiterDelete(ctx, w.ID); err != nil {
				return storeErr("sweep lease queue", err)
			}
			if err := tx.st.WakeWaiters(ctx, resource); err != nil {
				return storeErr("sweep lease queue", err)
			}
		}
	}
	return nil
}

// waiters lists every ticket for resource, live or not, oldest first.
func (tx *Tx) waiters(ctx context.Context, resource string) ([]*waiter, error) {
	return waitersFromRows(tx.st.WaitersForResource(ctx, resource))
}

// allWaiters lists every ticket, live or not, oldest first.
func (tx *Tx) allWaiters(ctx context.Context) ([]*waiter, error) {
	return waitersFromRows(tx.st.WaitersAll(ctx))
}

// waitersFromRows converts stored tickets, or passes their error on as a
// store error.
func waitersFromRows(rows []store.Waiter, err error) ([]*waiter, error) {
	if err != nil {
		return nil, storeErr("read waiters", err)
	}
	out := make([]*waiter, len(rows))
	for i, r := range rows {
		out[i] = &waiter{ID: r.ID, Resource: r.Resource, Owner: r.Owner, Domain: r.Domain, PID: r.PID, Host: r.Host,
			CreatedAt: Time{r.CreatedAt}, Heartbeat: Time{r.HeartbeatAt}}
	}
	return out, nil
}

// Waiter is a live place in a resource's queue, as status pages show it.
type Waiter struct {
	Owner    string `json:"owner"`
	Domain   string `json:"domain"`
	Position int    `json:"position"` // 1 is next
	Since    Time   `json:"since"`
}

// liveWaiters is every resource's queue of live tickets, in serving order.
func (tx *Tx) liveWaiters(ctx context.Context) (map[string][]Waiter, error) {
	all, err := tx.allWaiters(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]Waiter{}
	for _, w := range all {
		if w.live(tx.now) {
			q := out[w.Resource]
			out[w.Resource] = append(q, Waiter{Owner: w.Owner, Domain: w.Domain, Position: len(q) + 1, Since: w.CreatedAt})
		}
	}
	return out, nil
}

// heartbeat keeps the ticket live. If the ticket was swept (this process was
// stalled long enough to look dead), it queues again at the back.
func (s *Service) heartbeat(ctx context.Context, ticket int64, req ClaimRequest) error {
	return s.write(ctx, func(tx *Tx) error {
		kept, err := tx.st.WaiterHeartbeatIf(ctx, ticket, tx.now)
		if err != nil {
			return storeErr("heartbeat lease queue", err)
		}
		if !kept {
			return Errorf(ETIMEOUT, "lost the place in the queue for %s (this process looked dead); try again", req.Resource)
		}
		return nil
	})
}

// dequeue removes a ticket; it runs even when the wait was cancelled. The
// waiters behind it are woken: one of them may be first now.
func (s *Service) dequeue(ticket int64, resource string) {
	ctx := context.Background()
	s.write(ctx, func(tx *Tx) error {
		if err := tx.st.WaiterDelete(ctx, ticket); err != nil {
			return storeErr("leave lease queue", err)
		}
		return storeErr("leave lease queue", tx.st.WakeWaiters(ctx, resource))
	})
}
