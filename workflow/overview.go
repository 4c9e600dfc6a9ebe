package workflow

import (
	"context"
	"time"
)

// SignalWindow is how far back Overview counts the signals addressed to each
// domain.
const SignalWindow = 24 * time.Hour

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
	// Signals counts what was addressed to the domain within SignalWindow:
	// sent to it by name, or to all by another domain.
	Signals int `json:"signals_24h"`
}

// LeaseOverview is a live lease and the queue behind it.
type LeaseOverview struct {
	*Lease
	Waiters []Waiter `json:"waiters"`
}

// Overview reads budgets, work in progress, live leases with their queues,
// pending council calls and health. Health here is the cheap kind (the
// attention checks and the latest integrity results on record, as capsules
// show it): `orchestrate health` is the one that re-hashes everything.
func (s *Service) Overview(ctx context.Context) (*Overview, error) {
	var ov *Overview
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		ov, err = s.overview(ctx, tx)
		return err
	})
	return ov, err
}

func (s *Service) overview(ctx context.Context, tx *Tx) (*Overview, error) {
	ov := &Overview{Now: Time{tx.now}, Domains: []DomainOverview{}, Leases: []LeaseOverview{}}
	var err error
	if ov.InProgress, err = tx.itemsInProgress(ctx); err != nil {
		return nil, err
	}
	live, err := tx.leases(ctx, `state = 'active' AND expires_at > ? ORDER BY expires_at, id`, ms(tx.now))
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
	mail, err := tx.signalsAddressed(ctx, tx.now.Add(-SignalWindow))
	if err != nil {
		return nil, err
	}
	for _, d := range s.Config.Domains {
		do := DomainOverview{Domain: d.Name, MaxInProgress: d.MaxInProgress, MaxLeases: d.MaxLeases, Signals: mail.to(d.Name)}
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
	if ov.Health, err = s.quickHealth(ctx, tx); err != nil {
		return nil, err
	}
	return ov, nil
}

// mailCount is what signalsAddressed found: signals sent to each domain by
// name, and broadcasts by sender domain.
type mailCount struct {
	byName, toAllFrom map[string]int
	toAll             int
}

// to is how many signals reached domain: its own, plus every broadcast but
// the ones it sent.
func (m mailCount) to(domain string) int {
	return m.byName[domain] + m.toAll - m.toAllFrom[domain]
}

// signalsAddressed counts the signals sent since then, by recipient. Signals
// are numbered in commit order, so it reads them newest first and stops
// soon after the first one older than since: the slack covers a clock that
// stepped back a little between two writers. A table of every signal ever
// sent is never scanned for a day's worth.
func (tx *Tx) signalsAddressed(ctx context.Context, since time.Time) (mailCount, error) {
	const clockSlack = 5 * time.Minute
	m := mailCount{byName: map[string]int{}, toAllFrom: map[string]int{}}
	rows, err := tx.query(ctx, `SELECT from_domain, to_target, created_at FROM signals ORDER BY id DESC`)
	if err != nil {
		return m, err
	}
	defer rows.Close()
	from, stop := ms(since), ms(since.Add(-clockSlack))
	for rows.Next() {
		var sender, to string
		var at int64
		if err := rows.Scan(&sender, &to, &at); err != nil {
			return m, storeErr("read signals", err)
		}
		if at < from {
			if at < stop {
				break
			}
			continue
		}
		if to == ToAll {
			m.toAllFrom[sender]++
			m.toAll++
		} else {
			m.byName[to]++
		}
	}
	return m, rows.Err()
}
