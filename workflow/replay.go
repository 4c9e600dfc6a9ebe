package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

// The replay rebuilds, from the audit events alone, the rows the protocol's
// promises rest on: work items with their dependencies and history, leases,
// the fencing-token counter and what was attested under each lease, signals,
// council approvals and their single use, shadow edits and capsule
// generations. Verification then compares them
// with the tables both ways: a row that no event accounts for, an event whose
// row is gone, and a field that differs are each a disagreement. A re-hash
// proves the log was not edited; the replay proves the tables were not edited
// behind the log's back, even with every trigger dropped.
//
// Evidence: a column is compared only when the log records it. An event
// written before its payload carried a field leaves that column unknown, and
// an unknown column is not checked: a lease.release event written before
// releases recorded their reason leaves the lease's end_reason unchecked (a
// lease.grant before holds outlived a lease, its hold_since; a shadow.detect
// before edits were kept per worktree, the edit's worktree), and everything
// else about that row is checked as usual.
//
// The state is plain maps keyed by each row's identity, fed one event at a
// time in chain order, so that it can later be kept at a verified seq and
// resumed from there instead of replaying from seq 1.

// maxDisagreements caps the list a check returns; the count is kept.
const maxDisagreements = 20

// replayRow is one row as the log says it must be.
type replayRow struct {
	seq  int64             // the last event that shaped the row
	vals map[string]string // column -> value; an absent column has no evidence
}

// replayTable is one table as the log rebuilds it.
type replayTable struct {
	name    string   // the table
	noun    string   // how a finding names one row: "lease token", "item", ...
	columns []string // compared columns
	// read is the store's snapshot of the table, keyed as rows is.
	read func(store.Tx, context.Context) (store.Snapshot, error)
	rows map[string]*replayRow
}

// row returns the row with key, creating it at seq.
func (t *replayTable) row(key string, seq int64) *replayRow {
	r := t.rows[key]
	if r == nil {
		r = &replayRow{vals: map[string]string{}}
		t.rows[key] = r
	}
	r.seq = seq
	return r
}

// set records column values in pairs: set("state", "active", "owner", "ada").
func (r *replayRow) set(pairs ...string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		r.vals[pairs[i]] = pairs[i+1]
	}
}

// replay is the state rebuilt so far.
type replay struct {
	items, transitions, leases, counters, attestations, signals, council, outcomes, acks, shadows, capsules *replayTable
	maxToken                                                                                                int64
	// contradictions are events that do not fit the state before them: an
	// event about a row the log never created, or a move from a status the
	// item was not in.
	contradictions []string
}

func newReplay() *replay {
	table := func(name, noun string, read func(store.Tx, context.Context) (store.Snapshot, error), columns ...string) *replayTable {
		return &replayTable{name: name, noun: noun, columns: columns, read: read, rows: map[string]*replayRow{}}
	}
	r := &replay{
		items: table("items", "item", store.Tx.ReplayItems, "title", "kind", "domain", "priority", "status", "owner", "objective",
			"in_scope", "out_of_scope", "invariants", "files", "commands", "created_at", "updated_at", dependsOnColumn),
		transitions: table("item_transitions", "item transition", store.Tx.ReplayTransitions, "item_id", "from_status", "to_status", "actor", "reason",
			"council_id", "at", "verification"),
		leases: table("leases", "lease token", store.Tx.ReplayLeases, "resource", "owner", "domain", "item_id", "reason", "created_at", "expires_at",
			"hold_since", "state", "ended_at", "end_reason", "ended_by"),
		counters:     table("counters", "counter", store.Tx.ReplayTokenCounter, "value"),
		attestations: table("lease_attestations", "attestation", store.Tx.ReplayAttestations, "attested_at"),
		signals: table("signals", "signal", store.Tx.ReplaySignals, "kind", "topic", "from_owner", "from_domain", "to_target", "item_id", "resource",
			"body", "refs", "created_at", "file", "question"),
		council: table("council_approvals", "council approval of signal", store.Tx.ReplayCouncilApprovals, "item_id", "approved_by", "approver_domain",
			"approved_at", "note", "consumed_at", "consumed_by", "consumed_action"),
		acks:     table("signal_acks", "acknowledgement", store.Tx.ReplayAcks, "domain", "acked_at"),
		outcomes: table("council_outcomes", "council outcome of signal", store.Tx.ReplayCouncilOutcomes, "outcome", "by_owner", "by_domain", "reason", "at"),
		shadows: table("shadow_edits", "shadow edit", store.Tx.ReplayShadowEdits, "resource", "worktree", "paths", "old_blob", "new_blob", "detected_at", "status",
			"resolved_at", "resolved_by", "reason", "signal_id"),
		capsules: table("capsules", "capsule", store.Tx.ReplayCapsules, "blob", "path", "template", "generated_at"),
	}
	r.counters.row("lease_token", 0).set("value", "0")
	return r
}

// dependsOnColumn is compared with each item row: its dependencies in
// order, as item_deps holds them (attachDeps).
const dependsOnColumn = "depends_on"

// tables lists the replayed tables in the order findings are reported.
func (r *replay) tables() []*replayTable {
	return []*replayTable{r.items, r.transitions, r.leases, r.counters, r.attestations, r.signals, r.acks, r.council, r.outcomes, r.shadows, r.capsules}
}

// ReplayCounts is how many rows of each table the replay accounted for.
type ReplayCounts struct {
	Items            int `json:"items"`
	Transitions      int `json:"transitions"`
	Leases           int `json:"leases"`
	Attestations     int `json:"attestations"`
	Signals          int `json:"signals"`
	CouncilApprovals int `json:"council_approvals"`
	ShadowEdits      int `json:"shadow_edits"`
	Capsules         int `json:"capsules"`
}

func (r *replay) counts() ReplayCounts {
	return ReplayCounts{Items: len(r.items.rows), Transitions: len(r.transitions.rows), Leases: len(r.leases.rows), Attestations: len(r.attestations.rows),
		Signals: len(r.signals.rows), CouncilApprovals: len(r.council.rows), ShadowEdits: len(r.shadows.rows), Capsules: len(r.capsules.rows)}
}

// chainEvent is one audit row as verification reads it.
type chainEvent struct {
	seq, at                                         int64
	actor, action, subject, payload, prevHash, hash string
}

// subjectID is the number in a subject such as signal:12, or 0.
func (e *chainEvent) subjectID(prefix string) int64 {
	rest, ok := strings.CutPrefix(e.subject, prefix+":")
	if !ok {
		return 0
	}
	id, _ := strconv.ParseInt(rest, 10, 64)
	return id
}

func (r *replay) contradict(e *chainEvent, format string, args ...any) {
	r.contradictions = append(r.contradictions, fmt.Sprintf("seq %d (%s %s): ", e.seq, e.action, e.subject)+fmt.Sprintf(format, args...))
}

// apply folds one event into the state. Events that change none of the
// replayed tables (verifications, reports, the daemon, guard bypasses) pass.
func (r *replay) apply(e *chainEvent) {
	var err error
	switch e.action {
	case "store.init":
		err = r.storeInit(e)
	case "item.create":
		err = r.itemCreate(e)
	case "item.update":
		err = r.itemUpdate(e)
	case "item.transition":
		err = r.itemTransition(e)
	case "lease.grant":
		err = r.leaseGrant(e)
	case "lease.renew", "lease.release", "lease.revoke", "lease.expire":
		err = r.leaseChange(e)
	case "lease.attest":
		err = r.leaseAttest(e)
	case "signal.send":
		err = r.signalSend(e)
	case "council.approve", "council.consume":
		err = r.councilChange(e)
	case "council.deny", "council.withdraw":
		err = r.councilOutcome(e)
	case "signal.ack":
		err = r.signalAck(e)
	case "shadow.detect", "shadow.restore", "shadow.accept":
		err = r.shadowChange(e)
	case "capsule.generate":
		err = r.capsuleGenerate(e)
	}
	if err != nil {
		r.contradict(e, "its payload cannot be read: %v", err)
	}
}

func msText(v int64) string { return strconv.FormatInt(v, 10) }

// eventTimeMS reads a time as payloads write it (RFC 3339) in milliseconds.
func eventTimeMS(s string) (string, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", err
	}
	return msText(t.UnixMilli()), nil
}

func (r *replay) setSpec(row *replayRow, spec ItemSpec) {
	row.set("title", spec.Title, "kind", spec.Kind, "domain", spec.Domain, "priority", spec.Priority, "objective", spec.Objective,
		"in_scope", encodeList(spec.InScope), "out_of_scope", encodeList(spec.OutOfScope), "invariants", encodeList(spec.Invariants),
		"files", encodeList(spec.Files), "commands", encodeList(spec.Commands), dependsOnColumn, encodeList(spec.DependsOn))
}

func (r *replay) itemCreate(e *chainEvent) error {
	var spec ItemSpec
	if err := json.Unmarshal([]byte(e.payload), &spec); err != nil {
		return err
	}
	id := strings.TrimPrefix(e.subject, "item:")
	if r.items.rows[id] != nil {
		r.contradict(e, "item %s was already created", id)
	}
	row := r.items.row(id, e.seq)
	r.setSpec(row, spec)
	row.set("status", string(StatusOpen), "owner", "", "created_at", msText(e.at), "updated_at", msText(e.at))
	return nil
}

func (r *replay) itemUpdate(e *chainEvent) error {
	var p struct {
		Spec ItemSpec `json:"spec"`
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	id := strings.TrimPrefix(e.subject, "item:")
	if r.items.rows[id] == nil {
		r.contradict(e, "item %s was never created", id)
	}
	row := r.items.row(id, e.seq)
	r.setSpec(row, p.Spec)
	row.set("updated_at", msText(e.at))
	return nil
}

func (r *replay) itemTransition(e *chainEvent) error {
	var p struct {
		From, To, Owner, Reason, Verification string
		Council                               int64
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	id := strings.TrimPrefix(e.subject, "item:")
	prev := r.items.rows[id]
	switch {
	case prev == nil:
		r.contradict(e, "item %s was never created", id)
	case prev.vals["status"] != p.From:
		r.contradict(e, "it moves %s from %s, but the log left it %s", id, p.From, prev.vals["status"])
	}
	r.items.row(id, e.seq).set("status", p.To, "owner", p.Owner, "updated_at", msText(e.at))
	council := ""
	if p.Council > 0 {
		council = msText(p.Council)
	}
	r.transitions.row(msText(int64(len(r.transitions.rows)+1)), e.seq).set("item_id", id, "from_status", p.From, "to_status", p.To,
		"actor", e.actor, "reason", p.Reason, "council_id", council, "at", msText(e.at), "verification", p.Verification)
	return nil
}

// storeInit sets the fencing counter where a new store seeds it (stores
// created before seeding record no first token and start at 0).
func (r *replay) storeInit(e *chainEvent) error {
	var p struct {
		FirstToken int64 `json:"first_token"`
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	if p.FirstToken > 0 {
		r.maxToken = p.FirstToken - 1
		r.counters.row("lease_token", e.seq).set("value", msText(r.maxToken))
	}
	return nil
}

func (r *replay) leaseGrant(e *chainEvent) error {
	var p struct {
		Owner, Domain, Item, Reason string
		Token                       int64
		ExpiresAt                   string  `json:"expires_at"`
		HoldSince                   *string `json:"hold_since"` // recorded since holds outlive a lease
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	expires, err := eventTimeMS(p.ExpiresAt)
	if err != nil {
		return err
	}
	key := msText(p.Token)
	if r.leases.rows[key] != nil {
		r.contradict(e, "token %d was already granted", p.Token)
	}
	row := r.leases.row(key, e.seq)
	row.set("resource", strings.TrimPrefix(e.subject, "resource:"), "owner", p.Owner, "domain", p.Domain,
		"item_id", p.Item, "reason", p.Reason, "created_at", msText(e.at), "expires_at", expires,
		"state", string(LeaseActive), "ended_at", "", "end_reason", "", "ended_by", "")
	if p.HoldSince != nil {
		since, err := eventTimeMS(*p.HoldSince)
		if err != nil {
			return err
		}
		row.set("hold_since", since)
	}
	if p.Token > r.maxToken {
		r.maxToken = p.Token
		r.counters.row("lease_token", e.seq).set("value", key)
	}
	return nil
}

// leaseChange replays a renewal or the end of a lease.
func (r *replay) leaseChange(e *chainEvent) error {
	var p struct {
		Token     int64
		ExpiresAt string  `json:"expires_at"`
		Reason    *string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	key := msText(p.Token)
	prev := r.leases.rows[key]
	if prev == nil {
		r.contradict(e, "lease token %d was never granted", p.Token)
		return nil
	}
	if prev.vals["state"] != string(LeaseActive) {
		r.contradict(e, "lease token %d had already ended (%s)", p.Token, prev.vals["state"])
	}
	row := r.leases.row(key, e.seq)
	switch e.action {
	case "lease.renew":
		expires, err := eventTimeMS(p.ExpiresAt)
		if err != nil {
			return err
		}
		row.set("expires_at", expires)
	case "lease.expire":
		ended, err := eventTimeMS(p.ExpiresAt)
		if err != nil {
			return err
		}
		row.set("state", string(LeaseExpired), "ended_at", ended, "end_reason", expiredReason, "ended_by", e.actor)
	case "lease.release", "lease.revoke":
		state := LeaseReleased
		if e.action == "lease.revoke" {
			state = LeaseRevoked
		}
		row.set("state", string(state), "ended_at", msText(e.at), "ended_by", e.actor)
		if p.Reason != nil {
			row.set("end_reason", *p.Reason)
		} else {
			delete(row.vals, "end_reason") // written before releases carried their reason
		}
	}
	return nil
}

// leaseAttest replays the content a holder committed under a lease: what
// `oxygen check --range` accepts a commit on.
func (r *replay) leaseAttest(e *chainEvent) error {
	var p struct {
		Token   int64
		Changes []Change
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	if r.leases.rows[msText(p.Token)] == nil {
		r.contradict(e, "lease token %d was never granted", p.Token)
	}
	for _, c := range p.Changes {
		r.attestations.row(msText(p.Token)+" "+c.Path+" "+c.Blob, e.seq).set("attested_at", msText(e.at))
	}
	return nil
}

func (r *replay) signalSend(e *chainEvent) error {
	var p struct {
		Kind, Topic, To, Item, Resource, Body, File string
		FromDomain                                  string   `json:"from_domain"`
		Refs                                        []string `json:"refs"`
		Question                                    bool
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	id := e.subjectID("signal")
	key := msText(id)
	if r.signals.rows[key] != nil {
		r.contradict(e, "signal %d was already sent", id)
	}
	r.signals.row(key, e.seq).set("kind", p.Kind, "topic", p.Topic, "from_owner", e.actor, "from_domain", p.FromDomain,
		"to_target", p.To, "item_id", p.Item, "resource", p.Resource, "body", p.Body, "refs", encodeList(p.Refs),
		"created_at", msText(e.at), "file", p.File, "question", msText(int64(boolInt(p.Question))))
	return nil
}

func (r *replay) councilChange(e *chainEvent) error {
	var p struct {
		Item, Note, Action string
		ApproverDomain     string `json:"approver_domain"`
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	id := e.subjectID("signal")
	key := msText(id)
	prev := r.council.rows[key]
	if e.action == "council.approve" {
		if prev != nil {
			r.contradict(e, "council_call %d was already approved", id)
		}
		r.council.row(key, e.seq).set("item_id", p.Item, "approved_by", e.actor, "approver_domain", p.ApproverDomain,
			"approved_at", msText(e.at), "note", p.Note, "consumed_at", "", "consumed_by", "", "consumed_action", "")
		return nil
	}
	switch {
	case prev == nil:
		r.contradict(e, "council_call %d was never approved", id)
	case prev.vals["consumed_at"] != "":
		r.contradict(e, "council_call %d was already used", id)
	}
	r.council.row(key, e.seq).set("consumed_at", msText(e.at), "consumed_by", e.actor, "consumed_action", p.Action)
	return nil
}

// signalAck replays an acknowledgement: one per signal and owner.
func (r *replay) signalAck(e *chainEvent) error {
	var p struct{ Domain string }
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	key := msText(e.subjectID("signal")) + " " + e.actor
	if r.acks.rows[key] != nil {
		r.contradict(e, "%s had already acknowledged it", e.actor)
	}
	r.acks.row(key, e.seq).set("domain", p.Domain, "acked_at", msText(e.at))
	return nil
}

// councilOutcome replays a denial or a withdrawal: each call ends once.
func (r *replay) councilOutcome(e *chainEvent) error {
	var p struct {
		Reason   string
		ByDomain string `json:"by_domain"`
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	id := e.subjectID("signal")
	key := msText(id)
	if r.outcomes.rows[key] != nil {
		r.contradict(e, "council_call %d had already ended", id)
	}
	outcome := map[string]string{"council.deny": string(CouncilDenied), "council.withdraw": string(CouncilWithdrawn)}[e.action]
	r.outcomes.row(key, e.seq).set("outcome", outcome, "by_owner", e.actor, "by_domain", p.ByDomain, "reason", p.Reason, "at", msText(e.at))
	return nil
}

func (r *replay) shadowChange(e *chainEvent) error {
	var p struct {
		Resource, Reason string
		Worktree         *string // recorded since shadow edits are kept per worktree
		Paths            json.RawMessage
		OldBlob          string `json:"old_blob"`
		NewBlob          string `json:"new_blob"`
		Signal           int64
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	id := e.subjectID("shadow")
	key := msText(id)
	prev := r.shadows.rows[key]
	if e.action == "shadow.detect" {
		if prev != nil {
			r.contradict(e, "shadow edit %d was already detected", id)
		}
		row := r.shadows.row(key, e.seq)
		row.set("resource", p.Resource, "paths", string(p.Paths), "old_blob", p.OldBlob, "new_blob", p.NewBlob,
			"detected_at", msText(e.at), "status", "open", "resolved_at", "", "resolved_by", "", "reason", "", "signal_id", msText(p.Signal))
		if p.Worktree != nil {
			row.set("worktree", *p.Worktree)
		}
		return nil
	}
	switch {
	case prev == nil:
		r.contradict(e, "shadow edit %d was never detected", id)
	case prev.vals["status"] != "open":
		r.contradict(e, "shadow edit %d was already %s", id, prev.vals["status"])
	}
	row := r.shadows.row(key, e.seq)
	row.set("resolved_at", msText(e.at), "resolved_by", e.actor)
	if e.action == "shadow.restore" {
		row.set("status", "restored")
	} else {
		row.set("status", "accepted", "reason", p.Reason)
	}
	return nil
}

func (r *replay) capsuleGenerate(e *chainEvent) error {
	var p struct {
		Generation           int
		Blob, Path, Template string
	}
	if err := json.Unmarshal([]byte(e.payload), &p); err != nil {
		return err
	}
	key := strings.TrimPrefix(e.subject, "item:") + " generation " + strconv.Itoa(p.Generation)
	r.capsules.row(key, e.seq).set("blob", p.Blob, "path", p.Path, "template", p.Template, "generated_at", msText(e.at))
	return nil
}

// compare reads every replayed table and lists where it and the log
// disagree, in table order.
func (r *replay) compare(ctx context.Context, tx *Tx) ([]string, error) {
	out := append([]string{}, r.contradictions...)
	for _, t := range r.tables() {
		actual, err := t.read(tx.st, ctx)
		if err != nil {
			return nil, storeErr("read "+t.name, err)
		}
		if t == r.items {
			if err := tx.attachDeps(ctx, actual); err != nil {
				return nil, err
			}
		}
		out = append(out, t.diff(actual)...)
	}
	return out, nil
}

// blobRefs are the blobs the log names: each capsule generation's, and the
// manifests before and after each shadow edit.
func (r *replay) blobRefs() []blobRef {
	var out []blobRef
	for _, t := range []*replayTable{r.capsules, r.shadows} {
		keys := make([]string, 0, len(t.rows))
		for k := range t.rows {
			keys = append(keys, k)
		}
		sortKeys(keys)
		for _, k := range keys {
			row := t.rows[k]
			for _, c := range []string{"blob", "old_blob", "new_blob"} {
				if h, ok := row.vals[c]; ok {
					out = append(out, blobRef{h, fmt.Sprintf("%s %s (audit seq %d)", t.noun, k, row.seq)})
				}
			}
		}
	}
	return out
}

// attachDeps adds each item's dependencies, in order, as depends_on.
func (tx *Tx) attachDeps(ctx context.Context, items store.Snapshot) error {
	deps, err := tx.st.ReplayItemDeps(ctx)
	if err != nil {
		return storeErr("read dependencies", err)
	}
	for id, it := range items {
		it[dependsOnColumn] = encodeList(deps[id])
	}
	return nil
}

// diff compares the table's rows with the replayed ones. Only the rows
// that disagree are sorted, so an agreeing table costs one lookup a row.
func (t *replayTable) diff(actual store.Snapshot) []string {
	found := map[string][]string{}
	for k, want := range t.rows {
		label := t.noun + " " + k
		got := actual[k]
		if got == nil {
			found[k] = append(found[k], fmt.Sprintf("%s is in the audit log (seq %d) but missing from %s", label, want.seq, t.name))
			continue
		}
		for _, c := range t.columns {
			if w, known := want.vals[c]; known && w != got[c] {
				found[k] = append(found[k], fmt.Sprintf("%s: %s is %s in %s, but the audit log (seq %d) says %s",
					label, c, showValue(c, got[c]), t.name, want.seq, showValue(c, w)))
			}
		}
	}
	for k := range actual {
		if t.rows[k] == nil {
			found[k] = append(found[k], fmt.Sprintf("%s %s is in %s but no audit event records it", t.noun, k, t.name))
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sortKeys(keys)
	var out []string
	for _, k := range keys {
		out = append(out, found[k]...)
	}
	return out
}

// sortKeys orders numeric keys by number and the rest as text.
func sortKeys(keys []string) {
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.ParseInt(keys[i], 10, 64)
		b, errB := strconv.ParseInt(keys[j], 10, 64)
		if errA == nil && errB == nil {
			return a < b
		}
		return keys[i] < keys[j]
	})
}

// showValue prints a compared value for people: times as RFC 3339, long
// text cut short.
func showValue(column, v string) string {
	if strings.HasSuffix(column, "_at") || column == "at" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n != 0 {
			return FormatTime(time.UnixMilli(n))
		}
	}
	if len(v) > 60 {
		v = v[:57] + "..."
	}
	return strconv.Quote(v)
}
