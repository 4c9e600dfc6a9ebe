package workflow

import (
	"context"
	"fmt"
	"strings"
)

// Ready work is open work whose dependencies are done. Whether it can start
// now depends on more than that: a resource its files fall under may be
// leased by someone else, or others may be queued for it, and its domain may
// be at its cap. ready says so per item (waiting_on), and ready --now keeps
// only what the caller could assign and start without a conflict.

// ReadyRequest says whose view of the ready items to take.
type ReadyRequest struct {
	Domain string // only items of this domain
	// Owner is who asks: their own leases and place in a queue never make
	// an item wait. "" is nobody, so every lease counts.
	Owner string
	// Now keeps only the items Owner could assign and start at once: items
	// of OwnerDomain that wait on nothing.
	Now         bool
	OwnerDomain string
}

// Wait is one reason a ready item cannot start at once.
type Wait struct {
	On       string `json:"on"`       // lease, queue or attention
	Resource string `json:"resource"` // "" for attention
	Holder   string `json:"holder"`   // the lease's owner, or the first in the queue
	Domain   string `json:"domain"`   // the holder's domain, or the domain at its cap
	Until    Time   `json:"until"`    // when the lease expires; null otherwise
	Reason   string `json:"reason"`   // one line
}

// ReadyItem is a ready item with what it waits on (empty: it can start).
type ReadyItem struct {
	*Item
	WaitingOn []Wait `json:"waiting_on"`
}

// Wait kinds.
const (
	WaitLease     = "lease"
	WaitQueue     = "queue"
	WaitAttention = "attention"
)

// readyConditions is what decides, for any ready item, whether it can start:
// read once per listing, so each item costs a few map lookups whatever the
// listing's size or paging.
type readyConditions struct {
	cfg    *Config
	owner  string
	leases map[string]*Lease   // live, by resource
	queued map[string][]string // live waiters' owners, oldest first, by resource
	busy   map[string][]string // items in progress, by domain
}

func (s *Service) readyConditions(ctx context.Context, tx *Tx, owner string) (*readyConditions, error) {
	c := &readyConditions{cfg: s.Config, owner: owner, queued: map[string][]string{}, busy: map[string][]string{}}
	var err error
	if c.leases, err = tx.liveLeases(ctx); err != nil {
		return nil, err
	}
	waiters, err := tx.allWaiters(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range waiters {
		if w.live(tx.now) {
			c.queued[w.Resource] = append(c.queued[w.Resource], w.Owner)
		}
	}
	for _, d := range s.Config.Domains {
		if c.busy[d.Name], err = tx.inProgress(ctx, d.Name); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// waits lists what keeps it from starting now: its domain at its cap, then,
// per resource its files fall under (in config order), a lease held by
// someone other than the caller, or waiters queued ahead of the caller.
func (c *readyConditions) waits(it *Item) []Wait {
	out := []Wait{}
	if d, ok := c.cfg.Domain(it.Domain); ok && len(c.busy[it.Domain]) >= d.MaxInProgress {
		out = append(out, Wait{On: WaitAttention, Domain: it.Domain,
			Reason: fmt.Sprintf("attention budget: %s has %d of %d items in progress (%s)", it.Domain, len(c.busy[it.Domain]), d.MaxInProgress, strings.Join(c.busy[it.Domain], ", "))})
	}
	for _, r := range c.cfg.Resources {
		if !coversAny(r, it.Files) {
			continue
		}
		if l := c.leases[r.ID]; l != nil && l.Owner != c.owner {
			out = append(out, Wait{On: WaitLease, Resource: r.ID, Holder: l.Owner, Domain: l.Domain, Until: l.ExpiresAt,
				Reason: fmt.Sprintf("%s is leased by %s (%s) until %s", r.ID, l.Owner, l.Domain, l.ExpiresAt)})
			continue
		}
		if ahead := queuedAhead(c.queued[r.ID], c.owner); len(ahead) > 0 {
			out = append(out, Wait{On: WaitQueue, Resource: r.ID, Holder: ahead[0], Domain: r.Domain,
				Reason: fmt.Sprintf("%s has %d waiter(s) queued first (first: %s)", r.ID, len(ahead), ahead[0])})
		}
	}
	return out
}

// queuedAhead is the queue in front of owner: all of it when owner is not
// in it.
func queuedAhead(queue []string, owner string) []string {
	for i, o := range queue {
		if owner != "" && o == owner {
			return queue[:i]
		}
	}
	return queue
}

func coversAny(r Resource, files []string) bool {
	for _, f := range files {
		if r.Covers(f) {
			return true
		}
	}
	return false
}

// keep applies --now: the caller can assign only items of their domain, and
// start only what waits on nothing.
func (req ReadyRequest) keep(it *ReadyItem) bool {
	return !req.Now || (it.Domain == req.OwnerDomain && len(it.WaitingOn) == 0)
}

func (req ReadyRequest) check(cfg *Config) error {
	if req.Domain != "" {
		if _, ok := cfg.Domain(req.Domain); !ok {
			return Errorf(EINVALID, "--domain %q is not a domain (domains: %s)", req.Domain, strings.Join(cfg.DomainNames(), ", "))
		}
	}
	if req.Owner != "" && !validOwner(req.Owner) {
		return Errorf(EINVALID, "--owner %q: use letters, digits and . _ @ + - (at most 64)", req.Owner)
	}
	if req.Now && (req.Owner == "" || req.OwnerDomain == "") {
		return Errorf(EINVALID, "--now lists what you could start: say who you are with --owner or OXYGEN_OWNER")
	}
	return nil
}
