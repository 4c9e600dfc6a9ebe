package workflow

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/pathspec"
	"github.com/oxygen-tools/oxygen/store"
)

// LeaseState is where a lease is in its life: active, then released,
// expired or revoked.
type LeaseState = store.LeaseState

// Lease states.
const (
	LeaseActive   = store.LeaseActive
	LeaseReleased = store.LeaseReleased
	LeaseExpired  = store.LeaseExpired
	LeaseRevoked  = store.LeaseRevoked
)

// SystemActor signs what automation does on nobody's behalf, such as the
// missive that tells a domain its lease expired.
var SystemActor = Actor{Owner: "oxygen", Domain: "system"}

// Lease is an exclusive, expiring claim on one resource.
type Lease struct {
	ID        int64      `json:"-"`
	Resource  string     `json:"resource"`
	Owner     string     `json:"owner"`
	Domain    string     `json:"domain"`
	Token     int64      `json:"token"`
	Item      string     `json:"item"`
	Reason    string     `json:"reason"`
	CreatedAt Time       `json:"created_at"`
	ExpiresAt Time       `json:"expires_at"`
	EndedAt   Time       `json:"ended_at"`
	EndReason string     `json:"end_reason"`
	EndedBy   string     `json:"ended_by"`
	State     LeaseState `json:"state"`
	// HoldSince starts the max_hold clock: CreatedAt, or an earlier lease's
	// when the owner claimed again within leases.cooldown.
	HoldSince Time `json:"-"`
}

// liveAt reports whether the lease is active and unexpired at t. A lease past
// its expiry is free straight away, whether or not a sweep has marked it.
func (l *Lease) liveAt(t time.Time) bool {
	return l.State == LeaseActive && t.Before(l.ExpiresAt.Time)
}

// effective shows a lease as it really stands at t: an active lease past its
// expiry is reported as expired at its expiry time.
func (l *Lease) effective(t time.Time) *Lease {
	if l.State != LeaseActive || l.liveAt(t) {
		return l
	}
	c := *l
	c.State, c.EndedAt, c.EndReason, c.EndedBy = LeaseExpired, l.ExpiresAt, expiredReason+" (not yet swept)", ""
	return &c
}

// leaseFromRow is a stored lease as the rules see it.
func leaseFromRow(r store.Lease) *Lease {
	return &Lease{ID: r.ID, Resource: r.Resource, Owner: r.Owner, Domain: r.Domain, Token: r.Token, Item: r.Item, Reason: r.Reason,
		CreatedAt: Time{r.CreatedAt}, ExpiresAt: Time{r.ExpiresAt}, EndedAt: Time{r.EndedAt}, EndReason: r.EndReason, EndedBy: r.EndedBy,
		State: r.State, HoldSince: Time{r.HoldSince}}
}

// leasesFromRows converts a listing, or passes its error on as a store
// error.
func leasesFromRows(rows []store.Lease, err error) ([]*Lease, error) {
	if err != nil {
		return nil, storeErr("read leases", err)
	}
	out := make([]*Lease, len(rows))
	for i, r := range rows {
		out[i] = leaseFromRow(r)
	}
	return out, nil
}

// leaseFromLookup converts a one-lease read: nil when there is none.
func leaseFromLookup(op string, row store.Lease, ok bool, err error) (*Lease, error) {
	if err != nil || !ok {
		return nil, storeErr(op, err)
	}
	return leaseFromRow(row), nil
}

// activeLease returns the resource's active row, which may be past expiry.
func (tx *Tx) activeLease(ctx context.Context, resource string) (*Lease, error) {
	row, ok, err := tx.st.LeaseActiveForResource(ctx, resource)
	return leaseFromLookup("read lease", row, ok, err)
}

// endLease moves an active lease to a final state with one guarded UPDATE.
// Every way a lease ends (release, expiry, revocation) comes through here.
func (tx *Tx) endLease(ctx context.Context, l *Lease, state LeaseState, reason, by string, endedAt time.Time) error {
	ended, err := tx.st.LeaseEndIfActive(ctx, l.ID, state, endedAt, reason, by)
	if err != nil {
		return storeErr("end lease", err)
	}
	if !ended {
		return Errorf(ECONFLICT, "the lease on %s changed while this command ran", l.Resource)
	}
	l.State, l.EndedAt, l.EndReason, l.EndedBy = state, Time{endedAt}, reason, by
	if err := tx.st.WakeWaiters(ctx, l.Resource); err != nil {
		return storeErr("end lease", err)
	}
	// The end of a lease is a boundary: what changes after it, until the
	// next claim, is unleased. It may also leave briefs stale.
	if err := tx.scans.mark(ctx, tx, l.Resource, endBoundary[state], l.ID); err != nil {
		return err
	}
	return tx.noteStaleBriefs(ctx, l)
}

// expiredReason is the end reason of every expired lease; lease.expire
// events imply it, so the replay of the audit log knows it too.
const expiredReason = "ttl elapsed"

// expireLease ends a lease whose time ran out, as of its expiry, and tells
// the holder's domain. `oxygen expire`, the daemon and a claim that finds an
// expired lease all call this, so they record exactly the same thing.
func (tx *Tx) expireLease(ctx context.Context, cfg *Config, root string, l *Lease) error {
	if err := tx.endLease(ctx, l, LeaseExpired, expiredReason, SystemActor.Owner, l.ExpiresAt.Time); err != nil {
		return err
	}
	if err := tx.audit(ctx, SystemActor.Owner, "lease.expire", "resource:"+l.Resource, map[string]any{
		"owner": l.Owner, "domain": l.Domain, "token": l.Token, "expires_at": l.ExpiresAt}); err != nil {
		return err
	}
	_, err := tx.emit(ctx, cfg, root, SignalSpec{Kind: KindMissive, Topic: "lease-expired", From: SystemActor.Owner, FromDomain: SystemActor.Domain,
		To: l.Domain, Resource: l.Resource, Item: l.Item,
		Body: fmt.Sprintf("%s's lease on %s (token %d) expired at %s without being released", l.Owner, l.Resource, l.Token, l.ExpiresAt)})
	return err
}

// ClaimRequest asks for a lease.
type ClaimRequest struct {
	Resource string
	Actor    Actor
	TTL      *time.Duration // nil: leases.default_ttl
	Item     string
	Reason   string
	// OnWait, if set, hears where a queued claim stands after every poll
	// (ClaimWait only): a terminal shows it to the person waiting.
	OnWait func(WaitState)

	ttl time.Duration // the checked TTL
}

// ClaimResult is a granted lease; Renewed is set when the claimant already
// held it and only the expiry moved.
type ClaimResult struct {
	Lease   *Lease
	Renewed bool
	// ShadowEdits are the unleased changes the claim found: made since the
	// resource's previous fingerprint in this worktree while no lease was
	// live. The claim is granted all the same.
	ShadowEdits []*ShadowEdit
}

// checkTTL applies the default to an unset TTL (nil) and bounds a given one.
func (s *Service) checkTTL(ttl *time.Duration) (time.Duration, error) {
	if ttl == nil {
		return s.Config.Leases.DefaultTTL, nil
	}
	if *ttl < time.Second || *ttl > s.Config.Leases.MaxTTL {
		return 0, Errorf(EINVALID, "--ttl %s: must be between 1s and leases.max_ttl (%s)", FormatDuration(*ttl), FormatDuration(s.Config.Leases.MaxTTL))
	}
	return *ttl, nil
}

// prepareClaim checks what a claim can be checked for without the store and
// settles its TTL.
func (s *Service) prepareClaim(req *ClaimRequest) error {
	ttl, err := s.checkTTL(req.TTL)
	if err != nil {
		return err
	}
	req.ttl = ttl
	if strings.TrimSpace(req.Resource) == "" {
		return Errorf(EINVALID, "a resource id is required (see oxygen resources)")
	}
	if req.Item != "" && !validItemID(req.Item) {
		return Errorf(EINVALID, "--item %q is not an item id", req.Item)
	}
	return checkLine("--reason", req.Reason)
}

// Claim grants a lease, or refuses in the protocol's order: invalid input,
// unknown resource, held by another or waiters ahead, handshake, budget.
// Every check and the grant happen in one BEGIN IMMEDIATE transaction.
// The resource's files are fingerprinted first, outside the lock.
func (s *Service) Claim(ctx context.Context, req ClaimRequest) (*ClaimResult, error) {
	if err := s.prepareClaim(&req); err != nil {
		return nil, err
	}
	return s.claimScanned(ctx, req, 0)
}

// claimScanned fingerprints the resource, then claims in one write
// transaction, with ticket as the caller's place in the queue (0: none).
// A held resource is reported as a heldError with a nil result.
func (s *Service) claimScanned(ctx context.Context, req ClaimRequest, ticket int64) (*ClaimResult, error) {
	if err := s.claimPrecheck(ctx, req, ticket); err != nil {
		return nil, err
	}
	scans, err := s.scanLeases(req.Actor.Owner, req.Resource)
	if err != nil {
		return nil, err
	}
	var res *ClaimResult
	err = s.writeScanned(ctx, scans, func(tx *Tx) error {
		var err error
		res, err = s.claim(ctx, tx, req, ticket)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.ShadowEdits = scans.found
	return res, nil
}

// claim is the body of a claim, shared by Claim and the waiting loop.
// ticket is the caller's place in the queue, or 0 when it is not queued.
func (s *Service) claim(ctx context.Context, tx *Tx, req ClaimRequest, ticket int64) (*ClaimResult, error) {
	res, ok := s.Config.Resource(req.Resource)
	if !ok {
		return nil, unknownResource(s.Config, req.Resource)
	}
	if req.Item != "" {
		if exists, err := tx.itemExists(ctx, req.Item); err != nil {
			return nil, err
		} else if !exists {
			return nil, Errorf(ENOTFOUND, "--item %s: no such item", req.Item)
		}
	}
	now := tx.now
	cur, err := tx.activeLease(ctx, res.ID)
	if err != nil {
		return nil, err
	}
	if cur != nil && !cur.liveAt(now) {
		if err := tx.expireLease(ctx, s.Config, s.Root, cur); err != nil {
			return nil, err
		}
		cur = nil
	}
	if cur != nil && cur.Owner == req.Actor.Owner {
		return s.extend(ctx, tx, cur, req.ttl, req.Actor.Owner, true)
	}
	if err := s.claimRefusal(ctx, tx, req, res, cur, ticket); err != nil {
		return nil, err
	}
	holdSince, err := tx.holdSince(ctx, res.ID, req.Actor.Owner, now, s.Config.Leases.Cooldown, s.Config.Leases.MaxHold)
	if err != nil {
		return nil, err
	}
	if limit := holdSince.Add(s.Config.Leases.MaxHold); now.Add(req.ttl).After(limit) {
		if !now.Before(limit) {
			return nil, Errorf(EDENIED, "max_hold: %s has held %s since %s, with less than leases.cooldown (%s) between releasing and claiming again, and max_hold (%s) ended that hold at %s; let it rest for %s, or let someone else take it",
				req.Actor.Owner, res.ID, Time{holdSince}, FormatDuration(s.Config.Leases.Cooldown), FormatDuration(s.Config.Leases.MaxHold), Time{limit}, FormatDuration(s.Config.Leases.Cooldown))
		}
		return nil, Errorf(EDENIED, "max_hold: %s has held %s since %s (claimed again within leases.cooldown %s, so the hold goes on) and may hold it until %s; claim with --ttl %s or less",
			req.Actor.Owner, res.ID, Time{holdSince}, FormatDuration(s.Config.Leases.Cooldown), Time{limit}, FormatDuration(limit.Sub(now).Truncate(time.Second)))
	}
	token, err := tx.st.TokenNext(ctx)
	if err != nil {
		return nil, storeErr("take fencing token", err)
	}
	id, err := tx.st.LeaseInsert(ctx, store.LeaseGrant{Resource: res.ID, Owner: req.Actor.Owner, Domain: req.Actor.Domain, Token: token,
		Item: req.Item, Reason: req.Reason, CreatedAt: now, ExpiresAt: now.Add(req.ttl), HoldSince: holdSince})
	if err != nil {
		return nil, storeErr("grant lease", err)
	}
	// A grant is a boundary: what changed since the resource's previous
	// fingerprint, if no lease was live meanwhile, is a shadow edit, and is
	// recorded now whoever claims.
	if err := tx.scans.mark(ctx, tx, res.ID, boundaryClaim, id); err != nil {
		return nil, err
	}
	if ticket != 0 {
		if err := tx.st.WaiterDelete(ctx, ticket); err != nil {
			return nil, storeErr("leave lease queue", err)
		}
	}
	if err := tx.audit(ctx, req.Actor.Owner, "lease.grant", "resource:"+res.ID, map[string]any{
		"owner": req.Actor.Owner, "domain": req.Actor.Domain, "token": token, "item": req.Item, "reason": req.Reason,
		"ttl_ms": req.ttl.Milliseconds(), "expires_at": Time{now.Add(req.ttl)}, "hold_since": Time{holdSince}}); err != nil {
		return nil, err
	}
	return &ClaimResult{Lease: &Lease{ID: id, Resource: res.ID, Owner: req.Actor.Owner, Domain: req.Actor.Domain, Token: token, Item: req.Item,
		Reason: req.Reason, CreatedAt: Time{now}, ExpiresAt: Time{now.Add(req.ttl)}, State: LeaseActive, HoldSince: Time{holdSince}}}, nil
}

// holdSince is when owner's hold on resource began for max_hold: now, or
// the start of their previous hold if it ended less than cooldown ago.
// Without it, releasing and claiming again would restart the clock and
// max_hold would bound nothing.
func (tx *Tx) holdSince(ctx context.Context, resource, owner string, now time.Time, cooldown, maxHold time.Duration) (time.Time, error) {
	// A lease lives at most max_hold from its grant (every grant and
	// renewal is bounded by its hold's start + max_hold), so one that ended
	// within the cooldown was granted within cooldown + max_hold.
	since, ok, err := tx.st.LeaseHoldSince(ctx, resource, owner, now.Add(-cooldown), now.Add(-cooldown-maxHold))
	if err != nil {
		return time.Time{}, storeErr("read leases", err)
	}
	if !ok {
		return now, nil
	}
	return since, nil
}

// claimRefusal is every reason to refuse a claim that reading alone can
// find, given the resource's live lease (nil when free): held by another,
// waiters queued first, no handshake for another domain's resource, the
// change budget spent. A claim runs it twice: in a read transaction before
// it scans files or asks for the write lock (a claim that will lose never
// queues for the lock ahead of the holder's release), and again under the
// lock, where it decides.
func (s *Service) claimRefusal(ctx context.Context, tx *Tx, req ClaimRequest, res Resource, cur *Lease, ticket int64) error {
	now := tx.now
	if cur != nil {
		return &heldError{Errorf(ECONFLICT, "%s is held by %s (%s), token %d, until %s", res.ID, cur.Owner, cur.Domain, cur.Token, cur.ExpiresAt)}
	}
	ahead, err := tx.waitersAhead(ctx, res.ID, ticket)
	if err != nil {
		return err
	}
	if len(ahead) > 0 {
		return &heldError{Errorf(ECONFLICT, "%s is free but %d waiter(s) queued first (first: %s since %s); queue with --wait",
			res.ID, len(ahead), ahead[0].Owner, ahead[0].CreatedAt)}
	}
	if res.Domain != req.Actor.Domain {
		ok, err := tx.hasHandshake(ctx, req.Actor.Domain, res.Domain, res.ID, now.Add(-s.Config.Leases.HandshakeTTL))
		if err != nil {
			return err
		}
		if !ok {
			return Errorf(EDENIED, "%s belongs to %s; %s needs a handshake first (none sent to %s for %s within %s): %s",
				res.ID, res.Domain, req.Actor.Domain, res.Domain, res.ID, FormatDuration(s.Config.Leases.HandshakeTTL), HandshakeCommand(req.Actor, res, ""))
		}
	}
	dom, _ := s.Config.Domain(req.Actor.Domain)
	held, err := leasesFromRows(tx.st.LeasesLiveForDomain(ctx, req.Actor.Domain, now))
	if err != nil {
		return err
	}
	if len(held) >= dom.MaxLeases {
		var names []string
		for _, l := range held {
			names = append(names, fmt.Sprintf("%s by %s until %s", l.Resource, l.Owner, l.ExpiresAt))
		}
		return Errorf(EDENIED, "change budget: %s already holds %d of %d leases (%s); release one first",
			req.Actor.Domain, len(held), dom.MaxLeases, strings.Join(names, "; "))
	}
	return nil
}

// claimPrecheck is the read-only half of a claim: the refusals
// claimRefusal finds, plus an unknown item. A lease past its expiry counts
// as free here (the write ends it); the holder's own claim, a renewal, is
// left to the write.
func (s *Service) claimPrecheck(ctx context.Context, req ClaimRequest, ticket int64) error {
	res, ok := s.Config.Resource(req.Resource)
	if !ok {
		return unknownResource(s.Config, req.Resource)
	}
	return s.read(ctx, func(tx *Tx) error {
		if req.Item != "" {
			if exists, err := tx.itemExists(ctx, req.Item); err != nil {
				return err
			} else if !exists {
				return Errorf(ENOTFOUND, "--item %s: no such item", req.Item)
			}
		}
		cur, err := tx.activeLease(ctx, res.ID)
		if err != nil {
			return err
		}
		if cur != nil && !cur.liveAt(tx.now) {
			cur = nil
		}
		if cur != nil && cur.Owner == req.Actor.Owner {
			return nil
		}
		return s.claimRefusal(ctx, tx, req, res, cur, ticket)
	})
}

// heldError marks a refusal that waiting could cure: the resource is held,
// or others are queued first.
type heldError struct{ err *Error }

func (e *heldError) Error() string { return e.err.Error() }
func (e *heldError) Unwrap() error { return e.err }

// extend moves a held lease's expiry to now+ttl, within the hoarding guard.
func (s *Service) extend(ctx context.Context, tx *Tx, l *Lease, ttl time.Duration, actor string, reclaim bool) (*ClaimResult, error) {
	now := tx.now
	limit := l.HoldSince.Add(s.Config.Leases.MaxHold)
	want := now.Add(ttl)
	if want.After(limit) {
		return nil, Errorf(EDENIED, "max_hold: %s has been held since %s and may be held until %s (leases.max_hold %s); a %s extension would end at %s. Release it: after leases.cooldown (%s) it may be claimed again",
			l.Resource, l.HoldSince, Time{limit}, FormatDuration(s.Config.Leases.MaxHold), FormatDuration(ttl), Time{want}, FormatDuration(s.Config.Leases.Cooldown))
	}
	if reclaim && !want.After(l.ExpiresAt.Time) {
		return &ClaimResult{Lease: l, Renewed: true}, nil
	}
	extended, err := tx.st.LeaseExtendIfActive(ctx, l.ID, want)
	if err != nil {
		return nil, storeErr("renew lease", err)
	}
	if !extended {
		return nil, Errorf(ECONFLICT, "renew %s: the row was not in the state expected (0 rows changed); try again", l.Resource)
	}
	if err := tx.audit(ctx, actor, "lease.renew", "resource:"+l.Resource, map[string]any{
		"owner": l.Owner, "token": l.Token, "previous_expires_at": l.ExpiresAt, "expires_at": Time{want}, "reclaim": reclaim}); err != nil {
		return nil, err
	}
	l.ExpiresAt = Time{want}
	return &ClaimResult{Lease: l, Renewed: true}, nil
}

func (tx *Tx) hasHandshake(ctx context.Context, from, to, resource string, since time.Time) (bool, error) {
	ok, err := tx.st.ClaimHandshakeSince(ctx, from, to, resource, since)
	return ok, storeErr("read handshakes", err)
}

// Renew moves the expiry of the caller's lease to now+ttl.
func (s *Service) Renew(ctx context.Context, resource string, actor Actor, ttlFlag *time.Duration) (*Lease, error) {
	ttl, err := s.checkTTL(ttlFlag)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(resource) == "" {
		return nil, Errorf(EINVALID, "a resource id is required (see oxygen resources)")
	}
	if _, ok := s.Config.Resource(resource); !ok {
		return nil, unknownResource(s.Config, resource)
	}
	var out *Lease
	err = s.write(ctx, func(tx *Tx) error {
		l, err := tx.heldBy(ctx, resource, actor.Owner, "renew")
		if err != nil {
			return err
		}
		res, err := s.extend(ctx, tx, l, ttl, actor.Owner, false)
		if err != nil {
			return err
		}
		out = res.Lease
		return nil
	})
	return out, err
}

// KeepLease extends the lease with token on resource to at least now+ttl,
// for a wrapper that holds it while a command runs (`oxygen run`). It never
// shortens a lease, so one the owner held before the wrapper started keeps
// its own expiry, and it fails with ECONFLICT, saying what became of the
// token, once the token is no longer the live lease. Unlike Renew it follows
// the token, not the owner: it never extends a later lease of the same owner.
func (s *Service) KeepLease(ctx context.Context, resource string, token int64, ttl time.Duration) (*Lease, error) {
	if _, err := s.checkTTL(&ttl); err != nil {
		return nil, err
	}
	var out *Lease
	err := s.write(ctx, func(tx *Tx) error {
		l, err := tx.liveToken(ctx, resource, token)
		if err == nil && tx.now.Add(ttl).After(l.ExpiresAt.Time) {
			_, err = s.extend(ctx, tx, l, ttl, l.Owner, false) // moves l's expiry
		}
		out = l
		return err
	})
	return out, err
}

// CheckLease succeeds while token is the live lease on resource. It is
// KeepLease's read-only twin, cheap enough to call every second. The lease
// is returned as it stands even when the error says it has ended.
func (s *Service) CheckLease(ctx context.Context, resource string, token int64) (*Lease, error) {
	var out *Lease
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.liveToken(ctx, resource, token)
		return err
	})
	return out, err
}

// liveToken returns the lease with token on resource, with an error saying
// how it ended unless it is live.
func (tx *Tx) liveToken(ctx context.Context, resource string, token int64) (*Lease, error) {
	row, ok, err := tx.st.LeaseForResourceToken(ctx, resource, token)
	if err != nil {
		return nil, storeErr("read lease", err)
	}
	if !ok {
		return nil, Errorf(ECONFLICT, "%s has no lease with token %d", resource, token)
	}
	l := leaseFromRow(row).effective(tx.now)
	switch l.State {
	case LeaseActive:
		return l, nil
	case LeaseRevoked:
		return l, Errorf(ECONFLICT, "token %d on %s was revoked by %s at %s: %s", token, resource, l.EndedBy, l.EndedAt, l.EndReason)
	case LeaseExpired:
		return l, Errorf(ECONFLICT, "token %d on %s expired at %s", token, resource, l.EndedAt)
	default:
		return l, Errorf(ECONFLICT, "token %d on %s was %s by %s at %s", token, resource, l.State, l.EndedBy, l.EndedAt)
	}
}

// heldBy returns the live lease on resource if owner holds it, and explains
// otherwise.
func (tx *Tx) heldBy(ctx context.Context, resource, owner, verb string) (*Lease, error) {
	l, err := tx.activeLease(ctx, resource)
	if err != nil {
		return nil, err
	}
	switch {
	case l == nil:
		return nil, Errorf(ECONFLICT, "%s is not held by anyone; nothing to %s", resource, verb)
	case !l.liveAt(tx.now) && l.Owner == owner:
		return nil, Errorf(ECONFLICT, "your lease on %s (token %d) expired at %s; claim it again", resource, l.Token, l.ExpiresAt)
	case !l.liveAt(tx.now):
		return nil, Errorf(ECONFLICT, "%s is not held by anyone (the last lease expired at %s); nothing to %s", resource, l.ExpiresAt, verb)
	case l.Owner != owner:
		return nil, Errorf(ECONFLICT, "%s is held by %s (%s), token %d, until %s; only the holder may %s it", resource, l.Owner, l.Domain, l.Token, l.ExpiresAt, verb)
	}
	return l, nil
}

// ReleaseRequest ends a lease. Force releases another owner's lease and
// needs a reason. A non-zero Token releases only that lease, so a wrapper
// whose lease was revoked cannot end a later one of the same owner.
type ReleaseRequest struct {
	Resource string
	Actor    Actor
	Force    bool
	Reason   string
	Token    int64
}

// Release ends the caller's lease, or with Force revokes someone else's.
func (s *Service) Release(ctx context.Context, req ReleaseRequest) (*Lease, error) {
	if req.Force && strings.TrimSpace(req.Reason) == "" {
		return nil, Errorf(EINVALID, "--force needs --reason: a forced release is explained to the holder")
	}
	if err := checkLine("--reason", req.Reason); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Resource) == "" {
		return nil, Errorf(EINVALID, "a resource id is required (see oxygen resources)")
	}
	if _, ok := s.Config.Resource(req.Resource); !ok {
		return nil, unknownResource(s.Config, req.Resource)
	}
	scans, err := s.scanLeases(req.Actor.Owner, req.Resource)
	if err != nil {
		return nil, err
	}
	var out *Lease
	err = s.writeScanned(ctx, scans, func(tx *Tx) error {
		l, err := tx.activeLease(ctx, req.Resource)
		if err != nil {
			return err
		}
		if req.Force && l != nil && l.liveAt(tx.now) && l.Owner != req.Actor.Owner {
			out = l
			return s.revoke(ctx, tx, l, req)
		}
		if req.Token != 0 {
			if _, err := tx.liveToken(ctx, req.Resource, req.Token); err != nil {
				return err
			}
		}
		l, err = tx.heldBy(ctx, req.Resource, req.Actor.Owner, "release")
		if err != nil {
			return err
		}
		out = l
		return tx.releaseLease(ctx, l, req.Actor.Owner, req.Reason)
	})
	return out, err
}

// releaseLease ends a lease its holder gives up, with its audit event.
func (tx *Tx) releaseLease(ctx context.Context, l *Lease, by, reason string) error {
	if reason == "" {
		reason = "released"
	}
	if err := tx.endLease(ctx, l, LeaseReleased, reason, by, tx.now); err != nil {
		return err
	}
	return tx.audit(ctx, by, "lease.release", "resource:"+l.Resource, map[string]any{
		"owner": l.Owner, "token": l.Token, "held_ms": tx.now.Sub(l.CreatedAt.Time).Milliseconds(), "reason": reason})
}

func (s *Service) revoke(ctx context.Context, tx *Tx, l *Lease, req ReleaseRequest) error {
	if err := tx.endLease(ctx, l, LeaseRevoked, req.Reason, req.Actor.Owner, tx.now); err != nil {
		return err
	}
	if err := tx.audit(ctx, req.Actor.Owner, "lease.revoke", "resource:"+l.Resource, map[string]any{
		"previous_holder": l.Owner, "previous_domain": l.Domain, "token": l.Token, "reason": req.Reason, "by_domain": req.Actor.Domain}); err != nil {
		return err
	}
	_, err := tx.emit(ctx, s.Config, s.Root, SignalSpec{Kind: KindMissive, Topic: "lease-revoked", From: req.Actor.Owner, FromDomain: req.Actor.Domain,
		To: l.Domain, Resource: l.Resource, Item: l.Item,
		Body: fmt.Sprintf("%s (%s) force-released %s's lease on %s (token %d): %s", req.Actor.Owner, req.Actor.Domain, l.Owner, l.Resource, l.Token, req.Reason)})
	return err
}

// Expire marks every lease past its expiry as expired. Correctness never
// depends on it: every command already treats such leases as free.
// The resources of leases already due are fingerprinted first, outside the
// lock; the shadow edits their expiry reveals are returned too.
func (s *Service) Expire(ctx context.Context) ([]*Lease, []*ShadowEdit, error) {
	var due []string
	err := s.read(ctx, func(tx *Tx) error {
		ls, err := tx.unswept(ctx)
		for _, l := range ls {
			due = append(due, l.Resource)
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	scans, err := s.scanLeases(SystemActor.Owner, due...)
	if err != nil {
		return nil, nil, err
	}
	var out []*Lease
	err = s.writeScanned(ctx, scans, func(tx *Tx) error {
		var err error
		out, err = s.expireAll(ctx, tx)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, scans.found, nil
}

// unswept lists the leases past their expiry that no command has ended.
func (tx *Tx) unswept(ctx context.Context) ([]*Lease, error) {
	return leasesFromRows(tx.st.LeasesUnswept(ctx, tx.now))
}

func (s *Service) expireAll(ctx context.Context, tx *Tx) ([]*Lease, error) {
	due, err := tx.unswept(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range due {
		if err := tx.expireLease(ctx, s.Config, s.Root, l); err != nil {
			return nil, err
		}
	}
	return due, nil
}

// Budget is one domain's change-budget use.
type Budget struct {
	Domain string `json:"domain"`
	Active int    `json:"active"`
	Max    int    `json:"max"`
}

// LeaseStatus is what `oxygen status` shows.
type LeaseStatus struct {
	Now     Time     `json:"now"`
	Leases  []*Lease `json:"leases"`
	Budgets []Budget `json:"budgets"`
}

// LeaseFilter selects leases for Status.
type LeaseFilter struct {
	Domain, Owner, Resource string
	All                     bool // include released, expired and revoked
}

// Status lists live leases (or all with f.All) and each domain's budget.
func (s *Service) Status(ctx context.Context, f LeaseFilter) (*LeaseStatus, error) {
	if f.Domain != "" {
		if _, ok := s.Config.Domain(f.Domain); !ok {
			return nil, Errorf(EINVALID, "--domain %q is not a domain (domains: %s)", f.Domain, strings.Join(s.Config.DomainNames(), ", "))
		}
	}
	if f.Resource != "" {
		if _, ok := s.Config.Resource(f.Resource); !ok {
			return nil, unknownResource(s.Config, f.Resource)
		}
	}
	if f.Owner != "" && !validOwner(f.Owner) {
		return nil, Errorf(EINVALID, "--owner %q: use letters, digits and . _ @ + - (at most 64)", f.Owner)
	}
	st := &LeaseStatus{Leases: []*Lease{}}
	err := s.read(ctx, func(tx *Tx) error {
		st.Now = Time{tx.now}
		live, err := leasesFromRows(tx.st.LeasesLive(ctx, tx.now))
		if err != nil {
			return err
		}
		active := map[string]int{}
		for _, l := range live {
			active[l.Domain]++
		}
		shown := live
		if f.All {
			// History is every lease; only --all pays for reading it.
			if shown, err = leasesFromRows(tx.st.LeasesAll(ctx)); err != nil {
				return err
			}
		}
		for _, l := range shown {
			if (f.Domain != "" && l.Domain != f.Domain) || (f.Owner != "" && l.Owner != f.Owner) || (f.Resource != "" && l.Resource != f.Resource) {
				continue
			}
			st.Leases = append(st.Leases, l.effective(tx.now))
		}
		for _, d := range s.Config.Domains {
			if f.Domain == "" || f.Domain == d.Name {
				st.Budgets = append(st.Budgets, Budget{Domain: d.Name, Active: active[d.Name], Max: d.MaxLeases})
			}
		}
		return nil
	})
	return st, err
}

// Holder is who holds a resource now.
type Holder struct {
	Owner     string `json:"owner"`
	Domain    string `json:"domain"`
	Token     int64  `json:"token"`
	ExpiresAt Time   `json:"expires_at"`
}

// ResourceView is a resource with its current holder.
type ResourceView struct {
	ID          string   `json:"id"`
	Domain      string   `json:"domain"`
	Description string   `json:"description"`
	Paths       []string `json:"paths"`
	Holder      *Holder  `json:"holder"`
}

// Resources lists every configured resource with its holder.
func (s *Service) Resources(ctx context.Context) ([]ResourceView, error) {
	holders, err := s.holders(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ResourceView, 0, len(s.Config.Resources))
	for _, r := range s.Config.Resources {
		out = append(out, ResourceView{ID: r.ID, Domain: r.Domain, Description: r.Description, Paths: r.Paths, Holder: holders[r.ID]})
	}
	return out, nil
}

func (s *Service) holders(ctx context.Context) (map[string]*Holder, error) {
	out := map[string]*Holder{}
	err := s.read(ctx, func(tx *Tx) error {
		live, err := tx.liveLeases(ctx)
		for r, l := range live {
			out[r] = &Holder{Owner: l.Owner, Domain: l.Domain, Token: l.Token, ExpiresAt: l.ExpiresAt}
		}
		return err
	})
	return out, err
}

// PathOwnership is which resources a path falls under; for a directory,
// the resources that cover it or any file below it.
type PathOwnership struct {
	Path      string         `json:"path"`
	Directory bool           `json:"directory,omitempty"`
	Resources []ResourceView `json:"resources"`
}

// CleanPaths turns command-line paths (relative to the working directory,
// or absolute) into root-relative files: a directory stands for every file
// below it.
func (s *Service) CleanPaths(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		rel, dir, err := cleanUserPath(s.Worktree, p)
		if err != nil {
			return nil, err
		}
		if !dir {
			files = append(files, rel)
			continue
		}
		below, err := s.filesBelow(rel)
		if err != nil {
			return nil, err
		}
		files = append(files, below...)
	}
	return files, nil
}

// Which maps paths to the resources covering them and their holders.
func (s *Service) Which(ctx context.Context, paths []string) ([]PathOwnership, error) {
	type target struct {
		rel    string
		dir    bool
		covers func(Resource) bool
	}
	targets := make([]target, 0, len(paths))
	for _, p := range paths {
		rel, dir, err := cleanUserPath(s.Worktree, p)
		if err != nil {
			return nil, err
		}
		t := target{rel: rel, dir: dir, covers: func(r Resource) bool { return r.Covers(rel) }}
		if dir {
			files, err := s.filesBelow(rel)
			if err != nil {
				return nil, err
			}
			t.covers = func(r Resource) bool {
				return r.CoversDir(rel) || slices.ContainsFunc(files, r.Covers)
			}
		}
		targets = append(targets, t)
	}
	holders, err := s.holders(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]PathOwnership, 0, len(targets))
	for _, t := range targets {
		po := PathOwnership{Path: t.rel, Directory: t.dir, Resources: []ResourceView{}}
		for _, r := range s.Config.Resources {
			if t.covers(r) {
				po.Resources = append(po.Resources, ResourceView{ID: r.ID, Domain: r.Domain, Description: r.Description, Paths: r.Paths, Holder: holders[r.ID]})
			}
		}
		out = append(out, po)
	}
	return out, nil
}

// VerifyToken succeeds only if token is the live lease on resource: scripts
// call it right before a guarded write (a fencing check).
func (s *Service) VerifyToken(ctx context.Context, resource string, token int64) (*Lease, error) {
	if strings.TrimSpace(resource) == "" {
		return nil, Errorf(EINVALID, "a resource id is required (see oxygen resources)")
	}
	if token < 1 {
		return nil, Errorf(EINVALID, "--token %d: fencing tokens start at 1", token)
	}
	if _, ok := s.Config.Resource(resource); !ok {
		return nil, unknownResource(s.Config, resource)
	}
	var out *Lease
	err := s.read(ctx, func(tx *Tx) error {
		l, err := tx.activeLease(ctx, resource)
		if err != nil {
			return err
		}
		switch {
		case l == nil || !l.liveAt(tx.now):
			return Errorf(ECONFLICT, "token %d is not current: %s has no active lease", token, resource)
		case l.Token != token:
			return Errorf(ECONFLICT, "token %d is not current: the active lease on %s has token %d (held by %s)", token, resource, l.Token, l.Owner)
		}
		out = l
		return nil
	})
	return out, err
}

// unknownResource is the "not found" error for a resource id, naming the
// closest known ids, or, when the id is a path someone typed in its place,
// the resource that covers it and the command that tells.
func unknownResource(cfg *Config, id string) error {
	if err := pathNotResource(cfg, id); err != nil {
		return err
	}
	type cand struct {
		id   string
		dist int
	}
	var cands []cand
	for _, r := range cfg.Resources {
		d := levenshtein(strings.ToLower(id), r.ID)
		if strings.Contains(r.ID, strings.ToLower(id)) || strings.Contains(strings.ToLower(id), r.ID) {
			d = min(d, 1)
		}
		cands = append(cands, cand{r.ID, d})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].dist < cands[j].dist })
	var near []string
	for _, c := range cands {
		if c.dist <= max(2, len(id)/3) && len(near) < 3 {
			near = append(near, c.id)
		}
	}
	if len(near) == 0 {
		var all []string
		for _, r := range cfg.Resources {
			all = append(all, r.ID)
		}
		return Errorf(ENOTFOUND, "no resource %q (resources: %s)", id, strings.Join(all, ", "))
	}
	return Errorf(ENOTFOUND, "no resource %q; did you mean %s?", id, strings.Join(near, ", "))
}

// pathNotResource explains an id that is a path: it holds a slash, or it
// falls under a resource's globs. The path is taken as root-relative; `oxygen
// which` resolves it from the working directory exactly.
func pathNotResource(cfg *Config, id string) error {
	var covering []string
	if clean, err := pathspec.CleanRel(id); err == nil {
		for _, r := range cfg.ResourcesFor(clean) {
			covering = append(covering, r.ID)
		}
	}
	switch {
	case len(covering) > 0:
		return Errorf(ENOTFOUND, "no resource %q: that is a path, not a resource id; it falls under %s (oxygen which %s shows who holds it)", id, strings.Join(covering, ", "), id)
	case strings.ContainsAny(id, `/\`):
		return Errorf(ENOTFOUND, "no resource %q: that is a path, not a resource id (oxygen which %s tells which resource covers it)", id, id)
	}
	return nil
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
