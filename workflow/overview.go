package workflow

import (
	"context"
	"time"
)

// UnreadWindow is how far back Overview counts each domain's unacknowledged
// signals: a week's backlog shows, and a long history is never read whole.
const UnreadWindow = 7 * 24 * time.Hour

// Overview is the repository at a glance: what `orchestrate status` prints
// and what the dashboard's top panels show. It is read in one transaction,
// so every figure in it is from the same instant.
type Overview struct {
	Now        Time             `json:"now"`
	Domains    []DomainOverview `json:"domains"`
	InProgress []ItemInProgress `json:"in_progress"`
	Leases     []LeaseOverview  `json:"leases"`
	Council    []*CouncilCall   `json:"council"` // awaiting approval
	Health     *Health          `json:"health"`
}

// DomainOverview is one domain's two budgets and its recent mail.
type DomainOverview struct {
	Domain        string `json:"domain"`
	InProgress    int    `json:"in_progress"`
	MaxInProgress int    `json:"max_in_progress"`
	Leases        int    `json:"leases"`
	MaxLeases     int    `json:"max_leases"`
	// Unread counts the domain's inbox within UnreadWindow: what waits for
	// it that nobody in it has acknowledged (orchestrate signal inbox
	// --domain D lists them all).
	Unread int `json:"unread_7d"`
}

// LeaseOverview is a live lease and the queue behind it.
type LeaseOverview struct {
	*Lease
	Waiters []Waiter `json:"waiters"`
}

// Overview reads budgets, work in progress, live leases with their queues,
// pending council calls and health. Health is the verdict `orchestrate
// health` gives, made from the latest integrity results on record as
// capsules show it: `orchestrate health` is the one that re-hashes
// everything and records what it finds.
func (s *Service) Overview(ctx context.Context) (*Overview, error) {
	policyDrift := PolicyDrift(s.Layout, s.Config)
	var ov *Overview
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		ov, err = s.overview(ctx, tx, policyDrift)
		return err
	})
	return ov, err
}

// overview reads the overview in the caller's transaction; policyDrift is
// read from files beforehand.
func (s *Service) overview(ctx context.Context, tx *Tx, policyDrift string) (*Overview, error) {
	ov := &Overview{Now: Time{tx.now}, Domains: []DomainOverview{}, Leases: []LeaseOverview{}}
	var err error
	if ov.InProgress, err = tx.itemsInProgress(ctx); err != nil {
		return nil, err
	}
	live, err := leasesFromRows(tx.st.LeasesLiveByExpiry(ctx, tx.now))
	if err != nil {
		return nil, err
	}
	queues, err := tx.liveWaiters(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range live {
		q := queues[l.Resource]
		if q == nil {
			q = []Waiter{}
		}
		ov.Leases = append(ov.Leases, LeaseOverview{Lease: l, Waiters: q})
	}
	firstID, err := tx.firstSignalSince(ctx, tx.now.Add(-UnreadWindow))
	if err != nil {
		return nil, err
	}
	for _, d := range s.Config.Domains {
		unread, err := s.inbox(ctx, tx, InboxRequest{Domain: d.Name, sinceID: firstID})
		if err != nil {
			return nil, err
		}
		do := DomainOverview{Domain: d.Name, MaxInProgress: d.MaxInProgress, MaxLeases: d.MaxLeases, Unread: len(unread)}
		for _, it := range ov.InProgress {
			if it.Domain == d.Name {
				do.InProgress++
			}
		}
		for _, l := range live {
			if l.Domain == d.Name {
				do.Leases++
			}
		}
		ov.Domains = append(ov.Domains, do)
	}
	if ov.Council, err = tx.listCouncil(ctx, true, s.Config.Council.TTL); err != nil {
		return nil, err
	}
	if ov.Health, err = s.healthVerdict(ctx, tx, policyDrift); err != nil {
		return nil, err
	}
	return ov, nil
}

// firstSignalSince is the id of the oldest signal sent since then (one past
// the newest when none was). Signals are numbered in commit order, so the
// store reads them newest first and stops soon after the first one older
// than since; the slack covers a clock that stepped back a little between
// two writers. A table of every signal ever sent is never scanned for a week.
func (tx *Tx) firstSignalSince(ctx context.Context, since time.Time) (int64, error) {
	const clockSlack = 5 * time.Minute
	id, err := tx.st.OverviewFirstSignalSince(ctx, since, since.Add(-clockSlack))
	return id, storeErr("read signals", err)
}
