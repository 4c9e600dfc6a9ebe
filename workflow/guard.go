package workflow

import (
	"context"
	"fmt"
	"time"
)

// The guard: every changed path that falls under a resource must be covered
// by a lease. For a commit about to be made (staged, or paths named on the
// command line) the current owner must hold a live lease; for commits already
// made (a range in CI) some lease must have been active at the commit's
// committer time.

// Violation is a changed path not covered by the lease it needs.
type Violation struct {
	Path     string `json:"path"`
	Resource string `json:"resource"`
	Domain   string `json:"domain"`
	Holder   string `json:"holder"` // who holds it now, or "" for nobody
	Commit   string `json:"commit,omitempty"`
	Command  string `json:"command"`
}

// GuardResult is what a check found.
type GuardResult struct {
	Checked    int         `json:"checked"`
	Violations []Violation `json:"violations"`
	Bypassed   bool        `json:"bypassed"`
}

// CheckPaths checks changed paths against the actor's live leases.
func (s *Service) CheckPaths(ctx context.Context, actor Actor, paths []string) (*GuardResult, error) {
	res := &GuardResult{Violations: []Violation{}}
	holders, err := s.holders(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		res.Checked++
		for _, r := range s.Config.ResourcesFor(p) {
			h := holders[r.ID]
			if h != nil && h.Owner == actor.Owner {
				continue
			}
			v := Violation{Path: p, Resource: r.ID, Domain: r.Domain,
				Command: fmt.Sprintf("oxygen claim %s --owner %s", r.ID, actor.Owner)}
			if h != nil {
				v.Holder = fmt.Sprintf("%s (%s), token %d, until %s", h.Owner, h.Domain, h.Token, h.ExpiresAt)
			}
			res.Violations = append(res.Violations, v)
		}
	}
	return res, nil
}

// CheckCommits checks each commit's paths against the leases active at its
// committer time. Commit times have whole seconds, so a lease active at any
// moment of that second covers the commit.
func (s *Service) CheckCommits(ctx context.Context, commits []Commit) (*GuardResult, error) {
	res := &GuardResult{Violations: []Violation{}}
	err := s.read(ctx, func(tx *Tx) error {
		for _, c := range commits {
			from, to := c.Committed, c.Committed.Add(time.Second)
			for _, p := range c.Paths {
				res.Checked++
				for _, r := range s.Config.ResourcesFor(p) {
					var n int
					err := tx.queryRow(ctx, `SELECT count(*) FROM leases WHERE resource = ? AND created_at < ? AND COALESCE(ended_at, expires_at) > ?`,
						r.ID, ms(to), ms(from)).Scan(&n)
					if err != nil {
						return storeErr("read leases", err)
					}
					if n > 0 {
						continue
					}
					res.Violations = append(res.Violations, Violation{Path: p, Resource: r.ID, Domain: r.Domain, Commit: c.Hash,
						Command: fmt.Sprintf("claim it before committing: oxygen claim %s (commit %s, %s)", r.ID, shortHash(c.Hash), Time{c.Committed})})
				}
			}
		}
		return nil
	})
	return res, err
}

// RecordBypass writes a guard override (OXYGEN_GUARD=warn) to the audit log.
func (s *Service) RecordBypass(ctx context.Context, actor string, mode string, res *GuardResult) error {
	if actor == "" {
		actor = SystemActor.Owner
	}
	return s.write(ctx, func(tx *Tx) error {
		return tx.audit(ctx, actor, "guard.bypass", "guard", map[string]any{"mode": mode, "violations": res.Violations})
	})
}
