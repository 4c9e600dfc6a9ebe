package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/safefs"
	"github.com/oxygen-tools/oxygen/store"
)

// ReportsDir holds the audit reports, root-relative.
const ReportsDir = ".substrate/reports"

// Hoarding thresholds: an owner whose leases expired this often within the
// window is a repeat offender; a hold past this share of max_hold is close.
const (
	repeatExpiries   = 3
	repeatWindow     = 7 * 24 * time.Hour
	nearMaxHoldShare = 0.75
	reportTopicAudit = "audit"
	reportSource     = "audit report"
)

// Report is one audit report: the state of the repository and everything
// that needs someone's attention (the findings).
type Report struct {
	maxHold time.Duration // the config's, to tell hoarding from expiry
	// capsuleChecks is whether each capsule in use drifted, by capsule, for
	// the record health reads.
	capsuleChecks map[int64]bool
	GeneratedAt   Time      `json:"generated_at"`
	Since         Time      `json:"since"` // the previous report, or null
	Path          string    `json:"path"`  // the .md file; the .json sits next to it
	ChainHead     ChainHead `json:"chain_head"`

	Leases  []*Lease `json:"leases"`
	Budgets []Budget `json:"budgets"`

	Hoarding struct {
		ExpiredUnreleased []*Lease        `json:"expired_unreleased"`
		RepeatOffenders   []RepeatOffense `json:"repeat_offenders"`
		NearMaxHold       []LongHold      `json:"near_max_hold"`
		Revoked           []*Lease        `json:"revoked"`
	} `json:"hoarding"`

	CouncilOverrides []*CouncilCall `json:"council_overrides"`
	PendingCouncil   []*CouncilCall `json:"pending_council"`

	Items struct {
		Stale          []StaleItem      `json:"stale"`
		Blocked        []*Item          `json:"blocked"`
		WithoutCapsule []string         `json:"without_capsule"`
		CapsuleDrift   []*CapsuleDrift  `json:"capsule_drift"`
		Unverified     []UnverifiedDone `json:"completed_without_verification"`
	} `json:"items"`

	ShadowEdits []*ShadowEdit `json:"shadow_edits"` // open ones, including any found now

	Integrity struct {
		AuditChain ChainCheck `json:"audit_chain"`
		BlobStore  StoreCheck `json:"blob_store"`
	} `json:"integrity"`

	// RewrittenExports are signal and report files that were missing
	// though their row exists, written again by this report.
	RewrittenExports []string `json:"rewritten_exports"`

	AmbiguousOwnership []AmbiguousPath `json:"ambiguous_ownership"`
	OverlappingGlobs   []string        `json:"overlapping_globs"`

	Findings []string `json:"findings"`
	Signal   int64    `json:"signal"` // the proclamation, when there were findings
}

// RepeatOffense is an owner whose leases keep expiring.
type RepeatOffense struct {
	Owner    string `json:"owner"`
	Expiries int    `json:"expiries"`
}

// LongHold is a lease held close to max_hold.
type LongHold struct {
	Resource string `json:"resource"`
	Owner    string `json:"owner"`
	Token    int64  `json:"token"`
	HeldFor  string `json:"held_for"`
	Limit    Time   `json:"limit"`
}

// UnverifiedDone is a completion that skipped its commands.
type UnverifiedDone struct {
	Item   string `json:"item"`
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
	At     Time   `json:"at"`
}

// AmbiguousPath is a tracked file claimed by resources of two domains.
type AmbiguousPath struct {
	Path      string   `json:"path"`
	Resources []string `json:"resources"`
}

// AuditReport gathers a report, detects shadow edits, writes
// .substrate/reports/audit-<stamp>.md and .json, and records the result.
// A report that finds anything also emits a proclamation (topic audit).
func (s *Service) AuditReport(ctx context.Context, actor string) (*Report, error) {
	if actor == "" {
		actor = SystemActor.Owner
	}
	r := newReport()
	r.maxHold = s.Config.Leases.MaxHold
	// 1. What the store says, in one snapshot.
	err := s.read(ctx, func(tx *Tx) error { return s.gatherReport(ctx, tx, r) })
	if err != nil {
		return nil, err
	}
	// 2. Checks that read files: the chain, the blobs, capsules, fingerprints.
	chain, err := s.verifyAuditLog(ctx, false, false)
	if err != nil {
		return nil, err
	}
	r.Integrity.AuditChain = chain
	r.ChainHead = chain.Head
	blobs, progress, err := s.checkBlobs(ctx, false)
	if err != nil {
		return nil, err
	}
	r.Integrity.BlobStore = *blobs
	if err := s.reportCapsules(ctx, r); err != nil {
		return nil, err
	}
	if r.AmbiguousOwnership, err = s.ambiguousOwnership(ctx); err != nil {
		return nil, err
	}
	r.OverlappingGlobs = append([]string{}, s.Config.Warnings...)
	missing, err := s.missingExports(ctx)
	if err != nil {
		return nil, err
	}
	var snaps []*fingerprintSnapshot
	for _, dir := range s.worktrees() {
		snap, err := s.scanWorktree(s.worktreeKey(dir), dir, s.Config.Resources)
		if err != nil {
			return nil, err
		}
		snaps = append(snaps, snap)
	}
	// 3. One transaction records it all.
	err = s.write(ctx, func(tx *Tx) error {
		found, err := s.auditBoundaries(ctx, tx, snaps, actor)
		if err != nil {
			return err
		}
		if r.ShadowEdits, err = shadowsFromRows(tx.st.ShadowEditsByStatus(ctx, ShadowOpen)); err != nil {
			return err
		}
		for _, m := range missing {
			e, err := tx.exportOf(ctx, m.path, m.source)
			if err != nil {
				return err
			}
			tx.export(e.path, e.source, e.content)
			r.RewrittenExports = append(r.RewrittenExports, e.path)
		}
		r.GeneratedAt = Time{tx.now}
		r.findings()
		if err := tx.recordChainCheck(ctx, actor, reportSource, r.Integrity.AuditChain); err != nil {
			return err
		}
		if err := tx.recordStoreCheck(ctx, actor, reportSource, &r.Integrity.BlobStore); err != nil {
			return err
		}
		if err := tx.recordBlobProgress(ctx, &r.Integrity.BlobStore, progress); err != nil {
			return err
		}
		if err := tx.recordCapsuleChecks(ctx, reportSource, r.capsuleChecks); err != nil {
			return err
		}
		if r.Path, err = s.reportName(ctx, tx); err != nil {
			return err
		}
		body := fmt.Sprintf("Audit report: %d finding(s).\n- %s", len(r.Findings), strings.Join(r.Findings, "\n- "))
		changed, err := tx.findingsChanged(ctx, body)
		if err != nil {
			return err
		}
		// An hourly job repeating the same findings to everyone is noise:
		// proclaim only what is new since the last proclamation.
		if len(r.Findings) > 0 && changed {
			sig, err := tx.emit(ctx, s.Config, s.Root, SignalSpec{Kind: KindProclamation, Topic: reportTopicAudit,
				From: SystemActor.Owner, FromDomain: SystemActor.Domain, To: ToAll,
				Body: body, Refs: []string{r.Path, strings.TrimSuffix(r.Path, ".md") + ".json"}})
			if err != nil {
				return err
			}
			r.Signal = sig.ID
		}
		return s.recordReport(ctx, tx, r, actor, found)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// newReport starts a report whose lists print as [] rather than null when
// nothing is found, so consumers can iterate them unconditionally.
func newReport() *Report {
	r := &Report{Leases: []*Lease{}, Budgets: []Budget{}, CouncilOverrides: []*CouncilCall{}, PendingCouncil: []*CouncilCall{},
		ShadowEdits: []*ShadowEdit{}, AmbiguousOwnership: []AmbiguousPath{}, OverlappingGlobs: []string{}, RewrittenExports: []string{}, Findings: []string{}}
	r.Hoarding.ExpiredUnreleased, r.Hoarding.RepeatOffenders, r.Hoarding.NearMaxHold = []*Lease{}, []RepeatOffense{}, []LongHold{}
	r.Hoarding.Revoked = []*Lease{}
	r.Items.Stale, r.Items.Blocked, r.Items.WithoutCapsule = []StaleItem{}, []*Item{}, []string{}
	r.Items.CapsuleDrift, r.Items.Unverified = []*CapsuleDrift{}, []UnverifiedDone{}
	return r
}

// gatherReport fills the parts of a report that come from the store.
func (s *Service) gatherReport(ctx context.Context, tx *Tx, r *Report) error {
	now := tx.now
	sinceAt, err := tx.st.ReportsLastGeneratedAt(ctx)
	if err != nil {
		return storeErr("read reports", err)
	}
	r.Since = Time{sinceAt}
	since := storedMS(sinceAt)
	if r.Leases, err = leasesFromRows(tx.st.LeasesLiveByResource(ctx, now)); err != nil {
		return err
	}
	active := map[string]int{}
	for _, l := range r.Leases {
		active[l.Domain]++
		held := now.Sub(l.CreatedAt.Time)
		if float64(held) >= nearMaxHoldShare*float64(s.Config.Leases.MaxHold) {
			r.Hoarding.NearMaxHold = append(r.Hoarding.NearMaxHold, LongHold{Resource: l.Resource, Owner: l.Owner, Token: l.Token,
				HeldFor: FormatDuration(roundDuration(held)), Limit: Time{l.CreatedAt.Add(s.Config.Leases.MaxHold)}})
		}
	}
	for _, d := range s.Config.Domains {
		r.Budgets = append(r.Budgets, Budget{Domain: d.Name, Active: active[d.Name], Max: d.MaxLeases})
	}
	// Expired since the last report, swept or not: a lease ends as expired at
	// its expiry time, so expires_at places it whichever way it ended.
	expired, err := leasesFromRows(tx.st.LeasesExpiredSince(ctx, now, sinceAt))
	if err != nil {
		return err
	}
	for _, l := range expired {
		r.Hoarding.ExpiredUnreleased = append(r.Hoarding.ExpiredUnreleased, l.effective(now))
	}
	if r.Hoarding.Revoked, err = leasesFromRows(tx.st.LeasesRevokedSince(ctx, sinceAt)); err != nil {
		return err
	}
	offenders, err := tx.st.ReportRepeatExpiries(ctx, now, now.Add(-repeatWindow), repeatExpiries)
	if err != nil {
		return storeErr("read leases", err)
	}
	for _, o := range offenders {
		r.Hoarding.RepeatOffenders = append(r.Hoarding.RepeatOffenders, RepeatOffense{Owner: o.Owner, Expiries: o.Count})
	}
	calls, err := tx.listCouncil(ctx, false, s.Config.Council.TTL)
	if err != nil {
		return err
	}
	for _, c := range calls {
		switch {
		case c.State == CouncilConsumed && c.ConsumedAt.UnixMilli() > since:
			r.CouncilOverrides = append(r.CouncilOverrides, c)
		case c.State == CouncilPending:
			r.PendingCouncil = append(r.PendingCouncil, c)
		}
	}
	if r.Items.Stale, err = tx.staleItems(ctx, s.Config.Items.StaleAfter); err != nil {
		return err
	}
	if r.Items.Blocked, err = tx.listItems(ctx, ItemFilter{Status: string(StatusBlocked)}); err != nil {
		return err
	}
	skipped, err := tx.st.ReportSkippedVerifications(ctx, sinceAt)
	if err != nil {
		return storeErr("read transitions", err)
	}
	for _, u := range skipped {
		r.Items.Unverified = append(r.Items.Unverified, UnverifiedDone{Item: u.ItemID, Actor: u.Actor, Reason: u.Reason, At: Time{u.At}})
	}
	return nil
}

// reportCapsules lists items in progress without a capsule, and drift.
func (s *Service) reportCapsules(ctx context.Context, r *Report) error {
	var latest []*Capsule
	err := s.read(ctx, func(tx *Tx) error {
		items, err := tx.listItems(ctx, ItemFilter{Status: string(StatusInProgress)})
		if err != nil {
			return err
		}
		for _, it := range items {
			c, err := tx.latestCapsule(ctx, it.ID)
			if err != nil {
				return err
			}
			if c == nil {
				r.Items.WithoutCapsule = append(r.Items.WithoutCapsule, it.ID)
				continue
			}
			latest = append(latest, c)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.capsuleChecks = make(map[int64]bool, len(latest))
	for _, c := range latest {
		d, err := s.capsuleDrift(ctx, c)
		if err != nil {
			return err
		}
		r.capsuleChecks[c.id] = d.Drifted
		if d.Drifted {
			r.Items.CapsuleDrift = append(r.Items.CapsuleDrift, d)
		}
	}
	return nil
}

// ambiguousOwnership finds tracked files under resources of two domains.
func (s *Service) ambiguousOwnership(ctx context.Context) ([]AmbiguousPath, error) {
	out := []AmbiguousPath{}
	if !s.isGitRepo(ctx) {
		return out, nil
	}
	files, err := s.trackedFiles(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		owners := s.Config.ResourcesFor(f)
		domains := map[string]bool{}
		var names []string
		for _, r := range owners {
			domains[r.Domain] = true
			names = append(names, r.ID+" ("+r.Domain+")")
		}
		if len(domains) > 1 {
			out = append(out, AmbiguousPath{Path: f, Resources: names})
		}
	}
	return out, nil
}

// findings sums up everything that needs attention, one line each.
func (r *Report) findings() {
	f := []string{}
	add := func(format string, args ...any) { f = append(f, fmt.Sprintf(format, args...)) }
	// Hoarding is holding on past the rules: to max_hold, or until someone
	// had to force the lease away. A lease that merely lapsed is an expiry.
	for _, l := range r.Hoarding.ExpiredUnreleased {
		if r.maxHold > 0 && !l.ExpiresAt.Before(l.CreatedAt.Add(r.maxHold)) {
			add("lease hoarding: %s held %s (token %d) until max_hold ran out at %s", l.Owner, l.Resource, l.Token, l.ExpiresAt)
			continue
		}
		add("lease expired: %s's lease on %s (token %d) expired at %s without being released", l.Owner, l.Resource, l.Token, l.ExpiresAt)
	}
	for _, l := range r.Hoarding.Revoked {
		add("lease hoarding: %s's lease on %s (token %d) was force-released by %s: %s", l.Owner, l.Resource, l.Token, l.EndedBy, l.EndReason)
	}
	for _, o := range r.Hoarding.RepeatOffenders {
		add("leases expired: %s let %d leases expire in the last %s", o.Owner, o.Expiries, FormatDuration(repeatWindow))
	}
	for _, h := range r.Hoarding.NearMaxHold {
		add("lease hoarding: %s has held %s for %s; max_hold ends it at %s", h.Owner, h.Resource, h.HeldFor, h.Limit)
	}
	for _, c := range r.CouncilOverrides {
		add("council override used: council_call %d let %s go over its domain's cap (%s, approved by %s)", c.ID, c.Item, c.Action, c.ApprovedBy)
	}
	for _, st := range r.Items.Stale {
		add("stale: %s has been in progress since %s", st.ID, st.Since)
	}
	for _, it := range r.Items.Blocked {
		add("blocked: %s (%s, owner %s)", it.ID, it.Domain, it.Owner)
	}
	for _, id := range r.Items.WithoutCapsule {
		add("no capsule: %s is in progress without a context capsule", id)
	}
	for _, d := range r.Items.CapsuleDrift {
		var what []string
		if d.WorkingCopy != "ok" {
			what = append(what, "working copy "+d.WorkingCopy)
		}
		for _, fd := range d.Drift() {
			what = append(what, fd.Path+" "+fd.Problem)
		}
		add("capsule drift: %s: %s", d.Item, strings.Join(what, "; "))
	}
	for _, u := range r.Items.Unverified {
		add("completed without verification: %s by %s: %s", u.Item, u.Actor, u.Reason)
	}
	for _, e := range r.ShadowEdits {
		var paths []string
		for _, p := range e.Paths {
			paths = append(paths, p.Path+" ("+p.Change+")")
		}
		add("shadow edit %d on %s (open since %s): %s", e.ID, e.Resource, e.DetectedAt, strings.Join(paths, ", "))
	}
	for _, line := range append(r.Integrity.AuditChain.Failures(), r.Integrity.BlobStore.Failures()...) {
		add("integrity: %s", line)
	}
	for _, c := range r.PendingCouncil {
		add("council_call %d for %s awaits approval (from %s)", c.ID, c.Item, c.From)
	}
	for _, a := range r.AmbiguousOwnership {
		add("ambiguous ownership: %s falls under %s", a.Path, strings.Join(a.Resources, " and "))
	}
	for _, w := range r.OverlappingGlobs {
		add("ambiguous ownership: %s", w)
	}
	for _, p := range r.RewrittenExports {
		add("export written again: %s was missing though its row exists", p)
	}
	r.Findings = f
}

// reportName picks audit-<stamp>.md (with a numeric suffix on a
// same-second clash) among names no report row and no file holds; the
// caller holds the write lock. A reports directory that a symlink leads out
// of the state directory is refused.
func (s *Service) reportName(ctx context.Context, tx *Tx) (string, error) {
	dir, rel := s.Layout.stateRoot(ReportsDir)
	root, err := safefs.Open(dir)
	if err != nil {
		return "", Errorf(EINTERNAL, "write report: %v", err)
	}
	defer root.Close()
	base := "audit-" + tx.now.UTC().Format("20060102-150405")
	for n := 1; ; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		logical := path.Join(ReportsDir, name+".md")
		taken, err := tx.st.ReportPathTaken(ctx, logical)
		if err != nil {
			return "", storeErr("read reports", err)
		}
		for _, ext := range []string{".md", ".json"} {
			_, err := root.Lstat(path.Join(rel, name+ext))
			switch {
			case err == nil:
				taken = true
			case !errors.Is(err, fs.ErrNotExist):
				return "", refusedExport(path.Join(ReportsDir, name+ext), err)
			}
		}
		if !taken {
			return logical, nil
		}
	}
}

// exportReport stores the finished report's two files as blobs, which the
// row names so that a crash before they are written cannot lose them, and
// exports them after commit.
func (s *Service) exportReport(tx *Tx, r *Report) (md, js string, err error) {
	mdData := []byte(r.Markdown())
	jsData, _ := json.MarshalIndent(r, "", "  ")
	jsData = append(jsData, '\n')
	blobs := s.blobs()
	if md, err = blobs.Put(mdData); err != nil {
		return "", "", Errorf(EINTERNAL, "%v", err)
	}
	if js, err = blobs.Put(jsData); err != nil {
		return "", "", Errorf(EINTERNAL, "%v", err)
	}
	tx.export(r.Path, md, mdData)
	tx.export(strings.TrimSuffix(r.Path, ".md")+".json", js, jsData)
	return md, js, nil
}

// Markdown renders the report for people.
func (r *Report) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Audit report %s\n\n", r.GeneratedAt)
	if r.Since.IsZero() {
		w("First report. ")
	} else {
		w("Since the previous report at %s. ", r.Since)
	}
	w("Audit chain head: seq %d, %s.\n\n", r.ChainHead.Seq, r.ChainHead.Hash)
	w("## Findings\n\n")
	if len(r.Findings) == 0 {
		w("None.\n")
	}
	for _, f := range r.Findings {
		w("- %s\n", f)
	}
	w("\n## Active leases\n\n")
	if len(r.Leases) == 0 {
		w("None.\n")
	}
	for _, l := range r.Leases {
		w("- `%s` held by %s (%s), token %d, until %s\n", l.Resource, l.Owner, l.Domain, l.Token, l.ExpiresAt)
	}
	w("\nChange budgets:")
	for _, bu := range r.Budgets {
		w(" %s %d/%d", bu.Domain, bu.Active, bu.Max)
	}
	w("\n\n## Integrity\n\n")
	chain := "intact"
	switch c := r.Integrity.AuditChain; {
	case c.Problem != "":
		chain = fmt.Sprintf("BROKEN at seq %d: %s", c.BrokenSeq, c.Problem)
	case c.Disagreeing > 0:
		chain = fmt.Sprintf("intact, but %d thing(s) in the store disagree with it (see the findings)", c.Disagreeing)
	}
	w("- Audit chain: %s (%d events)\n", chain, r.Integrity.AuditChain.Events)
	w("- Blob store: %d blobs, %d corrupted, %d missing\n", r.Integrity.BlobStore.Blobs, len(r.Integrity.BlobStore.Problems), len(r.Integrity.BlobStore.Missing))
	if r.Signal != 0 {
		w("\nProclaimed as signal %d (topic %s).\n", r.Signal, reportTopicAudit)
	}
	w("\nThe machine-readable report is %s.\n", strings.TrimSuffix(path.Base(r.Path), ".md")+".json")
	return b.String()
}

// checkReportHeads reads the chain head of every report file in the
// directory, those of a previous store included (a full check: an
// incremental one reads the files of the reports written since its marks).
func (s *Service) checkReportHeads(ctx context.Context, tx *Tx, res *ChainCheck) error {
	if !res.OK {
		return nil
	}
	dir, rel := s.Layout.stateRoot(ReportsDir)
	root, err := safefs.Open(dir)
	if err != nil {
		return nil
	}
	defer root.Close()
	files, _ := fs.Glob(root.FS(), path.Join(rel, "audit-*.json"))
	sort.Strings(files)
	for _, f := range files {
		data, err := root.ReadFile(f, maxReportBytes)
		if err != nil {
			continue
		}
		var head struct {
			ChainHead ChainHead `json:"chain_head"`
			Integrity struct {
				AuditChain struct {
					Store string `json:"store"`
				} `json:"audit_chain"`
			} `json:"integrity"`
		}
		if json.Unmarshal(data, &head) != nil || head.ChainHead.Seq == 0 {
			continue
		}
		// Reports name their store since anchoring came in; one that names
		// another store was written before a re-init and proves nothing here.
		if store := head.Integrity.AuditChain.Store; store != "" && store != res.Store {
			res.Anchors.PreviousStoreReports++
			continue
		}
		hash, ok, err := tx.st.AuditHashAt(ctx, head.ChainHead.Seq)
		if err != nil {
			// The store failing to answer is not evidence of tampering.
			return storeErr("read audit log", err)
		}
		if !ok || hash != head.ChainHead.Hash {
			res.OK, res.BrokenSeq = false, head.ChainHead.Seq
			res.Problem = fmt.Sprintf("the head recorded in %s (seq %d) is gone or altered: events were cut or rewritten", path.Base(f), head.ChainHead.Seq)
			return nil
		}
	}
	return nil
}

// findingsChanged reports whether body differs from the last audit
// proclamation's.
func (tx *Tx) findingsChanged(ctx context.Context, body string) (bool, error) {
	last, ok, err := tx.st.ReportLastProclamationBody(ctx, reportTopicAudit)
	if err != nil {
		return false, storeErr("read signals", err)
	}
	return !ok || last != body, nil
}

// maxReportBytes bounds what verification reads of one report file.
const maxReportBytes = 64 << 20

// recordReport exports a gathered report's files (written after the
// commit), records its row and its audit event.
func (s *Service) recordReport(ctx context.Context, tx *Tx, r *Report, actor string, shadowEditsFound int) error {
	md, js, err := s.exportReport(tx, r)
	if err != nil {
		return err
	}
	if err := tx.st.ReportInsert(ctx, store.Report{Path: r.Path, GeneratedAt: tx.now, HeadSeq: r.ChainHead.Seq, HeadHash: r.ChainHead.Hash,
		Findings: len(r.Findings), MDBlob: md, JSONBlob: js}); err != nil {
		return storeErr("record report", err)
	}
	return tx.audit(ctx, actor, "audit.report", "report:"+r.Path, map[string]any{
		"findings": len(r.Findings), "head": r.ChainHead, "shadow_edits_found": shadowEditsFound, "signal": r.Signal})
}
