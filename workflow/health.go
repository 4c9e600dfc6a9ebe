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

// Health checks integrity and attention. It verifies the audit log (re-hash
// since the last verified head, anchored heads, replay against the tables) and the blob store and compares
// capsules with their files, so it is thorough rather than instant.
func (s *Service) Health(ctx context.Context) (*Health, error) {
	h := &Health{Status: HealthGreen, Findings: []HealthFinding{}}
	chain, err := s.verifyAuditLog(ctx, false)
	if err != nil {
		return nil, err
	}
	for _, f := range chain.Failures() {
		h.red("audit_log", "audit log", "%s", f)
	}
	blobs, err := s.checkBlobStore(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range blobs.Failures() {
		h.red("blob_store", "blob store", "%s", f)
	}
	var latest []*Capsule
	err = s.read(ctx, func(tx *Tx) error {
		if err := s.attention(ctx, tx, h); err != nil {
			return err
		}
		var err error
		latest, err = tx.scanCapsules(ctx, `generation = (SELECT MAX(generation) FROM capsules c2 WHERE c2.item_id = capsules.item_id)
			AND item_id IN (SELECT id FROM items WHERE status = 'in_progress') ORDER BY item_id`)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, c := range latest {
		d, err := s.capsuleDrift(ctx, c)
		if err != nil {
			return nil, err
		}
		if d.Drifted {
			h.yellow("capsule_drift", c.Item, "%s's capsule has drifted (orchestrate capsule verify %s)", c.Item, c.Item)
		}
	}
	if drift := PolicyDrift(s.Layout, s.Config); drift != "" {
		h.yellow("policy_drift", ConfigFile, "%s", drift)
	}
	return h, nil
}

// quickHealth is the colour a capsule shows: the attention checks plus the
// latest integrity results on record, without re-verifying anything.
func (s *Service) quickHealth(ctx context.Context, tx *Tx) (*Health, error) {
	h := &Health{Status: HealthGreen, Findings: []HealthFinding{}}
	for _, kind := range []string{"audit_chain", "blob_store"} {
		v, err := tx.latestVerification(ctx, kind)
		if err != nil {
			return nil, err
		}
		if v != nil && !v.OK {
			h.red(kind, kind, "the last %s check (%s) failed: %s", kind, v.At, v.Detail)
		}
	}
	return h, s.attention(ctx, tx, h)
}

// attention adds what the store alone tells, without re-hashing anything:
// open shadow edits (red), and the yellow reasons.
func (s *Service) attention(ctx context.Context, tx *Tx, h *Health) error {
	if tx.behind > time.Second {
		h.yellow("clock_behind", "clock", "the clock reads %s behind the newest audit event (%s): the store's time stands still until it catches up, so no lease expires meanwhile", FormatDuration(tx.behind), Time{tx.now})
	}
	open, err := tx.shadowEdits(ctx, `status = 'open' ORDER BY id`)
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
	rows, err := tx.query(ctx, `SELECT i.id, i.title, i.domain, i.owner, MAX(t.at) AS since FROM items i JOIN item_transitions t ON t.item_id = i.id AND t.to_status = 'in_progress'
		WHERE i.status = 'in_progress' GROUP BY i.id, i.title, i.domain, i.owner ORDER BY since, i.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ItemInProgress{}
	for rows.Next() {
		var st ItemInProgress
		var since int64
		if err := rows.Scan(&st.ID, &st.Title, &st.Domain, &st.Owner, &since); err != nil {
			return nil, storeErr("read items", err)
		}
		st.Since = fromMS(since)
		st.For = tx.now.Sub(st.Since.Time)
		out = append(out, st)
	}
	return out, rows.Err()
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
