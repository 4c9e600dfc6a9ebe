package workflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/oxygen-tools/oxygen/capsules"
)

// Briefs that stay fresh. A capsule embeds its item's files as they were
// when it was made. When a lease ends (released, expired or revoked), the
// files under that resource may have changed: the capsules in use that
// list such files are compared with them, and each one that no longer
// matches gets a new generation, and its item's domain a missive naming the
// changed files.
//
// The lease's transaction only looks the briefs up, in capsule_watches (one
// indexed read by resource, kept by writeCapsule and tx.move), so a release
// that concerns no brief costs nothing more. The comparison hashes files, so
// it runs after the commit, outside the write lock, and whatever it finds
// is recorded in one more transaction. A process that dies in between
// leaves the brief as it was; the next lease end on the resource, or the
// drift checks of health and the audit job, find it again.

// staleBrief is a capsule in use that a lease's end may have made stale.
type staleBrief struct {
	item    string
	capsule int64
	lease   *Lease
}

// watchCapsule records which resources a new capsule generation's files
// fall under, replacing its item's previous watch.
func (tx *Tx) watchCapsule(ctx context.Context, c *Capsule, resources []capsules.ResourceLease) error {
	if err := tx.unwatchItem(ctx, c.Item); err != nil {
		return err
	}
	for _, r := range resources {
		if err := tx.st.CapsuleWatchInsert(ctx, r.ID, c.Item, c.id); err != nil {
			return storeErr("watch capsule", err)
		}
	}
	return nil
}

// unwatchItem drops an item's watch: its capsule is no longer in use.
func (tx *Tx) unwatchItem(ctx context.Context, item string) error {
	return storeErr("unwatch capsule", tx.st.CapsuleWatchesDeleteForItem(ctx, item))
}

// noteStaleBriefs is the lease-end hook: it finds the capsules of items in
// progress that list files under the lease's resource, for Service.write to
// check once the transaction commits. The one it leaves out is the brief of
// the item the lease was taken for when its owner held the lease: they made
// the changes, in the work that brief describes.
func (tx *Tx) noteStaleBriefs(ctx context.Context, l *Lease) error {
	watches, err := tx.st.CapsuleWatchesStale(ctx, l.Resource, l.Item, l.Owner)
	if err != nil {
		return storeErr("read capsule watches", err)
	}
	for _, w := range watches {
		tx.staleBriefs = append(tx.staleBriefs, staleBrief{item: w.Item, capsule: w.Capsule, lease: l})
	}
	return nil
}

// refreshBriefs checks the briefs a committed transaction's lease ends may
// have made stale, and refreshes those whose files changed. The lease ends
// are committed whatever happens here, so a failure is a warning, not the
// command's error.
func (s *Service) refreshBriefs(ctx context.Context, noted []staleBrief) {
	if err := s.refreshStaleBriefs(ctx, noted); err != nil {
		s.warn("capsules that list files under a resource whose lease ended could not be refreshed: %s; regenerate them with orchestrate capsule ID", ErrorMessage(err))
	}
}

// briefCheck is one brief compared with its files.
type briefCheck struct {
	item    string
	capsule int64
	leases  []*Lease
	in      *capsuleInputs
	changed []string
}

func (s *Service) refreshStaleBriefs(ctx context.Context, noted []staleBrief) error {
	var checks []*briefCheck
	byItem := map[string]*briefCheck{}
	for _, n := range noted {
		c := byItem[n.item]
		if c == nil {
			c = &briefCheck{item: n.item, capsule: n.capsule}
			byItem[n.item] = c
			checks = append(checks, c)
		}
		c.leases = append(c.leases, n.lease)
	}
	recorded := map[string][]CapsuleFile{}
	err := s.read(ctx, func(tx *Tx) error {
		for _, c := range checks {
			it, err := tx.getItem(ctx, c.item)
			if err != nil {
				return err
			}
			r, ok, err := tx.st.CapsuleGet(ctx, c.capsule)
			cp, err := tx.oneCapsule(ctx, r, ok, err)
			if err != nil {
				return err
			}
			if cp == nil {
				continue
			}
			c.in = &capsuleInputs{paths: it.Files}
			recorded[c.item] = append(append([]CapsuleFile{}, cp.Embedded...), cp.Withheld...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Outside any transaction: read and hash the files.
	var stale []*briefCheck
	for _, c := range checks {
		if c.in == nil {
			continue
		}
		c.in.files = capsules.Collect(s.Worktree, c.in.paths, s.embedPolicy())
		if c.changed = changedFiles(recorded[c.item], c.in.files); len(c.changed) > 0 {
			stale = append(stale, c)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	tmpl, err := s.loadTemplate()
	if err != nil {
		return err
	}
	policyDrift := PolicyDrift(s.Layout, s.Config)
	return s.write(ctx, func(tx *Tx) error {
		for _, c := range stale {
			c.in.tmpl, c.in.policyDrift = tmpl, policyDrift
			if err := s.refreshBrief(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// changedFiles names the files whose state differs from the capsule's
// record of them: changed, deleted, created, or newly withheld.
func changedFiles(recorded []CapsuleFile, now []capsules.File) []string {
	was := make(map[string]CapsuleFile, len(recorded))
	for _, f := range recorded {
		was[f.Path] = f
	}
	var out []string
	for _, f := range now {
		if w, ok := was[f.Path]; !ok || w.Status != f.Status || w.SHA256 != f.SHA256 {
			out = append(out, f.Path)
		}
	}
	return out
}

// refreshBrief records a new generation of one stale brief and tells its
// item's domain, unless the brief moved on meanwhile: the item left
// in_progress, got a newer capsule, or another file list.
func (s *Service) refreshBrief(ctx context.Context, tx *Tx, c *briefCheck) error {
	it, err := tx.getItem(ctx, c.item)
	if err != nil || it.Status != StatusInProgress {
		return err
	}
	latest, err := tx.latestCapsule(ctx, it.ID)
	if err != nil || latest == nil || latest.id != c.capsule {
		return err
	}
	files, err := c.in.forItem(it)
	if err == errFilesChanged {
		return nil
	}
	if err != nil {
		return err
	}
	var ended []string
	for _, l := range c.leases {
		ended = append(ended, fmt.Sprintf("%s's lease on %s (%s)", l.Owner, l.Resource, l.State))
	}
	refs := append([]string{s.workingCopyPath(it.ID)}, c.changed...)
	if _, err := tx.emit(ctx, s.Config, s.Root, SignalSpec{Kind: KindMissive, Topic: "capsule-refreshed", From: SystemActor.Owner, FromDomain: SystemActor.Domain,
		To: it.Domain, Item: it.ID, Refs: refs,
		Body: fmt.Sprintf("%s: the capsule of %s is now generation %d, because %s changed before %s ended; read it again: orchestrate capsule show %s",
			it.Owner, it.ID, latest.Generation+1, strings.Join(c.changed, ", "), strings.Join(ended, " and "), it.ID)}); err != nil {
		return err
	}
	_, _, err = s.writeCapsule(ctx, tx, c.in, it, files, SystemActor.Owner, false)
	return err
}
