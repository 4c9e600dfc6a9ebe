package workflow

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/internal/safefs"
	"github.com/oxygen-tools/oxygen/store"
)

// CapsuleFile is one linked file as a capsule generation recorded it.
type CapsuleFile struct {
	Path   string `json:"path"`
	Status string `json:"status"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Note   string `json:"note"`
}

// Capsule is one recorded generation of an item's capsule.
type Capsule struct {
	Item        string        `json:"item"`
	Generation  int           `json:"generation"`
	Path        string        `json:"path"`   // the working copy, root-relative
	SHA256      string        `json:"sha256"` // the blob's name
	Blob        string        `json:"blob"`   // the blob, root-relative
	Template    string        `json:"template"`
	GeneratedAt Time          `json:"generated_at"`
	Embedded    []CapsuleFile `json:"embedded"`
	Withheld    []CapsuleFile `json:"withheld"`

	id      int64
	key     string
	content []byte
}

// OverLimit lists the files left out by the max_files drift guard.
func (c *Capsule) OverLimit() []string {
	var out []string
	for _, f := range c.Withheld {
		if f.Status == capsules.OverLimit {
			out = append(out, f.Path)
		}
	}
	return out
}

// blobs is the store's blob store: the database's on a server store, so
// every machine can restore and verify them; files under the state
// directory otherwise.
func (s *Service) blobs() capsules.Blobs {
	if b, ok := s.Store.(interface{ Blobs() capsules.Blobs }); ok {
		return b.Blobs()
	}
	home, dir := s.Layout.stateRoot(capsules.BlobDir)
	return &capsules.BlobStore{Home: home, Dir: dir}
}

func (s *Service) workingCopyPath(id string) string {
	return path.Join(s.Config.Capsules.Dir, id+".md")
}

// capsuleData gathers, inside the caller's transaction, everything the
// capsule of it shows. Only cheap checks run here: health is the verdict
// `orchestrate health` makes, from the latest integrity results on record.
func (s *Service) capsuleData(ctx context.Context, tx *Tx, in *capsuleInputs, it *Item, files []capsules.File) (capsules.Data, error) {
	cfg := s.Config
	d := capsules.Data{
		Title: it.Title, ID: it.ID, Kind: it.Kind, Domain: it.Domain, Priority: it.Priority,
		Status: string(it.Status), Owner: it.Owner,
		Generated: tx.now.UTC().Truncate(time.Second).Format(time.RFC3339),
		Objective: it.Objective, InScope: it.InScope, OutOfScope: it.OutOfScope,
		Invariants: append(append([]string{}, cfg.Invariants...), it.Invariants...),
		Files:      it.Files, Commands: it.Commands,
	}
	if len(d.InScope) == 0 {
		d.InScope = capsules.DefaultInScope
	}
	if len(d.OutOfScope) == 0 {
		d.OutOfScope = capsules.DefaultOutOfScope
	}
	live, err := leasesFromRows(tx.st.LeasesLiveByResource(ctx, tx.now))
	if err != nil {
		return d, err
	}
	holder := map[string]*Lease{}
	for _, l := range live {
		holder[l.Resource] = l
		d.ActiveLeases = append(d.ActiveLeases, capsules.LeaseLine{Resource: l.Resource, Owner: l.Owner, Domain: l.Domain, Token: l.Token, ExpiresAt: l.ExpiresAt.String()})
	}
	for _, r := range cfg.Resources {
		touched := false
		for _, f := range it.Files {
			touched = touched || r.Covers(f)
		}
		if !touched {
			continue
		}
		rl := capsules.ResourceLease{ID: r.ID, Domain: r.Domain,
			ClaimCommand: fmt.Sprintf("oxygen claim %s --item %s --owner %s --domain %s", r.ID, it.ID, it.Owner, it.Domain)}
		if l := holder[r.ID]; l != nil {
			rl.Holder, rl.Token, rl.ExpiresAt = fmt.Sprintf("%s (%s)", l.Owner, l.Domain), l.Token, l.ExpiresAt.String()
		}
		if r.Domain != it.Domain {
			rl.NeedsHandshake = true
			rl.HandshakeCommand = HandshakeCommand(Actor{Owner: it.Owner, Domain: it.Domain}, r, it.ID)
		}
		d.Resources = append(d.Resources, rl)
	}
	h, err := s.healthVerdict(ctx, tx, in.policyDrift)
	if err != nil {
		return d, err
	}
	d.Health, d.HealthReasons = h.Status, h.Lines()
	counts, err := tx.st.ItemCountsByStatus(ctx)
	if err != nil {
		return d, storeErr("count items", err)
	}
	for _, st := range Statuses {
		d.ItemsByStatus = append(d.ItemsByStatus, capsules.StatusCount{Status: string(st), Count: counts[st]})
	}
	if d.Signals, d.SignalsOmitted, err = tx.signalsFor(ctx, it); err != nil {
		return d, err
	}
	if d.Dependencies, err = tx.dependencies(ctx, it); err != nil {
		return d, err
	}
	d.AskCommand = AskCommand(it.ID, it.Owner, it.Domain)
	for _, g := range cfg.Capsules.DriftGuards {
		d.DriftGuards = append(d.DriftGuards, capsules.ExpandGuard(g, cfg.Capsules.MaxFiles, d.AskCommand))
	}
	d.DoneCommand = fmt.Sprintf("orchestrate done %s --by %s", it.ID, it.Owner)
	for _, r := range d.Resources {
		d.ReleaseCommands = append(d.ReleaseCommands, fmt.Sprintf("oxygen release %s --owner %s --domain %s", r.ID, it.Owner, it.Domain))
	}
	waiting, err := tx.dependentDomains(ctx, it.ID)
	if err != nil {
		return d, err
	}
	if len(waiting) == 0 {
		waiting = []string{it.Domain}
	}
	for _, to := range waiting {
		d.HandoffCommands = append(d.HandoffCommands, fmt.Sprintf(`orchestrate signal send --kind missive --from %s --domain %s --to %s --item %s --body "what changed, what is left"`, it.Owner, it.Domain, to, it.ID))
	}
	d.Embedded = files
	return d, nil
}

// capsuleSignals is how many signals a capsule lists.
const capsuleSignals = 10

// signalsFor lists the signals a capsule of it shows: those that name it,
// and those addressed to its domain that name no other item (an
// assignment of another item is not news for this one). The audit job's
// proclamations go to everyone and name no item, so they never appear.
// Both halves are index lookups. It returns the newest capsuleSignals,
// oldest first, and how many earlier ones were left out.
func (tx *Tx) signalsFor(ctx context.Context, it *Item) ([]capsules.SignalLine, int, error) {
	total, err := tx.st.CapsuleSignalsCount(ctx, it.ID, it.Domain)
	if err != nil {
		return nil, 0, storeErr("read signals", err)
	}
	rows, err := tx.st.CapsuleSignals(ctx, it.ID, it.Domain, capsuleSignals)
	if err != nil {
		return nil, 0, storeErr("read signals", err)
	}
	out := []capsules.SignalLine{}
	for _, sig := range rows {
		kind := sig.Kind
		if sig.Question {
			kind += " (question)"
		}
		out = append(out, capsules.SignalLine{ID: sig.ID, Kind: kind, From: fmt.Sprintf("%s (%s)", sig.From, sig.FromDomain), To: sig.To,
			At: Time{sig.CreatedAt}.String(), Excerpt: capsules.Excerpt(sig.Body)})
	}
	slices.Reverse(out)
	return out, total - len(out), nil
}

// dependencies describes the items it depends on, each with its latest
// move: who made it, when, how a completion was verified, and the reason
// given.
func (tx *Tx) dependencies(ctx context.Context, it *Item) ([]capsules.Dependency, error) {
	out := []capsules.Dependency{}
	for _, id := range it.DependsOn {
		dep, err := tx.getItem(ctx, id)
		if err != nil {
			return nil, err
		}
		d := capsules.Dependency{ID: dep.ID, Title: dep.Title, Status: string(dep.Status), Owner: dep.Owner}
		last, moved, err := tx.st.ItemTransitionLatest(ctx, id)
		if err != nil {
			return nil, storeErr("read history", err)
		}
		if moved {
			d.By, d.Note, d.At, d.Verification = last.Actor, last.Reason, Time{last.At}.String(), last.Verification
		}
		out = append(out, d)
	}
	return out, nil
}

// dependentDomains lists, in order, the domains of the items that depend
// on id: who a hand-off is for.
func (tx *Tx) dependentDomains(ctx context.Context, id string) ([]string, error) {
	domains, err := tx.st.ItemDependentDomains(ctx, id)
	return domains, storeErr("read dependencies", err)
}

// embedPolicy is the guardian's embedding policy, for item files and the
// capsule template alike.
func (s *Service) embedPolicy() capsules.Policy {
	cfg := s.Config
	return capsules.Policy{MaxFiles: cfg.Capsules.MaxFiles, MaxFileBytes: cfg.Capsules.MaxFileBytes, SecretPaths: cfg.Policy.secrets}
}

// capsuleInputs is what a capsule takes from files: the template and the
// item's files. They are read and hashed before the write transaction,
// since a linked file may be huge and nothing of unbounded size is read
// while holding the write lock.
type capsuleInputs struct {
	tmpl  *capsules.Template
	paths []string // the item's file list, as it was when collected
	files []capsules.File
	// policyDrift is health's word on this worktree's config, read from
	// files like the rest.
	policyDrift string
}

// errFilesChanged says the item's file list changed between gathering and
// the write transaction.
var errFilesChanged = errors.New("the item's files changed")

// gatherCapsule reads item id's file list (one read transaction), then the
// template and the files under the embedding policy, outside any lock. An
// item that does not exist gathers nothing: the write transaction reports
// it, in the protocol's order of checks.
func (s *Service) gatherCapsule(ctx context.Context, id string) (*capsuleInputs, error) {
	in := &capsuleInputs{}
	err := s.read(ctx, func(tx *Tx) error {
		it, err := tx.getItem(ctx, id)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		}
		if err == nil {
			in.paths = it.Files
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if in.tmpl, err = s.loadTemplate(); err != nil {
		return nil, err
	}
	in.files = capsules.Collect(s.Worktree, in.paths, s.embedPolicy())
	in.policyDrift = PolicyDrift(s.Layout, s.Config)
	return in, nil
}

// forItem returns what the capsule lists (the item's files, then the
// template if the policy withheld it), or errFilesChanged if the item's
// file list is no longer the one collected.
func (in *capsuleInputs) forItem(it *Item) ([]capsules.File, error) {
	if !slices.Equal(it.Files, in.paths) {
		return nil, errFilesChanged
	}
	if in.tmpl.Withheld == nil {
		return in.files, nil
	}
	return append(slices.Clip(in.files), *in.tmpl.Withheld), nil
}

// writeWithCapsule runs fn in a write transaction with the capsule inputs
// of item id, gathered beforehand; if the item's file list changed in the
// meantime it gathers them once more.
func (s *Service) writeWithCapsule(ctx context.Context, id string, fn func(*Tx, *capsuleInputs) error) error {
	return writeGathered(ctx, s, func() (*capsuleInputs, error) { return s.gatherCapsule(ctx, id) }, fn,
		"the files linked on "+id+" kept changing while its capsule was being made: run the command again")
}

// writeGathered runs gather outside any lock (it reads files), then fn in a
// write transaction with what it gathered. If fn finds that out of date
// (errFilesChanged), it gathers once more; a second time is a conflict,
// explained by again.
func writeGathered[T any](ctx context.Context, s *Service, gather func() (T, error), fn func(*Tx, T) error, again string) error {
	for attempt := 1; ; attempt++ {
		in, err := gather()
		if err != nil {
			return err
		}
		err = s.write(ctx, func(tx *Tx) error { return fn(tx, in) })
		if !errors.Is(err, errFilesChanged) {
			return err
		}
		if attempt == 2 {
			return Errorf(ECONFLICT, "%s", again)
		}
	}
}

// embeddedPaths lists the files whose bytes a capsule will hold.
func embeddedPaths(files []capsules.File) []string {
	out := []string{}
	for _, f := range files {
		if f.Embedded() {
			out = append(out, f.Path)
		}
	}
	return out
}

// renderCapsule builds the capsule of it as of the transaction. A template
// that fails to execute is invalid input, and nothing is written.
func (s *Service) renderCapsule(ctx context.Context, tx *Tx, in *capsuleInputs, it *Item, files []capsules.File) (capsules.Data, *capsules.Rendered, error) {
	data, err := s.capsuleData(ctx, tx, in, it, files)
	if err != nil {
		return data, nil, err
	}
	out, err := in.tmpl.RenderCapsule(data)
	if err != nil {
		return data, nil, Errorf(EINVALID, "%v", err)
	}
	return data, out, nil
}

// loadTemplate picks the capsule template; one that does not parse is
// invalid input.
func (s *Service) loadTemplate() (*capsules.Template, error) {
	tmpl, err := capsules.LoadTemplate(s.Worktree, s.Config.Capsules.Template, s.embedPolicy())
	if err != nil {
		return nil, Errorf(EINVALID, "%v", err)
	}
	return tmpl, nil
}

// writeCapsule renders it and records a new generation. The blob is stored
// before the transaction commits (content-addressed, so a blob of a rolled
// back transaction is harmless); the working copy is exported after commit.
// With onlyIfChanged, an unchanged capsule (apart from its generation time)
// returns the latest generation instead of recording another, and its
// working copy is restored.
func (s *Service) writeCapsule(ctx context.Context, tx *Tx, in *capsuleInputs, it *Item, files []capsules.File, actor string, onlyIfChanged bool) (*Capsule, bool, error) {
	tmpl := in.tmpl
	data, out, err := s.renderCapsule(ctx, tx, in, it, files)
	if err != nil {
		return nil, false, err
	}
	latest, err := tx.latestCapsule(ctx, it.ID)
	if err != nil {
		return nil, false, err
	}
	if onlyIfChanged && latest != nil && latest.key == out.Key {
		tx.export(latest.Path, latest.SHA256, nil)
		return latest, false, nil
	}
	hash, err := s.blobs().Put(out.Content)
	if err != nil {
		return nil, false, Errorf(EINTERNAL, "%v", err)
	}
	gen := 1
	if latest != nil {
		gen = latest.Generation + 1
	}
	c := &Capsule{Item: it.ID, Generation: gen, Path: s.workingCopyPath(it.ID), SHA256: hash, Blob: capsules.RelPath(hash),
		Template: tmpl.Source, GeneratedAt: Time{tx.now}, Embedded: []CapsuleFile{}, Withheld: []CapsuleFile{}, key: out.Key, content: out.Content}
	c.id, err = tx.st.CapsuleInsert(ctx, store.Capsule{Item: it.ID, Generation: gen, Blob: hash, ContentKey: out.Key, Path: c.Path,
		Template: tmpl.Source, TemplateSHA256: tmpl.SHA256, GeneratedAt: tx.now})
	if err != nil {
		return nil, false, storeErr("record capsule", err)
	}
	for i, f := range data.Embedded {
		cf := CapsuleFile{Path: f.Path, Status: f.Status, Size: f.Size, SHA256: f.SHA256, Note: f.Note}
		if f.Embedded() {
			c.Embedded = append(c.Embedded, cf)
		} else {
			c.Withheld = append(c.Withheld, cf)
		}
		if err := tx.st.CapsuleFileInsert(ctx, c.id, i, store.CapsuleFile(cf)); err != nil {
			return nil, false, storeErr("record capsule files", err)
		}
	}
	if err := tx.watchCapsule(ctx, c, data.Resources); err != nil {
		return nil, false, err
	}
	if err := tx.audit(ctx, actor, "capsule.generate", "item:"+it.ID, map[string]any{
		"generation": gen, "blob": hash, "path": c.Path, "template": tmpl.Source, "embedded": embeddedPaths(data.Embedded)}); err != nil {
		return nil, false, err
	}
	tx.export(c.Path, hash, out.Content)
	return c, true, nil
}

// capsuleFromRow is a recorded generation with the files it lists.
func (tx *Tx) capsuleFromRow(ctx context.Context, r store.Capsule) (*Capsule, error) {
	c := &Capsule{id: r.ID, Item: r.Item, Generation: r.Generation, SHA256: r.Blob, key: r.ContentKey, Path: r.Path, Template: r.Template,
		Blob: capsules.RelPath(r.Blob), GeneratedAt: Time{r.GeneratedAt}}
	return c, tx.capsuleFiles(ctx, c)
}

// capsulesFromRows is capsuleFromRow for each row an operation read, in
// order.
func (tx *Tx) capsulesFromRows(ctx context.Context, rows []store.Capsule, err error) ([]*Capsule, error) {
	if err != nil {
		return nil, storeErr("read capsules", err)
	}
	out := []*Capsule{}
	for _, r := range rows {
		c, err := tx.capsuleFromRow(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// oneCapsule is capsuleFromRow for an operation that reads at most one
// generation; nil when it found none.
func (tx *Tx) oneCapsule(ctx context.Context, r store.Capsule, ok bool, err error) (*Capsule, error) {
	if err != nil {
		return nil, storeErr("read capsules", err)
	}
	if !ok {
		return nil, nil
	}
	return tx.capsuleFromRow(ctx, r)
}

func (tx *Tx) capsuleFiles(ctx context.Context, c *Capsule) error {
	files, err := tx.st.CapsuleFiles(ctx, c.id)
	if err != nil {
		return storeErr("read capsule files", err)
	}
	c.Embedded, c.Withheld = []CapsuleFile{}, []CapsuleFile{}
	for _, f := range files {
		if f.Status == capsules.Embedded || f.Status == capsules.Truncated {
			c.Embedded = append(c.Embedded, CapsuleFile(f))
		} else {
			c.Withheld = append(c.Withheld, CapsuleFile(f))
		}
	}
	return nil
}

// latestCapsule is an item's newest generation, or nil if it has none.
func (tx *Tx) latestCapsule(ctx context.Context, id string) (*Capsule, error) {
	r, ok, err := tx.st.CapsuleLatest(ctx, id)
	return tx.oneCapsule(ctx, r, ok, err)
}

// RegenerateCapsule renders the capsule of an item in progress again. It
// records a new generation only if something other than the generation time
// changed, and always restores the working copy.
func (s *Service) RegenerateCapsule(ctx context.Context, id, actor string) (*Capsule, bool, error) {
	if err := checkItemID("item", id); err != nil {
		return nil, false, err
	}
	var c *Capsule
	var created bool
	err := s.writeWithCapsule(ctx, id, func(tx *Tx, in *capsuleInputs) error {
		it, err := tx.getItem(ctx, id)
		if err != nil {
			return err
		}
		if it.Status != StatusInProgress {
			return Errorf(ECONFLICT, "%s is %s; only items in progress have a capsule to regenerate (assign it first)", id, it.Status)
		}
		if actor == "" {
			actor = it.Owner
		}
		files, err := in.forItem(it)
		if err != nil {
			return err
		}
		c, created, err = s.writeCapsule(ctx, tx, in, it, files, actor, true)
		return err
	})
	return c, created, err
}

// CapsuleHistory lists an item's capsule generations, oldest first.
func (s *Service) CapsuleHistory(ctx context.Context, id string) ([]*Capsule, error) {
	if err := checkItemID("item", id); err != nil {
		return nil, err
	}
	var out []*Capsule
	err := s.read(ctx, func(tx *Tx) error {
		if _, err := tx.getItem(ctx, id); err != nil {
			return err
		}
		rows, err := tx.st.CapsulesOfItem(ctx, id)
		out, err = tx.capsulesFromRows(ctx, rows, err)
		return err
	})
	if out == nil {
		out = []*Capsule{}
	}
	return out, err
}

// ShowCapsule returns one generation (0: the latest) with its content, read
// from the blob store and checked against its hash.
func (s *Service) ShowCapsule(ctx context.Context, id string, generation int) (*Capsule, []byte, error) {
	if err := checkItemID("item", id); err != nil {
		return nil, nil, err
	}
	if generation < 0 {
		return nil, nil, Errorf(EINVALID, "--generation must be positive")
	}
	var c *Capsule
	err := s.read(ctx, func(tx *Tx) error {
		if _, err := tx.getItem(ctx, id); err != nil {
			return err
		}
		var err error
		if generation == 0 {
			c, err = tx.latestCapsule(ctx, id)
		} else {
			r, ok, gerr := tx.st.CapsuleGeneration(ctx, id, generation)
			c, err = tx.oneCapsule(ctx, r, ok, gerr)
		}
		if err != nil {
			return err
		}
		if c == nil {
			if generation == 0 {
				return Errorf(ENOTFOUND, "%s has no capsule yet (it gets one when assigned)", id)
			}
			return Errorf(ENOTFOUND, "%s has no capsule generation %d", id, generation)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	content, err := s.blobs().Get(c.SHA256)
	var corrupt *capsules.CorruptError
	switch {
	case errors.As(err, &corrupt):
		return c, nil, Errorf(EDENIED, "%v", err)
	case err != nil:
		return c, nil, Errorf(EINTERNAL, "read capsule blob %s: %v", c.Blob, err)
	}
	return c, content, nil
}

// FileDrift is an embedded file that changed since its capsule was made.
type FileDrift struct {
	Path    string `json:"path"`
	Was     string `json:"was_sha256"`
	Now     string `json:"now_sha256"`
	Problem string `json:"problem"`
	// UnderLease is the token of the lease held for the capsule's item
	// under which the file took its present content: that is the item's
	// work, not drift. 0: the change was made outside such a lease.
	UnderLease int64 `json:"under_lease"`
}

// CapsuleDrift is what capsule verify found.
type CapsuleDrift struct {
	Item        string      `json:"item"`
	Generation  int         `json:"generation"`
	Path        string      `json:"path"`
	SHA256      string      `json:"sha256"`
	Drifted     bool        `json:"drifted"`
	WorkingCopy string      `json:"working_copy"` // ok, missing or modified
	Files       []FileDrift `json:"files"`        // changed files, drift or the item's leased work
}

// Drift lists the changed files that count as drift.
func (d *CapsuleDrift) Drift() []FileDrift {
	var out []FileDrift
	for _, f := range d.Files {
		if f.UnderLease == 0 {
			out = append(out, f)
		}
	}
	return out
}

// VerifyCapsule compares an item's latest capsule with the files it embedded
// and with its working copy.
func (s *Service) VerifyCapsule(ctx context.Context, id string) (*CapsuleDrift, error) {
	c, _, err := s.ShowCapsule(ctx, id, 0)
	if err != nil && c == nil {
		return nil, err
	}
	return s.capsuleDrift(ctx, c)
}

// capsuleDrift compares a capsule with its working copy and the files it
// embedded. A file changed under a lease held for the capsule's item is
// listed but is not drift: the owner doing the item's work changes them.
func (s *Service) capsuleDrift(ctx context.Context, c *Capsule) (*CapsuleDrift, error) {
	d := &CapsuleDrift{Item: c.Item, Generation: c.Generation, Path: c.Path, SHA256: c.SHA256, WorkingCopy: "ok", Files: []FileDrift{}}
	switch got, err := hashAt(s.Layout.stateRoot(c.Path)); {
	case errors.Is(err, fs.ErrNotExist):
		d.WorkingCopy, d.Drifted = "missing", true
	case err != nil || got != c.SHA256:
		d.WorkingCopy, d.Drifted = "modified", true
	}
	for _, f := range c.Embedded {
		fd := FileDrift{Path: f.Path, Was: f.SHA256}
		got, err := hashAt(s.Worktree, f.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fd.Problem = "deleted since the capsule was generated"
		case err != nil:
			fd.Problem = err.Error()
		default:
			fd.Now = got
			if fd.Now != f.SHA256 {
				fd.Problem = "changed since the capsule was generated"
			}
		}
		if fd.Problem != "" {
			d.Files = append(d.Files, fd)
		}
	}
	if len(d.Files) == 0 {
		return d, nil
	}
	if err := s.excuseItemWork(ctx, c.Item, d.Files); err != nil {
		return nil, err
	}
	d.Drifted = d.Drifted || len(d.Drift()) > 0
	return d, nil
}

// itemLeaseMarks is one lease held for an item and the fingerprints of
// its resource that its claim and its end left in this worktree.
type itemLeaseMarks struct {
	lease      *Lease
	live       bool
	start, end string // manifests; "" when none was recorded
}

// excuseItemWork sets UnderLease on each changed file whose present content
// was written under a lease held for item: going from the newest lease on
// a resource covering the file, the first whose claim fingerprint differs
// from the present content, and whose end fingerprint (if it ended) holds
// it. A lease that ended with other content than today's means the file
// changed after it, outside any lease for the item.
func (s *Service) excuseItemWork(ctx context.Context, item string, files []FileDrift) error {
	key := s.worktreeKey(s.Worktree)
	var marks []*itemLeaseMarks
	err := s.read(ctx, func(tx *Tx) error {
		leases, err := leasesFromRows(tx.st.LeasesForItemNewestFirst(ctx, item))
		if err != nil {
			return err
		}
		for _, l := range leases {
			m := &itemLeaseMarks{lease: l, live: l.liveAt(tx.now)}
			if m.start, err = tx.st.FingerprintClaimManifest(ctx, l.ID, key); err != nil {
				return storeErr("read fingerprints", err)
			}
			if m.end, err = tx.st.FingerprintEndManifest(ctx, l.ID, key); err != nil {
				return storeErr("read fingerprints", err)
			}
			marks = append(marks, m)
		}
		return nil
	})
	if err != nil || len(marks) == 0 {
		return err
	}
	manifests := map[string]map[string]ManifestEntry{}
	blobAt := func(manifest, path string) (string, error) {
		if manifests[manifest] == nil {
			m, err := s.loadManifest(manifest)
			if err != nil {
				return "", err
			}
			manifests[manifest] = m.index()
		}
		return manifests[manifest][path].Blob, nil
	}
	for i := range files {
		f := &files[i]
		if f.Now == "" && !strings.HasPrefix(f.Problem, "deleted") {
			continue
		}
		for _, m := range marks {
			r, ok := s.Config.Resource(m.lease.Resource)
			if !ok || !r.Covers(f.Path) || m.start == "" {
				continue
			}
			before, err := blobAt(m.start, f.Path)
			if err != nil {
				return err
			}
			if !m.live {
				if m.end == "" {
					break
				}
				after, err := blobAt(m.end, f.Path)
				if err != nil {
					return err
				}
				if after != f.Now {
					break
				}
			}
			if before != f.Now {
				f.UnderLease = m.lease.Token
				break
			}
		}
	}
	return nil
}

// hashAt is the sha256 of rel below dir, read by streaming without leaving
// dir.
func hashAt(dir, rel string) (string, error) {
	r, err := safefs.Open(dir)
	if err != nil {
		return "", err
	}
	defer r.Close()
	return capsules.HashFile(r, rel)
}

// StoreCheck is the result of re-hashing the blob store and looking up
// every blob the store refers to.
type StoreCheck struct {
	OK bool `json:"ok"`
	capsules.VerifyResult
	// Missing are referenced blobs that are not in the store; each
	// problem names what refers to it.
	Missing []capsules.Problem `json:"missing"`
}

// Failures lists what the check found, one line each.
func (c *StoreCheck) Failures() []string {
	var out []string
	for _, p := range c.Problems {
		out = append(out, fmt.Sprintf("corrupted blob %s: %s", p.Path, p.Problem))
	}
	for _, p := range c.Missing {
		out = append(out, fmt.Sprintf("missing blob %s: %s", p.Path, p.Problem))
	}
	return out
}

// VerifyStore checks the blob store and records the result.
func (s *Service) VerifyStore(ctx context.Context, actor string) (*StoreCheck, error) {
	check, err := s.checkBlobStore(ctx)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *Tx) error {
		return tx.recordStoreCheck(ctx, actor, "store verify", check)
	})
	return check, err
}

func (tx *Tx) recordStoreCheck(ctx context.Context, actor, source string, check *StoreCheck) error {
	detail := fmt.Sprintf("%d blobs", check.Blobs)
	if !check.OK {
		f := check.Failures()
		detail = fmt.Sprintf("%d problem(s) in %d blobs, first %s", len(f), check.Blobs, f[0])
	}
	if err := tx.st.VerificationInsert(ctx, store.Verification{Kind: store.VerificationBlobStore, OK: check.OK, Detail: detail,
		Findings: encodeList(check.Failures()), Source: source, At: tx.now}); err != nil {
		return storeErr("record verification", err)
	}
	return tx.audit(ctx, actor, "store.verify", "store", map[string]any{"ok": check.OK, "blobs": check.Blobs, "problems": check.Problems, "missing": check.Missing})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// IntegrityCheck is one recorded integrity check.
type IntegrityCheck struct {
	Kind   string `json:"kind"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Findings are what a failed check found, one line each, as health
	// lists them: the verdict made from the record says what the check said.
	Findings []string `json:"findings,omitempty"`
	HeadSeq  int64    `json:"head_seq,omitempty"` // audit_chain: the head it saw
	Source   string   `json:"source"`
	At       Time     `json:"at"`
}

// latestVerification returns the newest check of kind, or nil if none ran.
func (tx *Tx) latestVerification(ctx context.Context, kind string) (*IntegrityCheck, error) {
	r, ok, err := tx.st.VerificationLatest(ctx, store.VerificationKind(kind))
	if err != nil {
		return nil, storeErr("read verifications", err)
	}
	if !ok {
		return nil, nil
	}
	v := IntegrityCheck{Kind: kind, OK: r.OK, Detail: r.Detail, HeadSeq: r.HeadSeq, Source: r.Source, At: Time{r.At}}
	if v.Findings, err = decodeList("verification findings", r.Findings); err != nil {
		return nil, err
	}
	if !v.OK && len(v.Findings) == 0 {
		v.Findings = []string{v.Detail} // recorded before findings were kept
	}
	return &v, nil
}
