package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/internal/safefs"
)

// Shadow edits are changes to a resource made while nobody held a lease on
// it. The audit job fingerprints every resource into the blob store; a
// fingerprint that changed with no lease active since the previous one is a
// shadow edit. Nothing is ever lost: both versions stay in the blob store,
// and a restore puts the old content back.

// ManifestEntry is one file of a resource fingerprint.
type ManifestEntry struct {
	Path string `json:"path"`
	Blob string `json:"blob"`
	Mode string `json:"mode"` // file, exec or symlink (the blob holds the link target)
}

// Manifest is a resource fingerprint: its files, sorted by path.
type Manifest struct {
	Resource string          `json:"resource"`
	Files    []ManifestEntry `json:"files"`
}

func (m *Manifest) index() map[string]ManifestEntry {
	out := make(map[string]ManifestEntry, len(m.Files))
	for _, f := range m.Files {
		out[f.Path] = f
	}
	return out
}

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
	Status     string       `json:"status"` // open, restored or accepted
	ResolvedAt Time         `json:"resolved_at"`
	ResolvedBy string       `json:"resolved_by"`
	Reason     string       `json:"reason"`
	Signal     int64        `json:"signal"`
}

// skipDirs are Oxygen's own bookkeeping, never part of a resource's content.
func (s *Service) skipDirs() map[string]bool {
	return map[string]bool{
		".git": true, StateDir: true, ".substrate/store": true, ReportsDir: true,
		s.Config.Capsules.Dir: true, s.Config.Signals.Dir: true,
	}
}

// fingerprintAll stores every resource-covered file of the worktree at dir
// as a blob and returns one manifest per resource, keyed by resource id.
func (s *Service) fingerprintAll(dir string) (map[string]*Manifest, error) {
	out := map[string]*Manifest{}
	for _, r := range s.Config.Resources {
		out[r.ID] = &Manifest{Resource: r.ID, Files: []ManifestEntry{}}
	}
	blobs := s.blobs()
	skip := s.skipDirs()
	wt, err := safefs.Open(dir)
	if err != nil {
		return nil, err
	}
	defer wt.Close()
	err = fs.WalkDir(wt.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if skip[rel] {
				return fs.SkipDir
			}
			return nil
		}
		owners := s.Config.ResourcesFor(rel)
		if len(owners) == 0 {
			return nil
		}
		entry, err := snapshotFile(blobs, wt, rel)
		if err != nil || entry == nil {
			return err
		}
		for _, r := range owners {
			out[r.ID].Files = append(out[r.ID].Files, *entry)
		}
		return nil
	})
	return out, err
}

// snapshotFile stores one file (or symlink, as its target) and describes
// it. A walk never descends through a symlink, and large files are
// streamed into the blob store rather than held in memory.
func snapshotFile(blobs *capsules.BlobStore, wt *safefs.Root, rel string) (*ManifestEntry, error) {
	info, err := wt.Lstat(rel)
	if err != nil {
		return nil, nil // vanished while walking
	}
	var h string
	mode := "file"
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := wt.Readlink(rel)
		if err != nil {
			return nil, nil
		}
		mode = "symlink"
		h, err = blobs.Put([]byte(target))
		if err != nil {
			return nil, Errorf(EINTERNAL, "%v", err)
		}
	case info.Mode().IsRegular():
		f, _, err := wt.OpenRegular(rel)
		if err != nil {
			return nil, nil
		}
		h, err = blobs.PutStream(f)
		f.Close()
		if err != nil {
			return nil, Errorf(EINTERNAL, "%v", err)
		}
		if info.Mode()&0o111 != 0 {
			mode = "exec"
		}
	default:
		return nil, nil
	}
	return &ManifestEntry{Path: rel, Blob: h, Mode: mode}, nil
}

// storeManifest puts a manifest in the blob store; its hash is the
// fingerprint.
func (s *Service) storeManifest(m *Manifest) (string, error) {
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	data, err := json.Marshal(m)
	if err != nil {
		return "", Errorf(EINTERNAL, "encode manifest: %v", err)
	}
	h, err := s.blobs().Put(data)
	if err != nil {
		return "", Errorf(EINTERNAL, "%v", err)
	}
	return h, nil
}

func (s *Service) loadManifest(h string) (*Manifest, error) {
	data, err := s.blobs().Get(h)
	if err != nil {
		return nil, Errorf(EINTERNAL, "read fingerprint %s: %v", h, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, Errorf(EINTERNAL, "decode fingerprint %s: %v", h, err)
	}
	return &m, nil
}

// diffManifests lists what changed from old to new.
func diffManifests(old, new *Manifest) []PathChange {
	var out []PathChange
	oi, ni := old.index(), new.index()
	for p, n := range ni {
		o, ok := oi[p]
		switch {
		case !ok:
			out = append(out, PathChange{Path: p, Change: "added", NewBlob: n.Blob})
		case o.Blob != n.Blob || o.Mode != n.Mode:
			out = append(out, PathChange{Path: p, Change: "changed", OldBlob: o.Blob, NewBlob: n.Blob})
		}
	}
	for p, o := range oi {
		if _, ok := ni[p]; !ok {
			out = append(out, PathChange{Path: p, Change: "deleted", OldBlob: o.Blob})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

type fingerprint struct {
	manifest string
	takenAt  time.Time
}

func (tx *Tx) latestFingerprint(ctx context.Context, resource, worktree string) (*fingerprint, error) {
	var f fingerprint
	var at int64
	err := tx.queryRow(ctx, `SELECT manifest, taken_at FROM fingerprints WHERE resource = ? AND worktree = ? ORDER BY id DESC LIMIT 1`, resource, worktree).Scan(&f.manifest, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, storeErr("read fingerprints", err)
	}
	f.takenAt = time.UnixMilli(at).UTC()
	return &f, nil
}

func (tx *Tx) insertFingerprint(ctx context.Context, resource, worktree, manifest string, files int, reason string) error {
	_, err := tx.exec(ctx, `INSERT INTO fingerprints (resource, worktree, manifest, files, taken_at, reason) VALUES (?, ?, ?, ?, ?, ?)`,
		resource, worktree, manifest, files, ms(tx.now), reason)
	return err
}

// leaseActiveBetween reports whether any lease on resource was active at
// some moment in [from, to].
func (tx *Tx) leaseActiveBetween(ctx context.Context, resource string, from, to time.Time) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM leases WHERE resource = ? AND created_at <= ? AND COALESCE(ended_at, expires_at) >= ?`,
		resource, ms(to), ms(from)).Scan(&n)
	if err != nil {
		return false, storeErr("read leases", err)
	}
	return n > 0, nil
}

// fingerprintSnapshot is what the audit job measured, in one worktree,
// before its transaction.
type fingerprintSnapshot struct {
	worktree  string // the worktree key: '' for the main one
	manifests map[string]*Manifest
	hashes    map[string]string
}

// takeSnapshot fingerprints the worktree the command runs in.
func (s *Service) takeSnapshot() (*fingerprintSnapshot, error) {
	return s.snapshotWorktree(s.worktreeKey(s.Worktree), s.Worktree)
}

func (s *Service) snapshotWorktree(key, dir string) (*fingerprintSnapshot, error) {
	manifests, err := s.fingerprintAll(dir)
	if err != nil {
		return nil, Errorf(EINTERNAL, "fingerprint resources: %v", err)
	}
	snap := &fingerprintSnapshot{worktree: key, manifests: manifests, hashes: map[string]string{}}
	for id, m := range manifests {
		h, err := s.storeManifest(m)
		if err != nil {
			return nil, err
		}
		snap.hashes[id] = h
	}
	return snap, nil
}

// detectShadowEdits compares the snapshot with each resource's previous
// fingerprint inside the caller's transaction, records every shadow edit
// with a dead_end signal, and makes the snapshot the new fingerprint.
func (s *Service) detectShadowEdits(ctx context.Context, tx *Tx, snap *fingerprintSnapshot, actor string) ([]*ShadowEdit, error) {
	var found []*ShadowEdit
	for _, r := range s.Config.Resources {
		cur := snap.hashes[r.ID]
		prev, err := tx.latestFingerprint(ctx, r.ID, snap.worktree)
		if err != nil {
			return nil, err
		}
		if err := tx.insertFingerprint(ctx, r.ID, snap.worktree, cur, len(snap.manifests[r.ID].Files), "audit"); err != nil {
			return nil, err
		}
		if prev == nil || prev.manifest == cur {
			continue
		}
		leased, err := tx.leaseActiveBetween(ctx, r.ID, prev.takenAt, tx.now)
		if err != nil {
			return nil, err
		}
		if leased {
			continue
		}
		old, err := s.loadManifest(prev.manifest)
		if err != nil {
			return nil, err
		}
		changes := diffManifests(old, snap.manifests[r.ID])
		if len(changes) == 0 {
			continue
		}
		edit, err := s.recordShadowEdit(ctx, tx, r, snap.worktree, prev, cur, changes, actor)
		if err != nil {
			return nil, err
		}
		found = append(found, edit)
	}
	return found, nil
}

func (s *Service) recordShadowEdit(ctx context.Context, tx *Tx, r Resource, worktree string, prev *fingerprint, cur string, changes []PathChange, actor string) (*ShadowEdit, error) {
	paths, _ := json.Marshal(changes)
	res, err := tx.exec(ctx, `INSERT INTO shadow_edits (resource, worktree, paths, old_blob, new_blob, detected_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, worktree, string(paths), prev.manifest, cur, ms(tx.now))
	if err != nil {
		return nil, err
	}
	id, _ := res.LastInsertId()
	var list []string
	for _, c := range changes {
		list = append(list, c.Path+" ("+c.Change+")")
	}
	where := ""
	if worktree != "" {
		where = " in the worktree " + worktree
	}
	body := fmt.Sprintf("Shadow edit %d: %s (%s) changed%s while nobody held a lease on it (no lease active since the fingerprint of %s): %s. "+
		"Both versions are in the blob store. Undo it with `oxygen shadow restore %d` (holding a lease on %s), or acknowledge it with `oxygen shadow accept %d --reason \"...\"`.",
		id, r.ID, r.Domain, where, Time{prev.takenAt}, strings.Join(list, ", "), id, r.ID, id)
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
	if err := tx.execOne(ctx, "record shadow edit", `UPDATE shadow_edits SET signal_id = ? WHERE id = ?`, sig.ID, id); err != nil {
		return nil, err
	}
	if err := tx.audit(ctx, actor, "shadow.detect", fmt.Sprintf("shadow:%d", id), map[string]any{
		"resource": r.ID, "worktree": worktree, "paths": changes, "old_blob": prev.manifest, "new_blob": cur, "signal": sig.ID}); err != nil {
		return nil, err
	}
	return &ShadowEdit{ID: id, Resource: r.ID, Worktree: worktree, Paths: changes, OldBlob: prev.manifest, NewBlob: cur, DetectedAt: Time{tx.now}, Status: "open", Signal: sig.ID}, nil
}

const shadowColumns = `id, resource, worktree, paths, old_blob, new_blob, detected_at, status, COALESCE(resolved_at, 0), COALESCE(resolved_by, ''), COALESCE(reason, ''), COALESCE(signal_id, 0)`

func scanShadow(sc interface{ Scan(...any) error }) (*ShadowEdit, error) {
	var e ShadowEdit
	var paths string
	var detected, resolved int64
	if err := sc.Scan(&e.ID, &e.Resource, &e.Worktree, &paths, &e.OldBlob, &e.NewBlob, &detected, &e.Status, &resolved, &e.ResolvedBy, &e.Reason, &e.Signal); err != nil {
		return nil, err
	}
	e.DetectedAt, e.ResolvedAt = fromMS(detected), fromMS(resolved)
	if err := decodeStored("shadow edit paths", paths, &e.Paths); err != nil {
		return nil, err
	}
	if e.Paths == nil {
		e.Paths = []PathChange{}
	}
	return &e, nil
}

func (tx *Tx) shadowEdits(ctx context.Context, where string, args ...any) ([]*ShadowEdit, error) {
	rows, err := tx.query(ctx, `SELECT `+shadowColumns+` FROM shadow_edits WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*ShadowEdit{}
	for rows.Next() {
		e, err := scanShadow(rows)
		if err != nil {
			return nil, storeErr("read shadow edits", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (tx *Tx) getShadow(ctx context.Context, id int64) (*ShadowEdit, error) {
	e, err := scanShadow(tx.queryRow(ctx, `SELECT `+shadowColumns+` FROM shadow_edits WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "no shadow edit %d", id)
	}
	if err != nil {
		return nil, storeErr("read shadow edit", err)
	}
	return e, nil
}

// ShadowEdits lists shadow edits, optionally only those with a status.
func (s *Service) ShadowEdits(ctx context.Context, status string) ([]*ShadowEdit, error) {
	if status != "" && status != "open" && status != "restored" && status != "accepted" {
		return nil, Errorf(EINVALID, "--status %q: use open, restored or accepted", status)
	}
	var out []*ShadowEdit
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		if status == "" {
			out, err = tx.shadowEdits(ctx, `1=1 ORDER BY id`)
		} else {
			out, err = tx.shadowEdits(ctx, `status = ? ORDER BY id`, status)
		}
		return err
	})
	return out, err
}

// RestoreResult is what a restore put back and what it left.
type RestoreResult struct {
	Edit     *ShadowEdit `json:"shadow_edit"`
	Restored []string    `json:"restored"` // changed or deleted files put back
	Kept     []string    `json:"kept"`     // files the edit added, left in place
}

// RestoreShadow puts back the content from before a shadow edit. Restoring
// changes the resource, so the actor must hold a lease on it. The current
// content of every file it overwrites is stored as a blob first.
func (s *Service) RestoreShadow(ctx context.Context, id int64, actor Actor) (*RestoreResult, error) {
	var edit *ShadowEdit
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		if edit, err = tx.getShadow(ctx, id); err != nil {
			return err
		}
		if edit.Status != "open" {
			return Errorf(ECONFLICT, "shadow edit %d is already %s", id, edit.Status)
		}
		if here := s.worktreeKey(s.Worktree); edit.Worktree != here {
			return Errorf(EINVALID, "shadow edit %d was made in the worktree %s: run the restore there (cd %s && oxygen shadow restore %d)",
				id, s.worktreeDir(edit.Worktree), s.worktreeDir(edit.Worktree), id)
		}
		return tx.requireLease(ctx, edit.Resource, actor, "restore shadow edit "+itoa(id))
	})
	if err != nil {
		return nil, err
	}
	old, err := s.loadManifest(edit.OldBlob)
	if err != nil {
		return nil, err
	}
	newer, err := s.loadManifest(edit.NewBlob)
	if err != nil {
		return nil, err
	}
	res := &RestoreResult{Restored: []string{}, Kept: []string{}}
	oldIdx := old.index()
	for _, f := range newer.Files {
		if _, ok := oldIdx[f.Path]; !ok {
			res.Kept = append(res.Kept, f.Path)
		}
	}
	blobs := s.blobs()
	wt, err := safefs.Open(s.Worktree)
	if err != nil {
		return nil, Errorf(EINTERNAL, "open %s: %v", s.Worktree, err)
	}
	defer wt.Close()
	// Read everything first: a path that a symlink leads out of the
	// worktree refuses the whole restore before any file is written.
	var stale []ManifestEntry
	for _, f := range old.Files {
		same, err := sameContent(blobs, wt, f)
		if err != nil {
			return nil, restoreErr(id, f.Path, err)
		}
		if !same {
			stale = append(stale, f)
		}
	}
	for _, f := range stale {
		if err := restoreFile(blobs, wt, f); err != nil {
			return nil, restoreErr(id, f.Path, err)
		}
		res.Restored = append(res.Restored, f.Path)
	}
	snap, err := s.takeSnapshot()
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *Tx) error {
		e, err := tx.getShadow(ctx, id)
		if err != nil {
			return err
		}
		if e.Status != "open" {
			return Errorf(ECONFLICT, "shadow edit %d is already %s", id, e.Status)
		}
		if err := tx.requireLease(ctx, e.Resource, actor, "restore shadow edit "+itoa(id)); err != nil {
			return err
		}
		if err := tx.execOne(ctx, "restore shadow edit "+itoa(id), `UPDATE shadow_edits SET status = 'restored', resolved_at = ?, resolved_by = ? WHERE id = ? AND status = 'open'`,
			ms(tx.now), actor.Owner, id); err != nil {
			return err
		}
		if err := tx.insertFingerprint(ctx, e.Resource, snap.worktree, snap.hashes[e.Resource], len(snap.manifests[e.Resource].Files), "restore"); err != nil {
			return err
		}
		if err := tx.audit(ctx, actor.Owner, "shadow.restore", fmt.Sprintf("shadow:%d", id), map[string]any{
			"resource": e.Resource, "restored": res.Restored, "kept": res.Kept, "fingerprint": snap.hashes[e.Resource]}); err != nil {
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

// requireLease checks that actor holds a live lease on resource.
func (tx *Tx) requireLease(ctx context.Context, resource string, actor Actor, what string) error {
	_, err := tx.heldBy(ctx, resource, actor.Owner, what)
	if ErrorCode(err) == ECONFLICT {
		return Errorf(EDENIED, "to %s, hold a lease on %s first: oxygen claim %s --owner %s", what, resource, resource, actor.Owner)
	}
	return err
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
func sameContent(blobs *capsules.BlobStore, wt *safefs.Root, f ManifestEntry) (bool, error) {
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
func restoreFile(blobs *capsules.BlobStore, wt *safefs.Root, f ManifestEntry) error {
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

// AcceptShadow acknowledges a shadow edit: its content becomes the resource's
// fingerprint.
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
		if e.Status != "open" {
			return Errorf(ECONFLICT, "shadow edit %d is already %s", id, e.Status)
		}
		if err := tx.execOne(ctx, "accept shadow edit "+itoa(id), `UPDATE shadow_edits SET status = 'accepted', resolved_at = ?, resolved_by = ?, reason = ? WHERE id = ? AND status = 'open'`,
			ms(tx.now), actor.Owner, reason, id); err != nil {
			return err
		}
		m, err := s.loadManifest(e.NewBlob)
		if err != nil {
			return err
		}
		if err := tx.insertFingerprint(ctx, e.Resource, e.Worktree, e.NewBlob, len(m.Files), "accept"); err != nil {
			return err
		}
		if err := tx.audit(ctx, actor.Owner, "shadow.accept", fmt.Sprintf("shadow:%d", id), map[string]any{
			"resource": e.Resource, "reason": reason, "fingerprint": e.NewBlob}); err != nil {
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
