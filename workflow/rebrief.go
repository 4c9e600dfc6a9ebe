package workflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/oxygen-tools/oxygen/capsules"
)

// A plan imported again may change an item someone is working on. Its
// capsule, the brief they work from, would then be stale while `capsule
// verify` (which compares files, not the plan) saw nothing wrong. So the
// import makes the capsule again, in the same transaction, and tells the
// owner what changed.

// Rebrief is an item whose capsule an import made again.
type Rebrief struct {
	Item       string   `json:"item"`
	Owner      string   `json:"owner"`
	Changed    []string `json:"changed"`    // the plan's fields that changed
	Generation int      `json:"generation"` // the capsule's, after the import
	Signal     int64    `json:"signal"`     // the missive to the owner
}

// planBriefs are the capsule inputs of the plan's items under way (in
// progress or blocked), gathered before the import's write transaction
// from the files the plan now lists, and the changes the import made to
// them.
type planBriefs struct {
	inputs  map[string]*capsuleInputs
	changes []briefChange
}

type briefChange struct {
	id     string
	fields []string
}

// underWay: an owner works from the item's capsule.
func underWay(st Status) bool { return st == StatusInProgress || st == StatusBlocked }

// note records that the import changed fields of old.
func (b *planBriefs) note(old *Item, fields []string) {
	if underWay(old.Status) {
		b.changes = append(b.changes, briefChange{id: old.ID, fields: fields})
	}
}

// gatherBriefs reads the template and the listed files of every item of
// specs that is under way and that the plan changes, outside any lock.
func (s *Service) gatherBriefs(ctx context.Context, specs []ItemSpec) (*planBriefs, error) {
	b := &planBriefs{inputs: map[string]*capsuleInputs{}}
	var stale []ItemSpec
	err := s.read(ctx, func(tx *Tx) error {
		busy, err := tx.listItems(ctx, ItemFilter{Status: string(StatusInProgress)})
		if err != nil {
			return err
		}
		blocked, err := tx.listItems(ctx, ItemFilter{Status: string(StatusBlocked)})
		if err != nil {
			return err
		}
		current := map[string]*Item{}
		for _, it := range append(busy, blocked...) {
			current[it.ID] = it
		}
		for _, spec := range specs {
			if it := current[spec.ID]; it != nil && len(specDiff(it.Spec(), spec)) > 0 {
				stale = append(stale, spec)
			}
		}
		return nil
	})
	if err != nil || len(stale) == 0 {
		return b, err
	}
	tmpl, err := s.loadTemplate()
	if err != nil {
		return nil, err
	}
	for _, spec := range stale {
		b.inputs[spec.ID] = &capsuleInputs{tmpl: tmpl, paths: spec.Files, files: capsules.Collect(s.Worktree, spec.Files, s.embedPolicy())}
	}
	return b, nil
}

// writeBriefed runs fn in a write transaction with the plan's briefs
// gathered beforehand; if an item moved under way meanwhile (so its inputs
// were not gathered), it gathers once more.
func (s *Service) writeBriefed(ctx context.Context, specs []ItemSpec, fn func(*Tx, *planBriefs) error) error {
	return writeGathered(ctx, s, func() (*planBriefs, error) { return s.gatherBriefs(ctx, specs) }, fn,
		"items of the plan kept being assigned while it was imported: run the import again")
}

// rebrief makes the capsule of every changed item under way again (a new
// generation if anything it shows changed) and sends its owner a missive
// naming what changed. The missive goes first, so the capsule lists it.
func (s *Service) rebrief(ctx context.Context, tx *Tx, b *planBriefs, actor string) ([]Rebrief, error) {
	out := []Rebrief{}
	for _, c := range b.changes {
		in := b.inputs[c.id]
		if in == nil {
			return nil, errFilesChanged
		}
		it, err := tx.getItem(ctx, c.id)
		if err != nil {
			return nil, err
		}
		files, err := in.forItem(it)
		if err != nil {
			return nil, err
		}
		sig, err := tx.emit(ctx, s.Config, s.Root, SignalSpec{Kind: KindMissive, Topic: "plan-change", From: SystemActor.Owner, FromDomain: SystemActor.Domain,
			To: it.Domain, Item: it.ID, Refs: []string{s.workingCopyPath(it.ID)},
			Body: fmt.Sprintf("%s: %s imported a plan that changes %s (%s) while it is %s: %s. Its capsule was made again from the new plan; read it before going on: orchestrate capsule show %s",
				it.Owner, actor, it.ID, it.Title, it.Status, strings.Join(c.fields, ", "), it.ID)})
		if err != nil {
			return nil, err
		}
		capsule, _, err := s.writeCapsule(ctx, tx, in, it, files, actor, true)
		if err != nil {
			return nil, err
		}
		out = append(out, Rebrief{Item: it.ID, Owner: it.Owner, Changed: c.fields, Generation: capsule.Generation, Signal: sig.ID})
	}
	return out, nil
}
