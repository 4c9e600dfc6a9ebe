package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Health colours.
const (
	HealthGreen  = "green"
	HealthYellow = "yellow"
	HealthRed    = "red"
)

// Health is the repository's state in one colour: red for integrity
// problems, yellow for things that need someone's attention, each finding
// with a stable code and the thing it is about, so that scripts and
// dashboards need not parse prose.
type Health struct {
	Status   string          `json:"status"`
	Findings []HealthFinding `json:"findings"`
}

// HealthFinding is one reason for a colour.
type HealthFinding struct {
	Level   string `json:"level"`   // red or yellow
	Code    string `json:"code"`    // what kind of finding, e.g. capsule_drift
	Subject string `json:"subject"` // what it is about, e.g. WORK-001, storage
	Message string `json:"message"`
}

// Lines are the findings as text: "yellow: message".
func (h *Health) Lines() []string {
	out := make([]string, len(h.Findings))
	for i, f := range h.Findings {
		out[i] = f.Level + ": " + f.Message
	}
	return out
}

func (h *Health) red(code, subject, format string, args ...any) {
	h.Status = HealthRed
	h.Findings = append(h.Findings, HealthFinding{HealthRed, code, subject, fmt.Sprintf(format, args...)})
}

func (h *Health) yellow(code, subject, format string, args ...any) {
	if h.Status == HealthGreen {
		h.Status = HealthYellow
	}
	h.Findings = append(h.Findings, HealthFinding{HealthYellow, code, subject, fmt.Sprintf(format, args...)})
}

// Health re-runs the integrity checks (it verifies the audit log: re-hash
// since the last verified head, anchored heads, replay against the tables;
// reads the signal and report files and re-hashes the blobs that rows
// written since the last intact check name; and compares the capsules in
// use with their files), records each result that
// changed since the last record, and gives the verdict healthVerdict makes
// from the records: the one a capsule shows when it is generated.
func (s *Service) Health(ctx context.Context, actor string) (*Health, error) {
	chain, err := s.verifyAuditLog(ctx, false, false)
	if err != nil {
		return nil, err
	}
	blobs, progress, err := s.checkBlobs(ctx, false)
	if err != nil {
		return nil, err
	}
	drift, err := s.checkCapsulesInUse(ctx)
	if err != nil {
		return nil, err
	}
	policy := PolicyDrift(s.Layout, s.Config)
	var h *Health
	err = s.write(ctx, func(tx *Tx) error {
		if err := tx.recordIntegrity(ctx, actor, "health", chain, blobs, progress, drift); err != nil {
			return err
		}
		var err error
		h, err = s.healthVerdict(ctx, tx, policy)
		return err
	})
	return h, err
}

// checkCapsulesInUse compares the latest capsule of each item in progress
// with its files and working copy, outside any transaction (it hashes),
// and returns whether each drifted, by capsule.
func (s *Service) checkCapsulesInUse(ctx context.Context) (map[int64]bool, error) {
	var latest []*Capsule
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		latest, err = tx.capsulesInUse(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	drift := make(map[int64]bool, len(latest))
	for _, c := range latest {
		d, err := s.capsuleDrift(ctx, c)
		if err != nil {
			return nil, err
		}
		drift[c.id] = d.Drifted
	}
	return drift, nil
}

// capsulesInUse is the latest capsule of each item in progress.
func (tx *Tx) capsulesInUse(ctx context.Context) ([]*Capsule, error) {
	rows, err := tx.st.CapsulesInUse(ctx)
	return tx.capsulesFromRows(ctx, rows, err)
}

// recordIntegrity records the results of fresh integrity checks that differ
// from the latest on record: the verdict reads the records, and a result
// that did not change needs no new row (health may run every minute). The
// marks of the files and blobs an intact check read move on either way, so
// that the next check reads only what came after them.
func (tx *Tx) recordIntegrity(ctx context.Context, actor, source string, chain ChainCheck, blobs *StoreCheck, progress *blobProgress, drift map[int64]bool) error {
	last, err := tx.latestVerification(ctx, "audit_chain")
	if err != nil {
		return err
	}
	if changedResult(last, chain.OK, chain.Failures()) {
		if err := tx.recordChainCheck(ctx, actor, source, chain); err != nil {
			return err
		}
	} else if err := tx.advanceMarks(ctx, chain.OK, chain.marks); err != nil {
		return err
	}
	if last, err = tx.latestVerification(ctx, "blob_store"); err != nil {
		return err
	}
	if changedResult(last, blobs.OK, blobs.Failures()) {
		if err := tx.recordStoreCheck(ctx, actor, source, blobs); err != nil {
			return err
		}
	}
	if err := tx.recordBlobProgress(ctx, blobs, progress); err != nil {
		return err
	}
	return tx.recordCapsuleChecks(ctx, source, drift)
}

// changedResult reports whether a check's result differs from the last one
// recorded (none counts as different).
func changedResult(last *IntegrityCheck, ok bool, findings []string) bool {
	return last == nil || last.OK != ok || !slices.Equal(last.Findings, findings)
}

// recordCapsuleChecks records, per capsule generation, whether it drifted,
// when that differs from its latest check. A check is an observation of
// files, not a change of state, so it is not an audit event.
func (tx *Tx) recordCapsuleChecks(ctx context.Context, source string, drift map[int64]bool) error {
	for id, drifted := range drift {
		last, checked, err := tx.st.HealthCapsuleLastDrift(ctx, id)
		switch {
		case err != nil:
			return storeErr("read capsule checks", err)
		case checked && last == drifted:
			continue
		}
		if err := tx.st.HealthCapsuleCheckInsert(ctx, id, drifted, source, tx.now); err != nil {
			return storeErr("record capsule check", err)
		}
	}
	return nil
}

// healthVerdict is the one place health is decided: the latest recorded
// integrity results (audit log, blob store, drift of the capsules in use),
// what the store tells at once (attention), and policyDrift, read from
// files by the caller before its transaction. `orchestrate health` records
// fresh results first; a capsule reads the records as they stand, so it
// shows what health said at its last run, as of its own state, and never
// re-hashes anything while it holds the write lock.
func (s *Service) healthVerdict(ctx context.Context, tx *Tx, policyDrift string) (*Health, error) {
	h := &Health{Status: HealthGreen, Findings: []HealthFinding{}}
	for _, c := range []struct{ kind, code, subject string }{{"audit_chain", "audit_log", "audit log"}, {"blob_store", "blob_store", "blob store"}} {
		v, err := tx.latestVerification(ctx, c.kind)
		if err != nil {
			return nil, err
		}
		if v != nil && !v.OK {
			for _, f := range v.Findings {
				h.red(c.code, c.subject, "%s", f)
			}
		}
	}
	if err := s.attention(ctx, tx, h); err != nil {
		return nil, err
	}
	drifted, err := tx.st.HealthDriftedInProgress(ctx)
	if err != nil {
		return nil, storeErr("read capsule checks", err)
	}
	for _, item := range drifted {
		h.yellow("capsule_drift", item, "%s's capsule has drifted (orchestrate capsule verify %s)", item, item)
	}
	if policyDrift != "" {
		h.yellow("policy_drift", ConfigFile, "%s", policyDrift)
	}
	return h, nil
}

// attention adds what the store alone tells, without re-hashing anything:
// open shadow edits (red), and the yellow reasons.
func (s *Service) attention(ctx context.Context, tx *Tx, h *Health) error {
	if tx.behind > time.Second {
		h.yellow("clock_behind", "clock", "the clock reads %s behind the newest audit event (%s): the store's time stands still until it catches up, so no lease expires meanwhile", FormatDuration(tx.behind), Time{tx.now})
	}
	open, err := shadowsFromRows(tx.st.ShadowEditsByStatus(ctx, ShadowOpen))
	if err != nil {
		return err
	}
	for _, e := range open {
		h.red("shadow_edit", e.Resource, "shadow edit %d on %s is unresolved (oxygen shadow restore %d, or accept it)", e.ID, e.Resource, e.ID)
	}
	unswept, err := tx.unswept(ctx)
	if err != nil {
		return err
	}
	for _, l := range unswept {
		h.yellow("unswept_lease", l.Resource, "%s's lease on %s expired at %s and was not swept (oxygen expire, or run the daemon)", l.Owner, l.Resource, l.ExpiresAt)
	}
	jobs, err := s.jobStatuses(ctx, tx, nil)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Overdue {
			h.yellow("job_overdue", j.Name, "job %s: %s", j.Name, j.Note)
		}
	}
	pending, err := tx.listCouncil(ctx, true, s.Config.Council.TTL)
	if err != nil {
		return err
	}
	for _, c := range pending {
		h.yellow("council_pending", "council_call "+itoa(c.ID), "council_call %d for %s awaits approval (from %s)", c.ID, c.Item, c.From)
	}
	// One read of the work in progress serves both the caps and staleness.
	busy, err := tx.itemsInProgress(ctx)
	if err != nil {
		return err
	}
	perDomain := map[string]int{}
	for _, it := range busy {
		perDomain[it.Domain]++
	}
	for _, d := range s.Config.Domains {
		if n := perDomain[d.Name]; n > d.MaxInProgress {
			h.yellow("over_cap", d.Name, "%s has %d items in progress, over its cap of %d", d.Name, n, d.MaxInProgress)
		}
	}
	slices.SortFunc(busy, func(a, b ItemInProgress) int { return strings.Compare(a.ID, b.ID) })
	for _, it := range busy {
		if it.For > s.Config.Items.StaleAfter {
			h.yellow("stale_item", it.ID, "%s has been in progress for %s (items.stale_after %s)", it.ID, FormatDuration(roundDuration(it.For)), FormatDuration(s.Config.Items.StaleAfter))
		}
	}
	return nil
}

// StaleItem is an item in progress for longer than items.stale_after.
type StaleItem struct {
	ID    string        `json:"id"`
	Owner string        `json:"owner"`
	Since Time          `json:"since"`
	For   time.Duration `json:"-"`
}

// ItemInProgress is an item in progress, with whom and since when (its
// latest move into in_progress).
type ItemInProgress struct {
	ID     string        `json:"id"`
	Title  string        `json:"title"`
	Domain string        `json:"domain"`
	Owner  string        `json:"owner"`
	Since  Time          `json:"since"`
	For    time.Duration `json:"-"`
}

func (tx *Tx) staleItems(ctx context.Context, after time.Duration) ([]StaleItem, error) {
	all, err := tx.itemsInProgress(ctx)
	if err != nil {
		return nil, err
	}
	out := []StaleItem{}
	for _, st := range all {
		if st.For > after {
			out = append(out, StaleItem{ID: st.ID, Owner: st.Owner, Since: st.Since, For: st.For})
		}
	}
	return out, nil
}

// itemsInProgress lists every item in progress, longest running first.
func (tx *Tx) itemsInProgress(ctx context.Context) ([]ItemInProgress, error) {
	rows, err := tx.st.HealthItemsInProgress(ctx)
	if err != nil {
		return nil, storeErr("read items", err)
	}
	out := []ItemInProgress{}
	for _, r := range rows {
		out = append(out, ItemInProgress{ID: r.ID, Title: r.Title, Domain: r.Domain, Owner: r.Owner, Since: Time{r.Since}, For: tx.now.Sub(r.Since)})
	}
	return out, nil
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute)
	case d >= time.Minute:
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
