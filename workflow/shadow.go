package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/internal/safefs"
	"github.com/oxygen-tools/oxygen/store"
)

// Shadow edits are changes to a resource made while nobody held a lease on
// it. Every lease boundary and every audit fingerprints the resource (see
// fingerprint.go); a fingerprint that changed with no lease live since the
// previous one is a shadow edit. Nothing is ever lost: both versions stay in
// the blob store, and a restore puts back the last leased or accepted
// content.

// ShadowStatus is where a shadow edit stands: open until restored or
// accepted.
type ShadowStatus = store.ShadowStatus

const (
	ShadowOpen     = store.ShadowOpen
	ShadowRestored = store.ShadowRestored
	ShadowAccepted = store.ShadowAccepted
)

// PathChange is one path a shadow edit touched.
type PathChange struct {
	Path    string `json:"path"`
	Change  string `json:"change"` // added, changed or deleted
	OldBlob string `json:"old_blob,omitempty"`
	NewBlob string `json:"new_blob,omitempty"`
}

// ShadowEdit is a change to a resource made without a lease.
type ShadowEdit struct {
	ID         int64        `json:"id"`
	Resource   string       `json:"resource"`
	Worktree   string       `json:"worktree"` // '' for the main worktree
	Paths      []PathChange `json:"paths"`
	OldBlob    string       `json:"old_blob"`
	NewBlob    string       `json:"new_blob"`
	DetectedAt Time         `json:"detected_at"`
	Status     ShadowStatus `json:"status"`
	ResolvedAt Time         `json:"resolved_at"`
	ResolvedBy string       `json:"resolved_by"`
	Reason     string       `json:"reason"`
	Signal     int64        `json:"signal"`
	// FoundAt is the boundary that found it (audit, claim, release, expire
	// or revoke); the change was made between SinceAt, the previous
	// fingerprint, and DetectedAt, with no lease live.
	FoundAt string `json:"found_at"`
	SinceAt Time   `json:"since_at"`
}

// change is what the edit did to path, or nil.
func (e *ShadowEdit) change(path string) *PathChange {
	for i := range e.Paths {
		if e.Paths[i].Path == path {
			return &e.Paths[i]
		}
	}
	return nil
}

// foundBy says, in a signal, which boundary found a shadow edit.
func foundBy(b boundary) string {
	switch b.reason {
	case boundaryClaim:
		return b.actor + "'s claim"
	case boundaryAudit:
		return "the audit"
	}
	return "the " + b.reason + " of a lease"
}

func (s *Service) recordShadowEdit(ctx context.Context, tx *Tx, r Resource, worktree string, prev *fingerprint, cur string, changes []PathChange, b boundary) (*ShadowEdit, error) {
	paths, _ := json.Marshal(changes)
	id, err := tx.st.ShadowEditInsert(ctx, store.ShadowEdit{Resource: r.ID, Worktree: worktree, Paths: string(paths), OldBlob: prev.manifest, NewBlob: cur,
		DetectedAt: tx.now, FoundAt: b.reason, SinceAt: prev.takenAt})
	if err != nil {
		return nil, storeErr("record shadow edit", err)
	}
	var list []string
	for _, c := range changes {
		list = append(list, c.Path+" ("+c.Change+")")
	}
	where := ""
	if worktree != "" {
		where = " in the worktree " + worktree
	}
	body := fmt.Sprintf("Shadow edit %d: %s (%s) changed%s while nobody held a lease on it (no lease live between the fingerprint of %s and %s, found by %s): %s. "+
		"Both versions are in the blob store. Undo it with `oxygen shadow restore %d` (holding a lease on %s), or acknowledge it with `oxygen shadow accept %d --reason \"...\"`; either only as a member of %s.",
		id, r.ID, r.Domain, where, Time{prev.takenAt}, Time{tx.now}, foundBy(b), strings.Join(list, ", "), id, r.ID, id, r.Domain)
	refs := make([]string, 0, len(changes)+2)
	refs = append(refs, capsules.RelPath(prev.manifest), capsules.RelPath(cur))
	for _, c := range changes {
		refs = append(refs, c.Path)
	}
	sig, err := tx.emit(ctx, s.Config, s.Root, SignalSpec{Kind: KindDeadEnd, Topic: "shadow-edit", From: SystemActor.Owner, FromDomain: SystemActor.Domain,
		To: r.Domain, Resource: r.ID, Body: body, Refs: refs})
	if err != nil {
		return nil, err
	}
	// The signal is immutable, so its id is recorded on the edit afterwards.
	if found, err := tx.st.ShadowEditSetSignal(ctx, id, sig.ID); err != nil {
		return nil, storeErr("record shadow edit", err)
	} else if !found {
		return nil, Errorf(ECONFLICT, "record shadow edit: the row was not in the state expected (0 rows changed); try again")
	}
	if err := tx.audit(ctx, b.actor, "shadow.detect", fmt.Sprintf("shadow:%d", id), map[string]any{
		"resource": r.ID, "worktree": worktree, "paths": changes, "old_blob": prev.manifest, "new_blob": cur, "signal": sig.ID,
		"found_at": b.reason, "since_at": Time{prev.takenAt}}); err != nil {
		return nil, err
	}
	return &ShadowEdit{ID: id, Resource: r.ID, Worktree: worktree, Paths: changes, OldBlob: prev.manifest, NewBlob: cur, DetectedAt: Time{tx.now}, Status: ShadowOpen, Signal: sig.ID,
		FoundAt: b.reason, SinceAt: Time{prev.takenAt}}, nil
}

func shadowFromRow(row store.ShadowEdit) (*ShadowEdit, error) {
	e := &ShadowEdit{ID: row.ID, Resource: row.Resource, Worktree: row.Worktree, OldBlob: row.OldBlob, NewBlob: row.NewBlob, DetectedAt: Time{row.DetectedAt},
		Status: row.Status, ResolvedAt: Time{row.ResolvedAt}, ResolvedBy: row.ResolvedBy, Reason: row.Reason, Signal: row.SignalID, FoundAt: row.FoundAt, SinceAt: Time{row.SinceAt}}
	if err := decodeStored("shadow edit paths", row.Paths, &e.Paths); err != nil {
		return nil, err
	}
	if e.Paths == nil {
		e.Paths = []PathChange{}
	}
	return e, nil
}

func shadowsFromRows(rows []store.ShadowEdit, err error) ([]*ShadowEdit, error) {
	if err != nil {
		return nil, storeErr("read shadow edits", err)
	}
	out := make([]*ShadowEdit, 0, len(rows))
	for _, row := range rows {
		e, err := shadowFromRow(row)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (tx *Tx) getShadow(ctx context.Context, id int64) (*ShadowEdit, error) {
	row, err := tx.st.ShadowEditGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(ENOTFOUND, "no shadow edit %d", id)
	}
	if err != nil {
		return nil, storeErr("read shadow edit", err)
	}
	return shadowFromRow(row)
}

// ShadowEdits lists shadow edits, optionally only those with a status.
func (s *Service) ShadowEdits(ctx context.Context, status string) ([]*ShadowEdit, error) {
	if status != "" && ShadowStatus(status) != ShadowOpen && ShadowStatus(status) != ShadowRestored && ShadowStatus(status) != ShadowAccepted {
		return nil, Errorf(EINVALID, "--status %q: use open, restored or accepted", status)
	}
	var out []*ShadowEdit
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		if status == "" {
			out, err = shadowsFromRows(tx.st.ShadowEditsAll(ctx))
		} else {
			out, err = shadowsFromRows(tx.st.ShadowEditsByStatus(ctx, ShadowStatus(status)))
		}
		return err
	})
	return out, err
}

// RestoreResult is what a restore put back and what it left.
type RestoreResult struct {
	Edit *ShadowEdit `json:"shadow_edit"`
	// Restored are files put back to their last leased or accepted content.
	Restored []string `json:"restored"`
	// Kept are files that unleased edits added, left in place for review.
	Kept []string `json:"kept"`
	// Superseded are files changed again since the edit (under a lease, or
	// by an edit since resolved), left as they are.
	Superseded []string `json:"superseded"`
	// Through are the older open shadow edits whose content on the same
	// files was unleased too, and is undone with this one's.
	Through []int64 `json:"through"`
}

// restoreSource is where a file's last leased or accepted content is: the
// fingerprint before the earliest of a run of unleased edits to it.
type restoreSource struct {
	manifest string
	through  []int64
}

// restorePlan is what a restore will do, decided in a read transaction.
type restorePlan struct {
	edit    *ShadowEdit
	lease   *Lease                   // the actor's, on the edit's resource
	sources map[string]restoreSource // by path
}

// RestoreShadow returns the files a shadow edit changed to their last
// leased or accepted content, never to the content of another unleased
// edit: if older open edits brought the content this one replaced, the
// restore reaches back past them. Restoring changes the resource, so the
// actor must hold a lease on it and be a member of its owning domain, and
// no newer open edit may have changed the same files (restore those first,
// newest first). Whatever a restore overwrites is stored as a blob first.
func (s *Service) RestoreShadow(ctx context.Context, id int64, actor Actor, reason string) (*RestoreResult, error) {
	if strings.ContainsAny(reason, "\r\n") {
		return nil, Errorf(EINVALID, "--reason must be one line")
	}
	var plan *restorePlan
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		plan, err = s.planRestore(ctx, tx, id, actor)
		return err
	})
	if err != nil {
		return nil, err
	}
	res, err := s.applyRestore(plan)
	if err != nil {
		return nil, err
	}
	scans, err := s.scanLeases(actor.Owner, plan.edit.Resource)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *Tx) error {
		now, err := s.planRestore(ctx, tx, id, actor)
		if err != nil {
			return err
		}
		if restored, err := tx.st.ShadowEditRestoreIf(ctx, id, tx.now, actor.Owner); err != nil {
			return storeErr("restore shadow edit", err)
		} else if !restored {
			return notOpenAnymore("restore", id)
		}
		r, _ := s.Config.Resource(plan.edit.Resource)
		if _, err := s.markBoundary(ctx, tx, scans.snap, r, boundary{reason: boundaryRestore, lease: now.lease.ID, actor: actor.Owner}); err != nil {
			return err
		}
		if err := tx.audit(ctx, actor.Owner, "shadow.restore", fmt.Sprintf("shadow:%d", id), map[string]any{
			"resource": plan.edit.Resource, "restored": res.Restored, "kept": res.Kept, "fingerprint": scans.snap.hashes[plan.edit.Resource],
			"superseded": res.Superseded, "through": res.Through, "domain": actor.Domain, "reason": reason}); err != nil {
			return err
		}
		res.Edit, err = tx.getShadow(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// planRestore checks, in the protocol's order, that the actor may restore
// edit id now, and finds where each of its files' content comes from.
func (s *Service) planRestore(ctx context.Context, tx *Tx, id int64, actor Actor) (*restorePlan, error) {
	e, err := tx.getShadow(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.Status != ShadowOpen {
		return nil, Errorf(ECONFLICT, "shadow edit %d is already %s", id, e.Status)
	}
	if here := s.worktreeKey(s.Worktree); e.Worktree != here {
		return nil, Errorf(EINVALID, "shadow edit %d was made in the worktree %s: run the restore there (cd %s && oxygen shadow restore %d)",
			id, s.worktreeDir(e.Worktree), s.worktreeDir(e.Worktree), id)
	}
	others, err := shadowsFromRows(tx.st.ShadowEditsOnResource(ctx, e.Resource, e.Worktree, e.ID))
	if err != nil {
		return nil, err
	}
	if first := newerOpenEdits(e, others); len(first) > 0 {
		order := make([]string, 0, len(first)+1)
		for _, n := range first {
			order = append(order, "oxygen shadow restore "+itoa(n.ID))
		}
		order = append(order, "oxygen shadow restore "+itoa(id))
		return nil, Errorf(ECONFLICT, "shadow edit %d changed %s after shadow edit %d, and is still open: restoring %d first would bring back content no lease wrote; restore the newest first: %s",
			first[0].ID, strings.Join(sharedPaths(first[0], e), ", "), id, id, strings.Join(order, ", then "))
	}
	if err := s.mayResolve(e, actor, "restore"); err != nil {
		return nil, err
	}
	l, err := tx.requireLease(ctx, e.Resource, actor, "restore shadow edit "+itoa(id))
	if err != nil {
		return nil, err
	}
	plan := &restorePlan{edit: e, lease: l, sources: map[string]restoreSource{}}
	for _, c := range e.Paths {
		plan.sources[c.Path] = sourceOf(e, c.Path, others)
	}
	return plan, nil
}

// newerOpenEdits lists the open edits that must be restored before e,
// newest first: those newer than e that changed one of its files, and,
// in turn, those that must go before them.
func newerOpenEdits(e *ShadowEdit, others []*ShadowEdit) []*ShadowEdit {
	var out []*ShadowEdit
	blocks := []*ShadowEdit{e}
	for changed := true; changed; {
		changed = false
		for _, o := range others {
			if o.Status != ShadowOpen || slices.Contains(out, o) {
				continue
			}
			for _, b := range blocks {
				if o.ID > b.ID && len(sharedPaths(o, b)) > 0 {
					out, blocks, changed = append(out, o), append(blocks, o), true
					break
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b *ShadowEdit) int { return int(b.ID - a.ID) })
	return out
}

// sharedPaths lists the files both edits changed.
func sharedPaths(a, b *ShadowEdit) []string {
	var out []string
	for _, c := range a.Paths {
		if b.change(c.Path) != nil {
			out = append(out, c.Path)
		}
	}
	return out
}

// sourceOf follows path back from e through older open edits, each of
// which wrote the content the next one replaced, to the fingerprint before
// the first: there the content was leased or accepted. others is newest
// first. The newest older edit to touch the file decides: if it is
// resolved, or wrote something else, the content e replaced came from a
// lease (or was restored or accepted) and is the one to put back.
func sourceOf(e *ShadowEdit, path string, others []*ShadowEdit) restoreSource {
	src := restoreSource{manifest: e.OldBlob, through: []int64{}}
	cur := e
	for {
		before := cur.change(path).OldBlob
		var next *ShadowEdit
		for _, o := range others {
			if o.ID >= cur.ID {
				continue
			}
			if c := o.change(path); c != nil {
				if o.Status == ShadowOpen && c.NewBlob == before {
					next = o
				}
				break
			}
		}
		if next == nil {
			return src
		}
		src.manifest, src.through, cur = next.OldBlob, append(src.through, next.ID), next
	}
}

// mayResolve checks that actor belongs to the domain that owns the edit's
// resource: only its owners decide whether an unleased change stays.
func (s *Service) mayResolve(e *ShadowEdit, actor Actor, verb string) error {
	r, ok := s.Config.Resource(e.Resource)
	if !ok {
		return Errorf(EDENIED, "shadow edit %d is on %s, which %s no longer defines: no domain owns it to %s it", e.ID, e.Resource, ConfigFile, verb)
	}
	if actor.Domain != r.Domain {
		return Errorf(EDENIED, "only a member of %s, which owns %s, may %s shadow edit %d (%s acts for %s); ask them: orchestrate signal send --kind missive --from %s --domain %s --to %s --resource %s --body \"shadow edit %d: please %s it\"",
			r.Domain, r.ID, verb, e.ID, actor.Owner, actor.Domain, actor.Owner, actor.Domain, r.Domain, r.ID, e.ID, verb)
	}
	return nil
}

// applyRestore writes the plan's files back. Everything is read first: a
// path that a symlink leads out of the worktree refuses the whole restore
// before any file is written.
func (s *Service) applyRestore(plan *restorePlan) (*RestoreResult, error) {
	e := plan.edit
	res := &RestoreResult{Restored: []string{}, Kept: []string{}, Superseded: []string{}, Through: []int64{}}
	manifests := map[string]map[string]ManifestEntry{}
	entry := func(manifest, path string) (*ManifestEntry, error) {
		if manifests[manifest] == nil {
			m, err := s.loadManifest(manifest)
			if err != nil {
				return nil, err
			}
			manifests[manifest] = m.index()
		}
		if f, ok := manifests[manifest][path]; ok {
			return &f, nil
		}
		return nil, nil
	}
	blobs := s.blobs()
	wt, err := safefs.Open(s.Worktree)
	if err != nil {
		return nil, Errorf(EINTERNAL, "open %s: %v", s.Worktree, err)
	}
	defer wt.Close()
	var writes []ManifestEntry
	for _, c := range e.Paths {
		unleased, err := entry(e.NewBlob, c.Path)
		if err != nil {
			return nil, err
		}
		still, err := holds(blobs, wt, c.Path, unleased)
		if err != nil {
			return nil, restoreErr(e.ID, c.Path, err)
		}
		if !still {
			res.Superseded = append(res.Superseded, c.Path)
			continue
		}
		src := plan.sources[c.Path]
		for _, id := range src.through {
			if !slices.Contains(res.Through, id) {
				res.Through = append(res.Through, id)
			}
		}
		leased, err := entry(src.manifest, c.Path)
		if err != nil {
			return nil, err
		}
		if leased == nil {
			res.Kept = append(res.Kept, c.Path)
			continue
		}
		writes = append(writes, *leased)
	}
	for _, f := range writes {
		if err := restoreFile(blobs, wt, f); err != nil {
			return nil, restoreErr(e.ID, f.Path, err)
		}
		res.Restored = append(res.Restored, f.Path)
	}
	return res, nil
}

// holds reports whether the worktree holds f at path (f nil: nothing
// there), storing whatever is there as a blob first.
func holds(blobs capsules.Blobs, wt *safefs.Root, path string, f *ManifestEntry) (bool, error) {
	if f == nil {
		_, err := wt.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		_, err = sameContent(blobs, wt, ManifestEntry{Path: path})
		return false, err
	}
	return sameContent(blobs, wt, *f)
}

// notOpenAnymore refuses a resolution whose guarded update found the edit
// no longer open: another writer resolved it first.
func notOpenAnymore(verb string, id int64) error {
	return Errorf(ECONFLICT, "%s shadow edit %d: the row was not in the state expected (0 rows changed); try again", verb, id)
}

// requireLease returns actor's live lease on resource, or explains.
func (tx *Tx) requireLease(ctx context.Context, resource string, actor Actor, what string) (*Lease, error) {
	l, err := tx.heldBy(ctx, resource, actor.Owner, what)
	if ErrorCode(err) == ECONFLICT {
		return nil, Errorf(EDENIED, "to %s, hold a lease on %s first: oxygen claim %s --owner %s", what, resource, resource, actor.Owner)
	}
	return l, err
}

// restoreErr is a restore that stopped at path: exit 2 when a symlink
// leads out of the worktree, else an internal error.
func restoreErr(id int64, path string, err error) error {
	if safefs.IsEscape(err) {
		return Errorf(EINVALID, "shadow restore %d: refusing to touch %s: %v (remove the symlink, then restore again)", id, path, err)
	}
	return Errorf(EINTERNAL, "restore %s: %v", path, err)
}

// sameContent reports whether the worktree holds f as recorded, storing
// whatever is there now as a blob first: automation never deletes
// originals.
func sameContent(blobs capsules.Blobs, wt *safefs.Root, f ManifestEntry) (bool, error) {
	info, err := wt.Lstat(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var h string
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := wt.Readlink(f.Path)
		if err != nil {
			return false, nil
		}
		if h, err = blobs.Put([]byte(target)); err != nil {
			return false, err
		}
	case info.Mode().IsRegular():
		file, _, err := wt.OpenRegular(f.Path)
		if err != nil {
			return false, err
		}
		h, err = blobs.PutStream(file)
		file.Close()
		if err != nil {
			return false, err
		}
	default:
		return false, nil
	}
	return h == f.Blob && (f.Mode == "symlink") == (info.Mode()&fs.ModeSymlink != 0), nil
}

// restoreFile writes a manifest entry back into the worktree atomically.
func restoreFile(blobs capsules.Blobs, wt *safefs.Root, f ManifestEntry) error {
	data, err := blobs.Get(f.Blob)
	if err != nil {
		return err
	}
	tag := "oxygen-restore"
	if f.Mode != "symlink" {
		perm := fs.FileMode(0o644)
		if f.Mode == "exec" {
			perm = 0o755
		}
		return wt.WriteAtomic(f.Path, data, perm, tag)
	}
	if err := wt.MkdirAll(path.Dir(f.Path), 0o755); err != nil {
		return err
	}
	tmp := safefs.TempName(f.Path, tag)
	wt.Remove(tmp)
	if err := wt.Symlink(string(data), tmp); err != nil {
		return err
	}
	return wt.Rename(tmp, f.Path)
}

// AcceptShadow acknowledges a shadow edit: its content stands, as if a
// lease had written it. Only a member of the resource's owning domain may,
// with a reason. No file changes, so no lease is needed, and the
// fingerprint stays: the one that found the edit already holds its content.
func (s *Service) AcceptShadow(ctx context.Context, id int64, actor Actor, reason string) (*ShadowEdit, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, Errorf(EINVALID, "--reason is required: say why the edit may stand")
	}
	if err := checkLine("--reason", reason); err != nil {
		return nil, err
	}
	var out *ShadowEdit
	err := s.write(ctx, func(tx *Tx) error {
		e, err := tx.getShadow(ctx, id)
		if err != nil {
			return err
		}
		if e.Status != ShadowOpen {
			return Errorf(ECONFLICT, "shadow edit %d is already %s", id, e.Status)
		}
		if err := s.mayResolve(e, actor, "accept"); err != nil {
			return err
		}
		if accepted, err := tx.st.ShadowEditAcceptIf(ctx, id, tx.now, actor.Owner, reason); err != nil {
			return storeErr("accept shadow edit", err)
		} else if !accepted {
			return notOpenAnymore("accept", id)
		}
		if err := tx.audit(ctx, actor.Owner, "shadow.accept", fmt.Sprintf("shadow:%d", id), map[string]any{
			"resource": e.Resource, "reason": reason, "fingerprint": e.NewBlob, "domain": actor.Domain}); err != nil {
			return err
		}
		out, err = tx.getShadow(ctx, id)
		return err
	})
	return out, err
}

// worktreeKey names a worktree in fingerprints and shadow edits: "" for the
// main one, so that stores from before worktrees were told apart need no
// rewrite, else its absolute path.
func (s *Service) worktreeKey(dir string) string {
	if dir == s.Root {
		return ""
	}
	return dir
}

func (s *Service) worktreeDir(key string) string {
	if key == "" {
		return s.Root
	}
	return key
}

// worktrees lists the oxygen root of every worktree of the repository: the
// main one, then each linked one git lists under <common>/worktrees. The
// audit job fingerprints them all, since each has files of its own.
func (s *Service) worktrees() []string {
	dirs := []string{s.Root}
	l := s.Layout
	if l.GitCommon == "" {
		return dirs
	}
	prefix := ""
	if top := filepath.Dir(l.GitCommon); filepath.Base(l.GitCommon) == ".git" && within(top, s.Root) {
		prefix, _ = filepath.Rel(top, s.Root)
	}
	entries, _ := os.ReadDir(filepath.Join(l.GitCommon, "worktrees"))
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(l.GitCommon, "worktrees", e.Name(), "gitdir"))
		if err != nil {
			continue
		}
		top := filepath.Dir(strings.TrimSpace(string(data)))
		dir := filepath.Join(top, prefix)
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() && dir != s.Root {
			dirs = append(dirs, dir)
		}
	}
	return dirs
}
