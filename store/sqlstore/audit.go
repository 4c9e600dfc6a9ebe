package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

func (tx *Tx) AuditLastAt(ctx context.Context) (time.Time, error) {
	var at int64
	err := tx.queryRow(ctx, `SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, tx.fail("read the audit head", err)
	}
	return fromMS(at), nil
}

func (tx *Tx) AuditHead(ctx context.Context) (store.AuditMark, bool, error) {
	return tx.auditMark(ctx, "read the audit head", `SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1`)
}

func (tx *Tx) AuditFirst(ctx context.Context) (store.AuditMark, bool, error) {
	return tx.auditMark(ctx, "read the first audit event", `SELECT seq, hash, at FROM audit_log ORDER BY seq LIMIT 1`)
}

func (tx *Tx) auditMark(ctx context.Context, op, query string) (store.AuditMark, bool, error) {
	var m store.AuditMark
	var at int64
	err := tx.queryRow(ctx, query).Scan(&m.Seq, &m.Hash, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return store.AuditMark{}, false, nil
	}
	if err != nil {
		return store.AuditMark{}, false, tx.fail(op, err)
	}
	m.At = fromMS(at)
	return m, true, nil
}

func (tx *Tx) AuditAppend(ctx context.Context, e store.AuditEvent) error {
	_, err := tx.exec(ctx, "append to the audit log", `INSERT INTO audit_log (seq, at, actor, action, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, ms(e.At), e.Actor, e.Action, e.Subject, e.Payload, e.PrevHash, e.Hash)
	return err
}

const auditColumns = `SELECT seq, at, actor, action, subject, payload, prev_hash, hash FROM audit_log`

func (tx *Tx) AuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	var c conditions
	c.when(q.Subject != "", `subject = ?`, q.Subject)
	c.when(q.Action != "", `action = ?`, q.Action)
	c.when(!q.Since.IsZero(), `at >= ?`, ms(q.Since))
	query, args := auditColumns+c.where(), c.args
	if q.Limit > 0 {
		// The newest Limit events, reversed into order below.
		query += ` ORDER BY seq DESC LIMIT ?`
		args = append(args, q.Limit)
	} else {
		query += ` ORDER BY seq`
	}
	out := []store.AuditEvent{}
	err := tx.eachAudit(ctx, query, args, func(e *store.AuditEvent) bool {
		out = append(out, *e)
		return true
	})
	if err != nil {
		return nil, err
	}
	if q.Limit > 0 {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

func (tx *Tx) AuditEach(ctx context.Context, visit func(*store.AuditEvent) bool) error {
	return tx.eachAudit(ctx, auditColumns+` ORDER BY seq`, nil, visit)
}

func (tx *Tx) AuditEachRange(ctx context.Context, from, to int64, visit func(*store.AuditEvent) bool) error {
	return tx.eachAudit(ctx, auditColumns+` WHERE seq BETWEEN ? AND ? ORDER BY seq`, []any{from, to}, visit)
}

func (tx *Tx) eachAudit(ctx context.Context, query string, args []any, visit func(*store.AuditEvent) bool) error {
	const op = "read the audit log"
	rows, err := tx.query(ctx, op, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e store.AuditEvent
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Payload, &e.PrevHash, &e.Hash); err != nil {
			return tx.fail(op, err)
		}
		e.At = fromMS(at)
		if !visit(&e) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return tx.fail(op, err)
	}
	return nil
}

func (tx *Tx) AuditHashAt(ctx context.Context, seq int64) (string, bool, error) {
	var hash string
	err := tx.queryRow(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, seq).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, tx.fail("read the audit log", err)
	}
	return hash, true, nil
}

func (tx *Tx) VerificationInsert(ctx context.Context, v store.Verification) error {
	var seq, hash any
	if v.HeadSeq != 0 {
		seq, hash = v.HeadSeq, v.HeadHash
	}
	_, err := tx.exec(ctx, "record a verification", `INSERT INTO verifications (kind, ok, detail, findings, head_seq, head_hash, source, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		string(v.Kind), boolInt(v.OK), v.Detail, v.Findings, seq, hash, v.Source, ms(v.At))
	return err
}

const verifiedChainHeads = `SELECT head_seq, head_hash, source, at FROM verifications
	WHERE kind = 'audit_chain' AND ok = 1 AND head_seq IS NOT NULL ORDER BY head_seq DESC, id DESC`

func (tx *Tx) VerifiedChainHeadLatest(ctx context.Context) (store.VerifiedHead, bool, error) {
	var h store.VerifiedHead
	var at int64
	err := tx.queryRow(ctx, verifiedChainHeads+` LIMIT 1`).Scan(&h.Seq, &h.Hash, &h.Source, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return store.VerifiedHead{}, false, nil
	}
	if err != nil {
		return store.VerifiedHead{}, false, tx.fail("read verifications", err)
	}
	h.At = fromMS(at)
	return h, true, nil
}

func (tx *Tx) VerifiedChainHeads(ctx context.Context) ([]store.VerifiedHead, error) {
	return collect(ctx, tx, "read verifications", func(r scanner) (h store.VerifiedHead, err error) {
		var at int64
		err = r.Scan(&h.Seq, &h.Hash, &h.Source, &at)
		h.At = fromMS(at)
		return h, err
	}, verifiedChainHeads)
}

func (tx *Tx) ReportInsert(ctx context.Context, r store.Report) error {
	_, err := tx.exec(ctx, "record a report", `INSERT INTO reports (path, generated_at, head_seq, head_hash, findings, md_blob, json_blob) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.Path, ms(r.GeneratedAt), r.HeadSeq, r.HeadHash, r.Findings, r.MDBlob, r.JSONBlob)
	return err
}

func (tx *Tx) ReportsLastGeneratedAt(ctx context.Context) (time.Time, error) {
	var at int64
	if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(generated_at), 0) FROM reports`).Scan(&at); err != nil {
		return time.Time{}, tx.fail("read reports", err)
	}
	return fromMS(at), nil
}

func (tx *Tx) ReportPathTaken(ctx context.Context, path string) (bool, error) {
	var taken bool
	if err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reports WHERE path = ?)`, path).Scan(&taken); err != nil {
		return false, tx.fail("read reports", err)
	}
	return taken, nil
}

func (tx *Tx) ReportRepeatExpiries(ctx context.Context, now, windowStart time.Time, atLeast int) ([]store.OwnerCount, error) {
	return collect(ctx, tx, "read leases", func(r scanner) (o store.OwnerCount, err error) {
		err = r.Scan(&o.Owner, &o.Count)
		return o, err
	}, `SELECT owner, count(*) FROM leases WHERE ((state = 'expired') OR (state = 'active' AND expires_at <= ?)) AND expires_at > ?
		GROUP BY owner HAVING count(*) >= ? ORDER BY count(*) DESC, owner`, ms(now), ms(windowStart), atLeast)
}

func (tx *Tx) ReportSkippedVerifications(ctx context.Context, since time.Time) ([]store.SkippedVerification, error) {
	return collect(ctx, tx, "read transitions", func(r scanner) (s store.SkippedVerification, err error) {
		var at int64
		err = r.Scan(&s.ItemID, &s.Actor, &s.Reason, &at)
		s.At = fromMS(at)
		return s, err
	}, `SELECT item_id, actor, reason, at FROM item_transitions WHERE verification = 'skipped' AND at > ? ORDER BY id`, ms(since))
}

func (tx *Tx) ReportLastProclamationBody(ctx context.Context, topic string) (string, bool, error) {
	var body string
	err := tx.queryRow(ctx, `SELECT body FROM signals WHERE kind = 'proclamation' AND topic = ? ORDER BY id DESC LIMIT 1`, topic).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, tx.fail("read signals", err)
	}
	return body, true, nil
}

func (tx *Tx) HealthCapsuleLastDrift(ctx context.Context, capsuleID int64) (bool, bool, error) {
	var drifted int64
	err := tx.queryRow(ctx, `SELECT drifted FROM capsule_checks WHERE capsule_id = ? ORDER BY id DESC LIMIT 1`, capsuleID).Scan(&drifted)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, tx.fail("read capsule checks", err)
	}
	return drifted == 1, true, nil
}

func (tx *Tx) HealthCapsuleCheckInsert(ctx context.Context, capsuleID int64, drifted bool, source string, at time.Time) error {
	_, err := tx.exec(ctx, "record a capsule check", `INSERT INTO capsule_checks (capsule_id, drifted, source, at) VALUES (?, ?, ?, ?)`,
		capsuleID, boolInt(drifted), source, ms(at))
	return err
}

func (tx *Tx) HealthDriftedInProgress(ctx context.Context) ([]string, error) {
	const op = "read capsule checks"
	rows, err := tx.query(ctx, op, `SELECT c.item_id FROM capsules c JOIN items i ON i.id = c.item_id AND i.status = 'in_progress'
		WHERE c.generation = (SELECT MAX(generation) FROM capsules c2 WHERE c2.item_id = c.item_id)
		AND (SELECT drifted FROM capsule_checks k WHERE k.capsule_id = c.id ORDER BY k.id DESC LIMIT 1) = 1
		ORDER BY c.item_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var item string
		if err := rows.Scan(&item); err != nil {
			return nil, tx.fail(op, err)
		}
		out = append(out, item)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.fail(op, err)
	}
	return out, nil
}

func (tx *Tx) HealthItemsInProgress(ctx context.Context) ([]store.InProgressItem, error) {
	return collect(ctx, tx, "read items", func(r scanner) (it store.InProgressItem, err error) {
		var since int64
		err = r.Scan(&it.ID, &it.Title, &it.Domain, &it.Owner, &since)
		it.Since = fromMS(since)
		return it, err
	}, `SELECT i.id, i.title, i.domain, i.owner, MAX(t.at) AS since FROM items i JOIN item_transitions t ON t.item_id = i.id AND t.to_status = 'in_progress'
		WHERE i.status = 'in_progress' GROUP BY i.id, i.title, i.domain, i.owner ORDER BY since, i.id`)
}

func (tx *Tx) JobRunStart(ctx context.Context, name string, trigger store.JobTrigger, at time.Time) (int64, error) {
	return tx.insert(ctx, "record a job run", `INSERT INTO job_runs (name, trigger, started_at, outcome) VALUES (?, ?, ?, 'running')`, name, string(trigger), ms(at))
}

func (tx *Tx) JobRunFinishIf(ctx context.Context, id int64, at time.Time, outcome store.JobOutcome, summary string) (bool, error) {
	n, err := tx.changed(ctx, "record a job run's outcome", `UPDATE job_runs SET finished_at = ?, outcome = ?, summary = ? WHERE id = ? AND outcome = 'running'`,
		ms(at), string(outcome), summary, id)
	return n == 1, err
}

func (tx *Tx) JobRunSkipped(ctx context.Context, name string, at time.Time, summary string) error {
	_, err := tx.exec(ctx, "record a skipped job run", `INSERT INTO job_runs (name, trigger, started_at, finished_at, outcome, summary) VALUES (?, 'schedule', ?, ?, 'skipped', ?)`,
		name, ms(at), ms(at), summary)
	return err
}

const jobRunColumns = `SELECT id, name, trigger, started_at, COALESCE(finished_at, 0), outcome, summary FROM job_runs WHERE name = ?`

func (tx *Tx) JobRunLast(ctx context.Context, name string) (store.JobRun, bool, error) {
	return tx.jobRun(ctx, jobRunColumns+` AND outcome <> 'skipped' ORDER BY id DESC LIMIT 1`, name)
}

func (tx *Tx) JobRunLastOK(ctx context.Context, name string) (store.JobRun, bool, error) {
	return tx.jobRun(ctx, jobRunColumns+` AND outcome = 'ok' ORDER BY id DESC LIMIT 1`, name)
}

func (tx *Tx) jobRun(ctx context.Context, query, name string) (store.JobRun, bool, error) {
	var r store.JobRun
	var trigger, outcome string
	var started, finished int64
	err := tx.queryRow(ctx, query, name).Scan(&r.ID, &r.Name, &trigger, &started, &finished, &outcome, &r.Summary)
	if errors.Is(err, sql.ErrNoRows) {
		return store.JobRun{}, false, nil
	}
	if err != nil {
		return store.JobRun{}, false, tx.fail("read job runs", err)
	}
	r.Trigger, r.Outcome = store.JobTrigger(trigger), store.JobOutcome(outcome)
	r.StartedAt, r.FinishedAt = fromMS(started), fromMS(finished)
	return r, true, nil
}

func (tx *Tx) DaemonGet(ctx context.Context) (store.Daemon, bool, error) {
	var d store.Daemon
	var started, beat int64
	err := tx.queryRow(ctx, `SELECT pid, host, started_at, heartbeat_at, schedule FROM daemon WHERE id = 1`).Scan(&d.PID, &d.Host, &started, &beat, &d.Schedule)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Daemon{}, false, nil
	}
	if err != nil {
		return store.Daemon{}, false, tx.fail("read the daemon", err)
	}
	d.StartedAt, d.HeartbeatAt = fromMS(started), fromMS(beat)
	return d, true, nil
}

func (tx *Tx) DaemonClaim(ctx context.Context, d store.Daemon) error {
	_, err := tx.exec(ctx, "claim the daemon", `INSERT INTO daemon (id, pid, host, started_at, heartbeat_at) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
		d.PID, d.Host, ms(d.StartedAt), ms(d.HeartbeatAt))
	return err
}

func (tx *Tx) DaemonHeartbeatIf(ctx context.Context, pid int64, host string, at time.Time, schedule string) (bool, error) {
	n, err := tx.changed(ctx, "record the daemon's heartbeat", `UPDATE daemon SET heartbeat_at = ?, schedule = ? WHERE id = 1 AND pid = ? AND host = ?`,
		ms(at), schedule, pid, host)
	return n == 1, err
}

func (tx *Tx) DaemonReleaseIf(ctx context.Context, pid int64, host string) (bool, error) {
	n, err := tx.changed(ctx, "release the daemon", `DELETE FROM daemon WHERE id = 1 AND pid = ? AND host = ?`, pid, host)
	return n == 1, err
}

func (tx *Tx) BlobRefsCapsules(ctx context.Context, after int64) ([]store.CapsuleBlob, error) {
	return collect(ctx, tx, "read capsules", func(r scanner) (c store.CapsuleBlob, err error) {
		err = r.Scan(&c.ID, &c.ItemID, &c.Generation, &c.Blob)
		return c, err
	}, `SELECT id, item_id, generation, blob FROM capsules WHERE id > ? ORDER BY id`, after)
}

func (tx *Tx) BlobRefsShadowEdits(ctx context.Context, after int64) ([]store.ShadowEditBlobs, error) {
	return collect(ctx, tx, "read shadow edits", func(r scanner) (s store.ShadowEditBlobs, err error) {
		err = r.Scan(&s.ID, &s.OldBlob, &s.NewBlob)
		return s, err
	}, `SELECT id, old_blob, new_blob FROM shadow_edits WHERE id > ? ORDER BY id`, after)
}

func (tx *Tx) BlobRefsFingerprints(ctx context.Context, after int64) ([]store.FingerprintManifest, error) {
	return collect(ctx, tx, "read fingerprints", func(r scanner) (f store.FingerprintManifest, err error) {
		err = r.Scan(&f.ID, &f.Manifest, &f.Resource)
		return f, err
	}, `SELECT MAX(id), manifest, resource FROM fingerprints WHERE id > ? GROUP BY manifest, resource ORDER BY MIN(id)`, after)
}

func (tx *Tx) BlobRefsReports(ctx context.Context, after int64) ([]store.ReportRow, error) {
	return collect(ctx, tx, "read reports", func(row scanner) (r store.ReportRow, err error) {
		err = row.Scan(&r.ID, &r.Path, &r.HeadSeq, &r.HeadHash, &r.MDBlob, &r.JSONBlob)
		return r, err
	}, `SELECT id, path, head_seq, head_hash, md_blob, json_blob FROM reports WHERE id > ? ORDER BY id`, after)
}

func (tx *Tx) VerifyMarks(ctx context.Context) (map[store.VerifyMark]int64, error) {
	const op = "read verify marks"
	rows, err := tx.query(ctx, op, `SELECT name, through FROM verify_marks`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[store.VerifyMark]int64{}
	for rows.Next() {
		var name string
		var through int64
		if err := rows.Scan(&name, &through); err != nil {
			return nil, tx.fail(op, err)
		}
		out[store.VerifyMark(name)] = through
	}
	if err := rows.Err(); err != nil {
		return nil, tx.fail(op, err)
	}
	return out, nil
}

func (tx *Tx) VerifyMarkAdvance(ctx context.Context, mark store.VerifyMark, through int64, at time.Time) error {
	_, err := tx.exec(ctx, "record a verify mark", `INSERT INTO verify_marks (name, through, at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET through = excluded.through, at = excluded.at WHERE verify_marks.through < excluded.through`,
		string(mark), through, ms(at))
	return err
}

func (tx *Tx) VerifiedBlob(ctx context.Context, blob string) (bool, error) {
	var found bool
	if err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM verified_blobs WHERE sha256 = ?)`, blob).Scan(&found); err != nil {
		return false, tx.fail("read verified blobs", err)
	}
	return found, nil
}

func (tx *Tx) VerifiedBlobAdd(ctx context.Context, blob string, at time.Time) error {
	_, err := tx.exec(ctx, "record a verified blob", `INSERT INTO verified_blobs (sha256, at) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING`, blob, ms(at))
	return err
}

func (tx *Tx) VerifySignalFilesAfter(ctx context.Context, after int64) ([]store.SignalFile, error) {
	return collect(ctx, tx, "read signals", func(r scanner) (f store.SignalFile, err error) {
		err = r.Scan(&f.ID, &f.File)
		return f, err
	}, `SELECT id, file FROM signals WHERE id > ? ORDER BY id`, after)
}

func (tx *Tx) TokenSeedAtLeast(ctx context.Context, seed int64) error {
	_, err := tx.exec(ctx, "seed the lease-token counter", `UPDATE counters SET value = ? WHERE name = 'lease_token' AND value < ?`, seed, seed)
	return err
}

// The replay's snapshots select each row's identity columns first, joined
// here with sep into the key (never || in SQL, which differs on integers
// between the databases), then the compared columns.
func (tx *Tx) snapshot(ctx context.Context, table, where string, keys []string, sep string, columns ...string) (store.Snapshot, error) {
	op := "read " + table
	query := `SELECT ` + strings.Join(keys, ", ") + `, ` + strings.Join(columns, ", ") + ` FROM ` + table + where
	rows, err := tx.query(ctx, op, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	nk := len(keys)
	out := store.Snapshot{}
	for rows.Next() {
		vals := make([]text, nk+len(columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, tx.fail(op, err)
		}
		key := make([]string, nk)
		for i := range key {
			key[i] = string(vals[i])
		}
		row := make(map[string]string, len(columns))
		for i, c := range columns {
			row[c] = string(vals[nk+i])
		}
		out[strings.Join(key, sep)] = row
	}
	if err := rows.Err(); err != nil {
		return nil, tx.fail(op, err)
	}
	return out, nil
}

// text scans any column as text, NULL as "".
type text string

func (t *text) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*t = ""
	case []byte:
		*t = text(x)
	case string:
		*t = text(x)
	case int64:
		*t = text(strconv.FormatInt(x, 10))
	default:
		*t = text(fmt.Sprint(x))
	}
	return nil
}

func (tx *Tx) ReplayItems(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "items", "", []string{"id"}, "", "title", "kind", "domain", "priority", "status", "owner", "objective",
		"in_scope", "out_of_scope", "invariants", "files", "commands", "created_at", "updated_at")
}

func (tx *Tx) ReplayItemDeps(ctx context.Context) (map[string][]string, error) {
	const op = "read dependencies"
	rows, err := tx.query(ctx, op, `SELECT item_id, depends_on FROM item_deps ORDER BY item_id, pos`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	deps := map[string][]string{}
	for rows.Next() {
		var id, dep string
		if err := rows.Scan(&id, &dep); err != nil {
			return nil, tx.fail(op, err)
		}
		deps[id] = append(deps[id], dep)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.fail(op, err)
	}
	return deps, nil
}

func (tx *Tx) ReplayTransitions(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "item_transitions", "", []string{"id"}, "", "item_id", "from_status", "to_status", "actor", "reason",
		"council_id", "at", "verification")
}

func (tx *Tx) ReplayLeases(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "leases", "", []string{"token"}, "", "resource", "owner", "domain", "item_id", "reason", "created_at", "expires_at",
		"hold_since", "state", "ended_at", "end_reason", "ended_by")
}

func (tx *Tx) ReplayTokenCounter(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "counters", ` WHERE name = 'lease_token'`, []string{"name"}, "", "value")
}

func (tx *Tx) ReplayAttestations(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "lease_attestations", "", []string{"token", "path", "blob"}, " ", "attested_at")
}

func (tx *Tx) ReplaySignals(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "signals", "", []string{"id"}, "", "kind", "topic", "from_owner", "from_domain", "to_target", "item_id", "resource",
		"body", "refs", "created_at", "file", "question")
}

func (tx *Tx) ReplayAcks(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "signal_acks", "", []string{"signal_id", "owner"}, " ", "domain", "acked_at")
}

func (tx *Tx) ReplayCouncilApprovals(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "council_approvals", "", []string{"signal_id"}, "", "item_id", "approved_by", "approver_domain",
		"approved_at", "note", "consumed_at", "consumed_by", "consumed_action")
}

func (tx *Tx) ReplayCouncilOutcomes(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "council_outcomes", "", []string{"signal_id"}, "", "outcome", "by_owner", "by_domain", "reason", "at")
}

func (tx *Tx) ReplayShadowEdits(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "shadow_edits", "", []string{"id"}, "", "resource", "worktree", "paths", "old_blob", "new_blob", "detected_at", "status",
		"resolved_at", "resolved_by", "reason", "signal_id")
}

func (tx *Tx) ReplayCapsules(ctx context.Context) (store.Snapshot, error) {
	return tx.snapshot(ctx, "capsules", "", []string{"item_id", "generation"}, " generation ", "blob", "path", "template", "generated_at")
}
