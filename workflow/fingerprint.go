package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/internal/pathspec"
	"github.com/oxygen-tools/oxygen/internal/safefs"
	"github.com/oxygen-tools/oxygen/store"
)

// A resource is fingerprinted at every lease boundary: when a lease on it
// is granted, released, expires or is revoked, in the worktree where the
// command runs, and at each audit, in every worktree. Consecutive
// fingerprints of one resource in one worktree then bracket a stretch that
// is either under a lease or not, so a change between the end of one lease
// and the next claim is known to be unleased, whoever claims next. The
// files are read before the write lock is taken, through a stat cache, so
// only files whose size, times or inode moved are hashed; the transaction
// only compares and records.

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

// Boundary kinds, as fingerprints.reason records them.
const (
	boundaryAudit   = "audit"
	boundaryRestore = "restore"
	boundaryClaim   = "claim"
	boundaryRelease = "release"
	boundaryExpire  = "expire"
	boundaryRevoke  = "revoke"
)

// endBoundary is the boundary a lease's final state marks.
var endBoundary = map[LeaseState]string{LeaseReleased: boundaryRelease, LeaseExpired: boundaryExpire, LeaseRevoked: boundaryRevoke}

// skipDirs are Oxygen's own bookkeeping, never part of a resource's content.
func (s *Service) skipDirs() map[string]bool {
	return map[string]bool{
		".git": true, StateDir: true, ".substrate/store": true, ReportsDir: true,
		s.Config.Capsules.Dir: true, s.Config.Signals.Dir: true,
	}
}

// fingerprintSnapshot is what one scan of one worktree measured, before the
// transaction that records it.
type fingerprintSnapshot struct {
	worktree  string // the worktree key: '' for the main one
	startedAt int64  // the host's wall clock when the scan began, ns
	manifests map[string]*Manifest
	hashes    map[string]string
}

// racyWindow: a file changed this recently is hashed again next time rather
// than trusted to the stat cache. Timestamps have a granularity (a kernel
// tick or coarser), so a second write within it could leave every field
// of the stat key as the first write left it, as git's "racily clean"
// entries show.
const racyWindow = 2 * time.Second

// scanClock is the host's wall clock, which file times are set by; the
// store's clock (Service.Clock) may be pinned or stand still. Tests move it
// to trust files they just wrote.
var scanClock = time.Now

// scanHere fingerprints resources in the worktree the command runs in.
func (s *Service) scanHere(resources []Resource) (*fingerprintSnapshot, error) {
	return s.scanWorktree(s.worktreeKey(s.Worktree), s.Worktree, resources)
}

// scanWorktree stores every file the given resources cover in the worktree
// at dir as a blob, reading only files the stat cache cannot vouch for, and
// returns one manifest per resource. It walks only the directories the
// resources' patterns can match.
func (s *Service) scanWorktree(key, dir string, resources []Resource) (*fingerprintSnapshot, error) {
	started := scanClock()
	snap := &fingerprintSnapshot{worktree: key, startedAt: started.UnixNano(), manifests: map[string]*Manifest{}, hashes: map[string]string{}}
	if len(resources) == 0 {
		return snap, nil
	}
	caches := s.loadStatCaches(key, resources)
	known := caches[resources[0].ID].entries
	if len(resources) > 1 {
		known = map[string]statEntry{}
		for _, c := range caches {
			for p, e := range c.entries {
				known[p] = e
			}
		}
	}
	fresh := make(map[string]map[string]statEntry, len(resources))
	var patterns pathspec.Set
	for _, r := range resources {
		n := len(caches[r.ID].entries)
		snap.manifests[r.ID] = &Manifest{Resource: r.ID, Files: make([]ManifestEntry, 0, n)}
		fresh[r.ID] = make(map[string]statEntry, n)
		patterns = append(patterns, r.patterns...)
	}
	wt, err := safefs.Open(dir)
	if err != nil {
		return nil, Errorf(EINTERNAL, "fingerprint resources: %v", err)
	}
	defer wt.Close()
	blobs := s.blobs()
	trustBefore := started.Add(-racyWindow).UnixNano()
	record := func(e statEntry, owners []Resource) {
		settled := e.settled(trustBefore)
		for _, r := range owners {
			m := snap.manifests[r.ID]
			m.Files = append(m.Files, e.ManifestEntry)
			if settled {
				fresh[r.ID][e.Path] = e
			}
		}
	}
	// Files the cache vouches for are recorded as the walk meets them; the
	// rest are read afterwards, several at a time, since each new blob
	// waits for its fsync.
	var misses []fileToHash
	var owners []Resource
	visit := func(rel string, fi fs.FileInfo) error {
		owners = owners[:0]
		for _, r := range resources {
			if r.Covers(rel) {
				owners = append(owners, r)
			}
		}
		if len(owners) == 0 {
			return nil
		}
		if e, ok := known[rel]; ok && e.key == safefs.KeyOf(fi) {
			record(e, owners)
			return nil
		}
		misses = append(misses, fileToHash{rel: rel, fi: fi, owners: slices.Clone(owners)})
		return nil
	}
	if err := walkBases(wt, patterns.Bases(), s.skipDirs(), visit); err != nil {
		return nil, Errorf(EINTERNAL, "fingerprint resources: %v", err)
	}
	if err := hashFiles(blobs, wt, misses); err != nil {
		return nil, err
	}
	for _, m := range misses {
		if m.ok {
			record(m.entry, m.owners)
		}
	}
	for _, r := range resources {
		h, err := s.manifestHash(caches[r.ID], snap.manifests[r.ID], fresh[r.ID])
		if err != nil {
			return nil, err
		}
		snap.hashes[r.ID] = h
	}
	return snap, nil
}

// manifestHash stores m and returns its hash, the fingerprint, and keeps
// the resource's stat cache up to date. When every file matched the cache
// and nothing was added or removed, m is the manifest the cache recorded,
// already stored: the steady state of a claim encodes and hashes nothing.
func (s *Service) manifestHash(c *statCache, m *Manifest, fresh map[string]statEntry) (string, error) {
	whole := len(m.Files) == len(fresh) // every file is trusted to the cache
	if whole && c.manifest != "" && sameCache(c.entries, fresh) && s.blobs().Has(c.manifest) {
		return c.manifest, nil
	}
	h, err := s.storeManifest(m)
	if err != nil {
		return "", err
	}
	next := &statCache{worktree: c.worktree, resource: c.resource, entries: fresh}
	if whole {
		next.manifest = h
	}
	if next.manifest != c.manifest || !sameCache(c.entries, fresh) {
		s.saveStatCache(next)
	}
	return h, nil
}

// walkBases visits every regular file and symlink at or below each base,
// exactly as a walk of the whole worktree would find them: it never
// descends through a symlink (one met on the way to a base is visited as
// the entry it is) and prunes Oxygen's own directories.
func walkBases(wt *safefs.Root, bases []string, skip map[string]bool, visit func(string, fs.FileInfo) error) error {
	walk := func(rel string, d fs.DirEntry, err error) error {
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
		fi, err := d.Info()
		if err != nil {
			return nil // vanished while walking
		}
		return visit(rel, fi)
	}
	for _, base := range bases {
		if base == "" {
			if err := fs.WalkDir(wt.FS(), ".", walk); err != nil {
				return err
			}
			continue
		}
		segs := strings.Split(base, "/")
		for i := range segs {
			rel := strings.Join(segs[:i+1], "/")
			if skip[rel] {
				break
			}
			fi, err := wt.Lstat(rel)
			if err != nil {
				break // missing, or a way out of the worktree: nothing to walk
			}
			if !fi.IsDir() {
				if err := visit(rel, fi); err != nil {
					return err
				}
				break
			}
			if i == len(segs)-1 {
				if err := fs.WalkDir(wt.FS(), rel, walk); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// statEntry is what the stat cache knows of a file: its manifest entry,
// valid as long as the file's stat key is the same.
type statEntry struct {
	ManifestEntry
	key safefs.StatKey
}

// settled reports whether the entry may be trusted next time: the file had
// not changed within racyWindow of the scan.
func (e *statEntry) settled(before int64) bool {
	changed := e.key.CTime
	if changed == 0 {
		changed = e.key.MTime
	}
	return changed < before && e.key.MTime < before
}

// fileToHash is a file the stat cache could not vouch for.
type fileToHash struct {
	rel    string
	fi     fs.FileInfo
	owners []Resource
	entry  statEntry
	ok     bool // false: it vanished, or is neither a file nor a symlink
}

// hashWorkers is how many files are read and stored at once: a new blob
// costs an fsync, and several overlap.
const hashWorkers = 4

// hashFiles stores each file as a blob and describes it.
func hashFiles(blobs capsules.Blobs, wt *safefs.Root, files []fileToHash) error {
	next := make(chan int)
	errs := make(chan error, hashWorkers)
	var wg sync.WaitGroup
	for range min(hashWorkers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f := &files[i]
				var err error
				if f.entry, f.ok, err = snapshotFile(blobs, wt, f.rel, f.fi); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range files {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	return err
}

// snapshotFile stores one file as a blob (a symlink as its target) and
// describes it; ok is false for a file that vanished or is neither regular
// nor a symlink. Large files are streamed into the blob store rather than
// held in memory.
func snapshotFile(blobs capsules.Blobs, wt *safefs.Root, rel string, fi fs.FileInfo) (e statEntry, ok bool, err error) {
	e = statEntry{ManifestEntry: ManifestEntry{Path: rel, Mode: "file"}, key: safefs.KeyOf(fi)}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := wt.Readlink(rel)
		if err != nil {
			return e, false, nil
		}
		e.Mode = "symlink"
		if e.Blob, err = blobs.Put([]byte(target)); err != nil {
			return e, false, Errorf(EINTERNAL, "%v", err)
		}
	case fi.Mode().IsRegular():
		f, opened, err := wt.OpenRegular(rel)
		if err != nil {
			return e, false, nil
		}
		// What was read is described by the open file, not by the walk's
		// earlier look at the name.
		e.key = safefs.KeyOf(opened)
		e.Blob, err = blobs.PutStream(f)
		f.Close()
		if err != nil {
			return e, false, Errorf(EINTERNAL, "%v", err)
		}
		if opened.Mode()&0o111 != 0 {
			e.Mode = "exec"
		}
	default:
		return e, false, nil
	}
	return e, true, nil
}

// The stat cache is derived, machine-local data under the state directory,
// one file per worktree and resource, so a claim reads only its resource's
// entries. Losing it, or finding it unreadable, costs a re-hash, never a
// wrong answer: an entry is used only while the file's stat key matches.
const statCacheDir = StateDir + "/fingerprint-cache"

// statCacheHeader starts the file; the next line names the manifest the
// entries make up when they are the resource's every file, else "-".
const statCacheHeader = "oxygen stat cache 1\n"

// statCache is one resource's cache in one worktree.
type statCache struct {
	worktree, resource string
	manifest           string
	entries            map[string]statEntry
}

// path is where the cache lives, logical (under the state directory).
func (c *statCache) path() string {
	sum := sha256.Sum256([]byte(c.worktree))
	return path.Join(statCacheDir, hex.EncodeToString(sum[:8]), c.resource)
}

// loadStatCaches reads each resource's cache; a missing or malformed one
// is empty.
func (s *Service) loadStatCaches(worktree string, resources []Resource) map[string]*statCache {
	out := map[string]*statCache{}
	home, _ := s.Layout.stateRoot(statCacheDir)
	r, err := safefs.Open(home)
	for _, res := range resources {
		c := &statCache{worktree: worktree, resource: res.ID}
		out[res.ID] = c
		if err != nil {
			continue
		}
		_, rel := s.Layout.stateRoot(c.path())
		if data, err := r.ReadFile(rel, 1<<30); err == nil {
			c.manifest, c.entries = parseStatCache(data)
		}
	}
	if err == nil {
		r.Close()
	}
	return out
}

// Each record is "blob mode size mtime ctime inode device kind path" and
// ends with a NUL, which no path holds. A malformed file is ignored whole.
func parseStatCache(data []byte) (string, map[string]statEntry) {
	rest, ok := strings.CutPrefix(string(data), statCacheHeader)
	if !ok {
		return "", nil
	}
	manifest, rest, ok := strings.Cut(rest, "\n")
	if !ok || (manifest != "-" && !capsules.ValidHash(manifest)) {
		return "", nil
	}
	if manifest == "-" {
		manifest = ""
	}
	out := make(map[string]statEntry, strings.Count(rest, "\x00"))
	for rest != "" {
		var rec string
		if rec, rest, ok = strings.Cut(rest, "\x00"); !ok {
			return "", nil
		}
		var f [8]string
		for i := range f {
			if f[i], rec, ok = strings.Cut(rec, " "); !ok {
				return "", nil
			}
		}
		var n [6]int64
		for i := range n {
			v, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return "", nil
			}
			n[i] = v
		}
		if !capsules.ValidHash(f[0]) || rec == "" {
			return "", nil
		}
		out[rec] = statEntry{ManifestEntry: ManifestEntry{Path: rec, Blob: f[0], Mode: f[7]},
			key: safefs.StatKey{Mode: fs.FileMode(n[0]), Size: n[1], MTime: n[2], CTime: n[3], Inode: uint64(n[4]), Device: uint64(n[5])}}
	}
	return manifest, out
}

// saveStatCache replaces a resource's cache. It is not synced: after a
// crash the cache is at worst missing or unreadable, which costs a re-hash.
func (s *Service) saveStatCache(c *statCache) {
	var b strings.Builder
	b.WriteString(statCacheHeader)
	if c.manifest == "" {
		b.WriteString("-\n")
	} else {
		b.WriteString(c.manifest + "\n")
	}
	for _, e := range c.entries {
		k := e.key
		for _, v := range []string{e.Blob, strconv.FormatInt(int64(k.Mode), 10), strconv.FormatInt(k.Size, 10), strconv.FormatInt(k.MTime, 10),
			strconv.FormatInt(k.CTime, 10), strconv.FormatUint(k.Inode, 10), strconv.FormatUint(k.Device, 10), e.Mode} {
			b.WriteString(v)
			b.WriteByte(' ')
		}
		b.WriteString(e.Path)
		b.WriteByte(0)
	}
	home, rel := s.Layout.stateRoot(c.path())
	r, err := safefs.Open(home)
	if err != nil {
		return
	}
	defer r.Close()
	r.Replace(rel, []byte(b.String()), 0o644, tempTag(os.Getpid()))
}

func sameCache(a, b map[string]statEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for p, e := range b {
		if a[p] != e {
			return false
		}
	}
	return true
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

// fingerprint is one recorded fingerprint of a resource in a worktree.
type fingerprint struct {
	manifest  string
	files     int
	takenAt   time.Time
	reason    string
	lease     int64
	scannedAt int64
}

// heldAfter reports whether a lease on the resource was live right after
// this fingerprint: one granted at it, or live at an audit or a restore.
// It decides stretches the store's clock cannot split, as when time stands
// still (see readClock) and a claim and a release share an instant.
func (f *fingerprint) heldAfter() bool {
	switch f.reason {
	case boundaryRelease, boundaryExpire, boundaryRevoke:
		return false
	}
	return f.lease != 0
}

func (tx *Tx) latestFingerprint(ctx context.Context, resource, worktree string) (*fingerprint, error) {
	row, ok, err := tx.st.FingerprintLatest(ctx, resource, worktree)
	if err != nil || !ok {
		return nil, storeErr("read fingerprints", err)
	}
	return &fingerprint{manifest: row.Manifest, files: row.Files, takenAt: row.TakenAt, reason: row.Reason, lease: row.LeaseID, scannedAt: row.ScannedAtNS}, nil
}

func (tx *Tx) insertFingerprint(ctx context.Context, resource, worktree string, f *fingerprint) error {
	return storeErr("record fingerprint", tx.st.FingerprintInsert(ctx, store.Fingerprint{Resource: resource, Worktree: worktree,
		Manifest: f.manifest, Files: f.files, TakenAt: tx.now, Reason: f.reason, LeaseID: f.lease, ScannedAtNS: f.scannedAt}))
}

// leasedSince reports whether a lease on resource was live at some moment
// after prev was taken: right after it, or from some instant strictly
// between it and now. A lease that ended at prev, or begins now, does not
// count: the stretch between a release and the next claim is unleased.
func (tx *Tx) leasedSince(ctx context.Context, resource string, prev *fingerprint) (bool, error) {
	if prev.heldAfter() {
		return true, nil
	}
	live, err := tx.st.LeaseLiveBetween(ctx, resource, prev.takenAt, tx.now)
	return live, storeErr("read leases", err)
}

// boundary is one point where a resource is fingerprinted.
type boundary struct {
	reason string // audit, claim, release, expire, revoke or restore
	lease  int64  // see fingerprints.lease_id
	actor  string // who ran the command that reached it
}

// markBoundary records snap's fingerprint of r as a boundary. If the
// resource changed since its previous fingerprint in that worktree while
// no lease on it was live, the change is a shadow edit: recorded, with a
// dead_end signal, and returned. If another command recorded a fingerprint
// from a scan that began after this one, that is the newer observation
// and is recorded again in place of this scan.
func (s *Service) markBoundary(ctx context.Context, tx *Tx, snap *fingerprintSnapshot, r Resource, b boundary) (*ShadowEdit, error) {
	cur, ok := snap.hashes[r.ID]
	if !ok {
		return nil, nil
	}
	prev, err := tx.latestFingerprint(ctx, r.ID, snap.worktree)
	if err != nil {
		return nil, err
	}
	next := &fingerprint{manifest: cur, files: len(snap.manifests[r.ID].Files), reason: b.reason, lease: b.lease, scannedAt: snap.startedAt}
	var edit *ShadowEdit
	switch {
	case prev == nil:
	case prev.scannedAt > snap.startedAt:
		next.manifest, next.files, next.scannedAt = prev.manifest, prev.files, prev.scannedAt
	case prev.manifest != cur:
		if edit, err = s.judgeChange(ctx, tx, r, snap, prev, b); err != nil {
			return nil, err
		}
	}
	return edit, tx.insertFingerprint(ctx, r.ID, snap.worktree, next)
}

// judgeChange records the change from prev to snap's fingerprint of r as a
// shadow edit unless a lease on r was live meanwhile.
func (s *Service) judgeChange(ctx context.Context, tx *Tx, r Resource, snap *fingerprintSnapshot, prev *fingerprint, b boundary) (*ShadowEdit, error) {
	leased, err := tx.leasedSince(ctx, r.ID, prev)
	if err != nil || leased {
		return nil, err
	}
	// The previous manifest is read under the lock, but only here, when an
	// unleased change was found; its size is the resource's file count.
	old, err := s.loadManifest(prev.manifest)
	if err != nil {
		return nil, err
	}
	changes := diffManifests(old, snap.manifests[r.ID])
	if len(changes) == 0 {
		return nil, nil
	}
	return s.recordShadowEdit(ctx, tx, r, snap.worktree, prev, snap.hashes[r.ID], changes, b)
}

// leaseScans are the fingerprints a command took, before its write
// transaction, of the resources whose leases it may grant or end. Every
// lease boundary inside the transaction (endLease, a grant) marks them.
type leaseScans struct {
	svc   *Service
	snap  *fingerprintSnapshot
	actor string
	found []*ShadowEdit
}

// scanLeases fingerprints resources (unknown ids are skipped: the
// transaction reports them) in the worktree the command runs in.
func (s *Service) scanLeases(actor string, ids ...string) (*leaseScans, error) {
	var resources []Resource
	for _, id := range ids {
		if r, ok := s.Config.Resource(id); ok && !slices.ContainsFunc(resources, func(k Resource) bool { return k.ID == id }) {
			resources = append(resources, r)
		}
	}
	snap, err := s.scanHere(resources)
	if err != nil {
		return nil, err
	}
	return &leaseScans{svc: s, snap: snap, actor: actor, found: []*ShadowEdit{}}, nil
}

// mark records the boundary of lease on resource, if it was scanned.
func (ls *leaseScans) mark(ctx context.Context, tx *Tx, resource, reason string, lease int64) error {
	if ls == nil {
		return nil
	}
	r, ok := ls.svc.Config.Resource(resource)
	if !ok {
		return nil
	}
	e, err := ls.svc.markBoundary(ctx, tx, ls.snap, r, boundary{reason: reason, lease: lease, actor: ls.actor})
	if e != nil {
		ls.found = append(ls.found, e)
	}
	return err
}

// writeScanned runs fn in a write transaction whose lease boundaries mark
// scans.
func (s *Service) writeScanned(ctx context.Context, scans *leaseScans, fn func(*Tx) error) error {
	return s.write(ctx, func(tx *Tx) error {
		if scans != nil {
			scans.found = []*ShadowEdit{}
		}
		tx.scans = scans
		return fn(tx)
	})
}

// auditBoundaries records each worktree's fingerprint of every resource as
// an audit boundary, with the lease live on it if any, and counts the
// shadow edits found.
func (s *Service) auditBoundaries(ctx context.Context, tx *Tx, snaps []*fingerprintSnapshot, actor string) (int, error) {
	live, err := tx.liveLeases(ctx)
	if err != nil {
		return 0, err
	}
	found := 0
	for _, snap := range snaps {
		for _, r := range s.Config.Resources {
			var lease int64
			if l := live[r.ID]; l != nil {
				lease = l.ID
			}
			e, err := s.markBoundary(ctx, tx, snap, r, boundary{reason: boundaryAudit, lease: lease, actor: actor})
			if err != nil {
				return 0, err
			}
			if e != nil {
				found++
			}
		}
	}
	return found, nil
}
