package workflow

import (
	"context"
	"fmt"
	"strings"
)

// The guard: every changed path that falls under a resource must be covered
// by a lease, and every commit carries the proof.
//
//   - Before a commit is made (the pre-commit hook, `oxygen check --staged`,
//     or paths named on the command line) the acting owner must hold a live
//     lease on each resource the change touches.
//   - While it is made, the commit-msg hook proves it. For each resource the
//     commit changes under the committer's live lease, the store records the
//     new content of each path (its git object id) against the lease's
//     token, under the write lock and at the store's own time: an
//     attestation. The hook then writes an Oxygen-Lease trailer naming the
//     lease.
//   - After it is made (a range in CI), every commit, merges included, must
//     show its proof: for each path under a resource, a trailer of the
//     commit must name a lease the store granted on that resource to that
//     owner, under which exactly that content was attested. The commit's
//     dates are never read, since git lets anyone set them: time is bounded
//     by the attestation, which the store only makes while the lease is
//     live by its own clock.

// Violation is a changed path not covered by the lease it needs.
type Violation struct {
	Path     string  `json:"path"`
	Resource string  `json:"resource"`
	Domain   string  `json:"domain"`
	Holder   *Holder `json:"holder"` // who holds it now, or null for nobody: the object which and resources print
	Commit   string  `json:"commit,omitempty"`
	Reason   string  `json:"reason,omitempty"` // why a commit's trailers do not cover it
	Command  string  `json:"command"`
}

// GuardResult is what a check found. Trailers are the Oxygen-Lease lines
// that prove a commit, when one is being proved.
type GuardResult struct {
	Checked    int         `json:"checked"`
	Violations []Violation `json:"violations"`
	Trailers   []string    `json:"trailers,omitempty"`
	Bypassed   bool        `json:"bypassed"`
}

// TouchesResource reports whether any path falls under a resource: only then
// does a check need to know who is acting.
func (c *Config) TouchesResource(paths []string) bool {
	for _, p := range paths {
		if len(c.ResourcesFor(p)) > 0 {
			return true
		}
	}
	return false
}

// unleased is the violation for a path under r that owner does not hold.
func unleased(path string, r Resource, holder *Lease, owner string) Violation {
	v := Violation{Path: path, Resource: r.ID, Domain: r.Domain, Command: fmt.Sprintf("oxygen claim %s --owner %s", r.ID, owner)}
	if holder != nil {
		v.Holder = &Holder{Owner: holder.Owner, Domain: holder.Domain, Token: holder.Token, ExpiresAt: holder.ExpiresAt}
	}
	return v
}

// liveLeases returns the live lease on each resource.
func (tx *Tx) liveLeases(ctx context.Context) (map[string]*Lease, error) {
	live, err := leasesFromRows(tx.st.LeasesLive(ctx, tx.now))
	out := map[string]*Lease{}
	for _, l := range live {
		out[l.Resource] = l
	}
	return out, err
}

// CheckPaths checks changed paths against the actor's live leases.
func (s *Service) CheckPaths(ctx context.Context, actor Actor, paths []string) (*GuardResult, error) {
	res := &GuardResult{Violations: []Violation{}}
	err := s.read(ctx, func(tx *Tx) error {
		holders, err := tx.liveLeases(ctx)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, p := range paths {
			if seen[p] {
				continue
			}
			seen[p] = true
			res.Checked++
			for _, r := range s.Config.ResourcesFor(p) {
				if h := holders[r.ID]; h == nil || h.Owner != actor.Owner {
					res.Violations = append(res.Violations, unleased(p, r, h, actor.Owner))
				}
			}
		}
		return nil
	})
	return res, err
}

// ProveChanges finds the lease that covers each change under a resource and
// returns the trailers naming those leases. A change under a resource the
// actor holds now is attested under that lease. Any other change is covered
// by an earlier attestation of the same content on that resource (a merge
// or a cherry-pick carries content made under another lease), or is a
// violation.
func (s *Service) ProveChanges(ctx context.Context, actor Actor, changes []Change) (*GuardResult, error) {
	res := &GuardResult{Violations: []Violation{}, Trailers: []string{}}
	byResource := map[string][]Change{}
	seen := map[string]bool{}
	for _, c := range changes {
		if !seen[c.Path] {
			seen[c.Path] = true
			res.Checked++
		}
		for _, r := range s.Config.ResourcesFor(c.Path) {
			byResource[r.ID] = append(byResource[r.ID], c)
		}
	}
	if len(byResource) == 0 {
		return res, nil
	}
	err := s.write(ctx, func(tx *Tx) error {
		holders, err := tx.liveLeases(ctx)
		if err != nil {
			return err
		}
		named := map[LeaseTrailer]bool{}
		name := func(t LeaseTrailer) {
			if !named[t] {
				named[t] = true
				res.Trailers = append(res.Trailers, t.String())
			}
		}
		for _, r := range s.Config.Resources {
			cs := byResource[r.ID]
			if len(cs) == 0 {
				continue
			}
			if l := holders[r.ID]; l != nil && actor.Owner != "" && l.Owner == actor.Owner {
				if err := tx.attest(ctx, l, cs); err != nil {
					return err
				}
				name(LeaseTrailer{Resource: r.ID, Token: l.Token, Owner: l.Owner})
				continue
			}
			for _, c := range cs {
				t, ok, err := tx.attestation(ctx, r.ID, c)
				if err != nil {
					return err
				}
				if ok {
					name(t)
					continue
				}
				res.Violations = append(res.Violations, unleased(c.Path, r, holders[r.ID], actor.Owner))
			}
		}
		return nil
	})
	return res, err
}

// attest records that the holder of a live lease commits this content under
// it. The store's clock and write lock, not the commit, say when: this is
// what later ties a commit's trailer to a time inside the lease.
func (tx *Tx) attest(ctx context.Context, l *Lease, changes []Change) error {
	var added []Change
	for _, c := range changes {
		isNew, err := tx.st.AttestationInsertIfNew(ctx, l.Token, c.Path, c.Blob, tx.now)
		if err != nil {
			return storeErr("attest", err)
		}
		if isNew {
			added = append(added, c)
		}
	}
	if len(added) == 0 {
		return nil
	}
	return tx.audit(ctx, l.Owner, "lease.attest", "resource:"+l.Resource, map[string]any{
		"owner": l.Owner, "token": l.Token, "changes": added})
}

// attestation finds the newest lease on resource under which this content
// was attested.
func (tx *Tx) attestation(ctx context.Context, resource string, c Change) (LeaseTrailer, bool, error) {
	t := LeaseTrailer{Resource: resource}
	var ok bool
	var err error
	t.Token, t.Owner, ok, err = tx.st.AttestationLatest(ctx, resource, c.Path, c.Blob)
	return t, ok, storeErr("read attestations", err)
}

// CheckCommits checks that each commit proves every change it makes under a
// resource: one of its Oxygen-Lease trailers for that resource names a lease
// the store granted to that owner, and the store attested exactly this
// content under it while it was live.
func (s *Service) CheckCommits(ctx context.Context, commits []Commit) (*GuardResult, error) {
	res := &GuardResult{Violations: []Violation{}}
	err := s.read(ctx, func(tx *Tx) error {
		for _, c := range commits {
			trailers := map[string][]LeaseTrailer{}
			for _, v := range c.Trailers {
				if t, ok := parseLeaseTrailer(v); ok {
					trailers[t.Resource] = append(trailers[t.Resource], t)
				}
			}
			for _, ch := range c.Changes {
				res.Checked++
				for _, r := range s.Config.ResourcesFor(ch.Path) {
					reason, err := tx.unproven(ctx, r.ID, ch, trailers[r.ID])
					if err != nil {
						return err
					}
					if reason == "" {
						continue
					}
					res.Violations = append(res.Violations, Violation{Path: ch.Path, Resource: r.ID, Domain: r.Domain, Commit: c.Hash, Reason: reason,
						Command: fmt.Sprintf("hold a lease on %s, then add the trailer printed by oxygen trailer %s to the commit's message", r.ID, shortHash(c.Hash))})
				}
			}
		}
		return nil
	})
	return res, err
}

// unproven says why none of a commit's trailers for resource proves the
// change, or "" when one does.
func (tx *Tx) unproven(ctx context.Context, resource string, c Change, trailers []LeaseTrailer) (string, error) {
	if len(trailers) == 0 {
		return fmt.Sprintf("the commit names no lease on %s (no %s trailer for it)", resource, LeaseTrailerKey), nil
	}
	var granted []string
	for _, t := range trailers {
		lease, attested, err := tx.st.AttestationProof(ctx, t.Token, resource, t.Owner, c.Path, c.Blob)
		if err != nil {
			return "", storeErr("read attestations", err)
		}
		if attested {
			return "", nil
		}
		if lease {
			granted = append(granted, fmt.Sprintf("token %d (%s)", t.Token, t.Owner))
		}
	}
	if len(granted) > 0 {
		return fmt.Sprintf("this content was never committed under %s: the lease was not held when it was", strings.Join(granted, " or ")), nil
	}
	return fmt.Sprintf("its trailer names %s, which the store never granted on %s", tokenList(trailers), resource), nil
}

// tokenList names the leases trailers claim, for messages.
func tokenList(trailers []LeaseTrailer) string {
	names := make([]string, len(trailers))
	for i, t := range trailers {
		names[i] = fmt.Sprintf("token %d (%s)", t.Token, t.Owner)
	}
	return strings.Join(names, " or ")
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
