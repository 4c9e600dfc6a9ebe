package store

import (
	"context"
	"time"
)

// LeaseState is where a lease is in its life: active until it is released,
// expires or is revoked, and final after.
type LeaseState string

// Lease states, as the leases table stores them.
const (
	LeaseActive   LeaseState = "active"
	LeaseReleased LeaseState = "released"
	LeaseExpired  LeaseState = "expired"
	LeaseRevoked  LeaseState = "revoked"
)

// Lease is one row of the leases table. Item, EndReason and EndedBy are ""
// and EndedAt the zero time while unset; HoldSince is CreatedAt for a lease
// written before holds were tracked.
type Lease struct {
	ID        int64
	Resource  string
	Owner     string
	Domain    string
	Token     int64
	Item      string
	Reason    string
	CreatedAt time.Time
	ExpiresAt time.Time
	EndedAt   time.Time
	EndReason string
	EndedBy   string
	State     LeaseState
	HoldSince time.Time
}

// LeaseGrant is a new active lease; Item "" is none.
type LeaseGrant struct {
	Resource  string
	Owner     string
	Domain    string
	Token     int64
	Item      string
	Reason    string
	CreatedAt time.Time
	ExpiresAt time.Time
	HoldSince time.Time
}

// Waiter is one ticket in a resource's queue for a lease.
type Waiter struct {
	ID          int64
	Resource    string
	Owner       string
	Domain      string
	PID         int
	Host        string
	CreatedAt   time.Time
	HeartbeatAt time.Time
}

// Fingerprint is one recorded hash of a resource's files in one worktree
// ("" is the main one). LeaseID 0 is none; ScannedAtNS is the host's wall
// clock, in nanoseconds, when the scan that produced it began.
type Fingerprint struct {
	Resource    string
	Worktree    string
	Manifest    string
	Files       int
	TakenAt     time.Time
	Reason      string
	LeaseID     int64
	ScannedAtNS int64
}

// LeasesOps are the operations on leases, lease waiters, the token counter, fingerprints and lease attestations.
type LeasesOps interface {
	// LeaseActiveForResource is the resource's active lease, which may be
	// past its expiry; ok is false when there is none.
	LeaseActiveForResource(ctx context.Context, resource string) (l Lease, ok bool, err error)
	// LeaseForResourceToken is the lease with token on resource, in any
	// state; ok is false when there is none.
	LeaseForResourceToken(ctx context.Context, resource string, token int64) (l Lease, ok bool, err error)
	// LeaseForToken is the lease with token, in any state; ok is false when
	// there is none.
	LeaseForToken(ctx context.Context, token int64) (l Lease, ok bool, err error)
	// LeasesAll is every lease ever granted, oldest first.
	LeasesAll(ctx context.Context) ([]Lease, error)
	// LeasesActive is every active lease, expired or not, in no set order.
	LeasesActive(ctx context.Context) ([]Lease, error)
	// LeasesLive is the active leases unexpired at now, oldest first.
	LeasesLive(ctx context.Context, now time.Time) ([]Lease, error)
	// LeasesLiveByExpiry is the active leases unexpired at now, soonest to
	// expire first.
	LeasesLiveByExpiry(ctx context.Context, now time.Time) ([]Lease, error)
	// LeasesLiveByResource is the active leases unexpired at now, by
	// resource id.
	LeasesLiveByResource(ctx context.Context, now time.Time) ([]Lease, error)
	// LeasesLiveForDomain is domain's active leases unexpired at now, in
	// the order they were granted.
	LeasesLiveForDomain(ctx context.Context, domain string, now time.Time) ([]Lease, error)
	// LeasesLiveForItemOwner is owner's active leases for item unexpired at
	// now, in no set order.
	LeasesLiveForItemOwner(ctx context.Context, item, owner string, now time.Time) ([]Lease, error)
	// LeasesUnswept is the active leases whose expiry is at or before now,
	// soonest expired first: due to be marked expired.
	LeasesUnswept(ctx context.Context, now time.Time) ([]Lease, error)
	// LeasesExpiredSince is the leases that expired after since, whether
	// swept or still active past their expiry at now, by expiry.
	LeasesExpiredSince(ctx context.Context, now, since time.Time) ([]Lease, error)
	// LeasesRevokedSince is the leases revoked after since, by end time.
	LeasesRevokedSince(ctx context.Context, since time.Time) ([]Lease, error)
	// LeasesForItem is every lease taken for item, oldest first.
	LeasesForItem(ctx context.Context, item string) ([]Lease, error)
	// LeasesForItemNewestFirst is every lease taken for item, newest first.
	LeasesForItemNewestFirst(ctx context.Context, item string) ([]Lease, error)
	// LeasesForResourceSince is the leases on resource granted at or after
	// since, in the order they were granted.
	LeasesForResourceSince(ctx context.Context, resource string, since time.Time) ([]Lease, error)
	// LeaseHoldSince is when the newest ended lease of owner on resource
	// that was still live after endedAfter began its hold; ok is false when
	// there is none, so a new hold begins. Only leases granted at or after
	// grantedFrom are looked at: the caller knows no older one can qualify,
	// and the bound keeps the read to recent history on the resource's
	// index instead of all of it.
	LeaseHoldSince(ctx context.Context, resource, owner string, endedAfter, grantedFrom time.Time) (since time.Time, ok bool, err error)
	// LeaseLiveBetween reports whether a lease on resource was granted
	// before to and had not ended (or expired) by from.
	LeaseLiveBetween(ctx context.Context, resource string, from, to time.Time) (bool, error)
	// TokenNext takes the next fencing token from the lease_token counter.
	TokenNext(ctx context.Context) (int64, error)
	// LeaseInsert records a granted lease, active, and returns its id.
	LeaseInsert(ctx context.Context, g LeaseGrant) (int64, error)
	// LeaseExtendIfActive moves an active lease's expiry; false when the
	// lease is no longer active.
	LeaseExtendIfActive(ctx context.Context, id int64, expiresAt time.Time) (bool, error)
	// LeaseEndIfActive moves an active lease to a final state; false when
	// it was no longer active.
	LeaseEndIfActive(ctx context.Context, id int64, state LeaseState, endedAt time.Time, reason, by string) (bool, error)
	// ClaimHandshakeSince reports whether fromDomain sent toTarget a
	// handshake signal for resource at or after since.
	ClaimHandshakeSince(ctx context.Context, fromDomain, toTarget, resource string, since time.Time) (bool, error)

	// WaiterInsert queues a ticket and returns its id.
	WaiterInsert(ctx context.Context, w Waiter) (int64, error)
	// WaiterDelete removes a ticket; removing one already gone is no error.
	WaiterDelete(ctx context.Context, id int64) error
	// WaiterHeartbeatIf records a ticket's heartbeat; false when the ticket
	// is gone.
	WaiterHeartbeatIf(ctx context.Context, id int64, at time.Time) (bool, error)
	// WaitersForResource is every ticket for resource, live or not, oldest
	// first.
	WaitersForResource(ctx context.Context, resource string) ([]Waiter, error)
	// WaitersAll is every ticket, live or not, oldest first.
	WaitersAll(ctx context.Context) ([]Waiter, error)

	// FingerprintLatest is the newest fingerprint of resource in worktree;
	// ok is false when there is none.
	FingerprintLatest(ctx context.Context, resource, worktree string) (f Fingerprint, ok bool, err error)
	// FingerprintInsert records a fingerprint.
	FingerprintInsert(ctx context.Context, f Fingerprint) error

	// AttestationInsertIfNew records that the lease with token committed
	// blob at path; false when that was already attested.
	AttestationInsertIfNew(ctx context.Context, token int64, path, blob string, at time.Time) (bool, error)
	// AttestationLatest is the token and owner of the newest lease on
	// resource under which blob at path was attested; ok is false when none.
	AttestationLatest(ctx context.Context, resource, path, blob string) (token int64, owner string, ok bool, err error)
	// AttestationProof reports whether the store granted the lease with
	// token on resource to owner, and whether it attested blob at path under
	// it while it was live.
	AttestationProof(ctx context.Context, token int64, resource, owner, path, blob string) (granted, attested bool, err error)

	// OverviewFirstSignalSince is the id of the oldest signal created at or after
	// from, reading newest first and stopping at the first created before
	// stop (stop <= from: the slack for a clock that stepped back); one
	// past the newest when none qualifies, 1 when there are no signals.
	OverviewFirstSignalSince(ctx context.Context, from, stop time.Time) (int64, error)
}
