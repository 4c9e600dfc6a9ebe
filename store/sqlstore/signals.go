package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

const signalColumns = `id, kind, topic, from_owner, from_domain, to_target, COALESCE(item_id, ''), COALESCE(resource, ''), body, refs, created_at, file, question`

func scanSignal(sc scanner) (store.Signal, error) {
	var s store.Signal
	var created int64
	err := sc.Scan(&s.ID, &s.Kind, &s.Topic, &s.FromOwner, &s.FromDomain, &s.ToTarget, &s.ItemID, &s.Resource, &s.Body, &s.Refs, &created, &s.File, &s.Question)
	s.CreatedAt = fromMS(created)
	return s, err
}

// signals runs a query selecting signalColumns and reads every row.
func (tx *Tx) signals(ctx context.Context, op, query string, args ...any) ([]store.Signal, error) {
	return collect(ctx, tx, op, scanSignal, query, args...)
}

func (tx *Tx) SignalInsert(ctx context.Context, s store.Signal) (int64, error) {
	return tx.insert(ctx, "record signal", `INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, item_id, resource, body, refs, created_at, file, question) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Kind, s.Topic, s.FromOwner, s.FromDomain, s.ToTarget, nullText(s.ItemID), nullText(s.Resource), s.Body, s.Refs, ms(s.CreatedAt), s.File, boolInt(s.Question))
}

func (tx *Tx) SignalGet(ctx context.Context, id int64) (store.Signal, error) {
	s, err := scanSignal(tx.queryRow(ctx, `SELECT `+signalColumns+` FROM signals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, store.ErrNotFound
	}
	if err != nil {
		return s, tx.fail("read signal", err)
	}
	return s, nil
}

func (tx *Tx) SignalFileTaken(ctx context.Context, file string) (bool, error) {
	var taken bool
	if err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signals WHERE file = ?)`, file).Scan(&taken); err != nil {
		return false, tx.fail("read signals", err)
	}
	return taken, nil
}

func (tx *Tx) SignalsList(ctx context.Context, f store.SignalFilter) ([]store.Signal, error) {
	var c conditions
	c.when(f.Kind != "", `kind = ?`, f.Kind)
	c.when(f.Item != "", `item_id = ?`, f.Item)
	c.when(f.Domain != "", `(from_domain = ? OR to_target = ? OR to_target = 'all')`, f.Domain, f.Domain)
	c.when(!f.Since.IsZero(), `created_at >= ?`, ms(f.Since))
	q, args := `SELECT `+signalColumns+` FROM signals`+c.where(), c.args
	if f.Limit <= 0 {
		return tx.signals(ctx, "read signals", q+` ORDER BY id`, args...)
	}
	out, err := tx.signals(ctx, "read signals", q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

func (tx *Tx) SignalsInbox(ctx context.Context, q store.InboxQuery) ([]store.Signal, error) {
	var c conditions
	c.when(q.SinceID > 0, `id >= ?`, q.SinceID)
	c.when(q.Owner != "", `from_owner <> ?`, q.Owner)
	c.when(q.Owner != "" && !q.WithAcked, `NOT EXISTS (SELECT 1 FROM signal_acks a WHERE a.signal_id = signals.id AND a.owner = ?)`, q.Owner)
	c.when(q.Owner == "" && !q.WithAcked, `NOT EXISTS (SELECT 1 FROM signal_acks a WHERE a.signal_id = signals.id AND a.domain = ?)`, q.Domain)
	// A council call is addressed to everyone but is only someone's business
	// while it is pending and they may approve it. A question (a council
	// call that asks) is read like any other signal to its addressee.
	council := `kind = 'council_call' AND question = 0 AND NOT EXISTS (SELECT 1 FROM council_approvals c WHERE c.signal_id = signals.id)
			AND NOT EXISTS (SELECT 1 FROM council_outcomes o WHERE o.signal_id = signals.id) AND created_at > ?`
	addressed := []any{ms(q.CouncilAfter)}
	if !q.SelfApprove {
		council += ` AND (SELECT domain FROM items WHERE items.id = signals.item_id) <> ?`
		addressed = append(addressed, q.Domain)
	}
	toAll := `(kind <> 'council_call' OR question = 1) AND to_target = 'all'`
	addressed = append(addressed, q.Domain)
	if !q.ShowHidden {
		toAll += ` AND NOT (kind = 'proclamation' AND from_owner = ? AND topic = ?)`
		addressed = append(addressed, q.HideOwner, q.HideTopic)
	}
	c.when(true, `((`+council+`) OR ((kind <> 'council_call' OR question = 1) AND to_target = ?) OR (`+toAll+`))`, addressed...)
	return tx.signals(ctx, "read inbox", `SELECT `+signalColumns+` FROM signals`+c.where()+` ORDER BY id`, c.args...)
}

func (tx *Tx) SignalFiles(ctx context.Context) ([]store.SignalFile, error) {
	rows, err := tx.query(ctx, "read signals", `SELECT id, file FROM signals ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SignalFile
	for rows.Next() {
		var f store.SignalFile
		if err := rows.Scan(&f.ID, &f.File); err != nil {
			return nil, tx.fail("read signals", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.fail("read signals", err)
	}
	return out, nil
}

func (tx *Tx) SignalAckInsertIf(ctx context.Context, a store.SignalAck) (bool, error) {
	n, err := tx.changed(ctx, "record acknowledgement", `INSERT INTO signal_acks (signal_id, owner, domain, acked_at) VALUES (?, ?, ?, ?) ON CONFLICT (signal_id, owner) DO NOTHING`,
		a.SignalID, a.Owner, a.Domain, ms(a.AckedAt))
	return n > 0, err
}

func (tx *Tx) CouncilApprovalInsert(ctx context.Context, a store.CouncilApproval) error {
	_, err := tx.exec(ctx, "record council approval", `INSERT INTO council_approvals (signal_id, item_id, approved_by, approver_domain, approved_at, note) VALUES (?, ?, ?, ?, ?, ?)`,
		a.SignalID, a.ItemID, a.ApprovedBy, a.ApproverDomain, ms(a.ApprovedAt), a.Note)
	return err
}

func (tx *Tx) CouncilApprovalGet(ctx context.Context, signalID int64) (store.CouncilApproval, bool, error) {
	a := store.CouncilApproval{SignalID: signalID}
	var approvedAt int64
	var consumedAt sql.NullInt64
	var consumedBy, action sql.NullString
	err := tx.queryRow(ctx, `SELECT item_id, approved_by, approver_domain, approved_at, note, consumed_at, consumed_by, consumed_action FROM council_approvals WHERE signal_id = ?`, signalID).
		Scan(&a.ItemID, &a.ApprovedBy, &a.ApproverDomain, &approvedAt, &a.Note, &consumedAt, &consumedBy, &action)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, tx.fail("read council approval", err)
	}
	a.ApprovedAt = fromMS(approvedAt)
	if consumedAt.Valid {
		a.ConsumedAt = fromMS(consumedAt.Int64)
	}
	a.ConsumedBy, a.ConsumedAction = consumedBy.String, action.String
	return a, true, nil
}

func (tx *Tx) CouncilApprovalConsumeIf(ctx context.Context, signalID int64, at time.Time, by, action string) (bool, error) {
	n, err := tx.changed(ctx, "consume council approval", `UPDATE council_approvals SET consumed_at = ?, consumed_by = ?, consumed_action = ? WHERE signal_id = ? AND consumed_at IS NULL`,
		ms(at), by, action, signalID)
	return n == 1, err
}

func (tx *Tx) CouncilOutcomeInsert(ctx context.Context, o store.CouncilOutcome) error {
	_, err := tx.exec(ctx, "record council outcome", `INSERT INTO council_outcomes (signal_id, outcome, by_owner, by_domain, reason, at) VALUES (?, ?, ?, ?, ?, ?)`,
		o.SignalID, string(o.Outcome), o.ByOwner, o.ByDomain, o.Reason, ms(o.At))
	return err
}

func (tx *Tx) CouncilOutcomeGet(ctx context.Context, signalID int64) (store.CouncilOutcome, bool, error) {
	o := store.CouncilOutcome{SignalID: signalID}
	var outcome string
	var at int64
	err := tx.queryRow(ctx, `SELECT outcome, by_owner, by_domain, reason, at FROM council_outcomes WHERE signal_id = ?`, signalID).
		Scan(&outcome, &o.ByOwner, &o.ByDomain, &o.Reason, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	if err != nil {
		return o, false, tx.fail("read council outcome", err)
	}
	o.Outcome, o.At = store.CouncilState(outcome), fromMS(at)
	return o, true, nil
}

const shadowColumns = `id, resource, worktree, paths, old_blob, new_blob, detected_at, status, COALESCE(resolved_at, 0), COALESCE(resolved_by, ''), COALESCE(reason, ''), COALESCE(signal_id, 0), found_at, since_at`

func scanShadow(sc scanner) (store.ShadowEdit, error) {
	var e store.ShadowEdit
	var status string
	var detected, resolved, since int64
	err := sc.Scan(&e.ID, &e.Resource, &e.Worktree, &e.Paths, &e.OldBlob, &e.NewBlob, &detected, &status, &resolved, &e.ResolvedBy, &e.Reason, &e.SignalID, &e.FoundAt, &since)
	e.Status = store.ShadowStatus(status)
	e.DetectedAt, e.ResolvedAt, e.SinceAt = fromMS(detected), fromMS(resolved), fromMS(since)
	return e, err
}

// shadowEdits runs a query selecting shadowColumns and reads every row.
func (tx *Tx) shadowEdits(ctx context.Context, query string, args ...any) ([]store.ShadowEdit, error) {
	return collect(ctx, tx, "read shadow edits", scanShadow, `SELECT `+shadowColumns+` FROM shadow_edits `+query, args...)
}

func (tx *Tx) ShadowEditInsert(ctx context.Context, e store.ShadowEdit) (int64, error) {
	return tx.insert(ctx, "record shadow edit", `INSERT INTO shadow_edits (resource, worktree, paths, old_blob, new_blob, detected_at, found_at, since_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Resource, e.Worktree, e.Paths, e.OldBlob, e.NewBlob, ms(e.DetectedAt), e.FoundAt, ms(e.SinceAt))
}

func (tx *Tx) ShadowEditSetSignal(ctx context.Context, id, signalID int64) (bool, error) {
	n, err := tx.changed(ctx, "record shadow edit", `UPDATE shadow_edits SET signal_id = ? WHERE id = ?`, signalID, id)
	return n == 1, err
}

func (tx *Tx) ShadowEditGet(ctx context.Context, id int64) (store.ShadowEdit, error) {
	e, err := scanShadow(tx.queryRow(ctx, `SELECT `+shadowColumns+` FROM shadow_edits WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, store.ErrNotFound
	}
	if err != nil {
		return e, tx.fail("read shadow edit", err)
	}
	return e, nil
}

func (tx *Tx) ShadowEditsAll(ctx context.Context) ([]store.ShadowEdit, error) {
	return tx.shadowEdits(ctx, `ORDER BY id`)
}

func (tx *Tx) ShadowEditsByStatus(ctx context.Context, status store.ShadowStatus) ([]store.ShadowEdit, error) {
	return tx.shadowEdits(ctx, `WHERE status = ? ORDER BY id`, string(status))
}

func (tx *Tx) ShadowEditsDetectedSince(ctx context.Context, since time.Time) ([]store.ShadowEdit, error) {
	return tx.shadowEdits(ctx, `WHERE detected_at >= ? ORDER BY id`, ms(since))
}

func (tx *Tx) ShadowEditsOnResource(ctx context.Context, resource, worktree string, exceptID int64) ([]store.ShadowEdit, error) {
	return tx.shadowEdits(ctx, `WHERE resource = ? AND worktree = ? AND id <> ? ORDER BY id DESC`, resource, worktree, exceptID)
}

func (tx *Tx) ShadowEditRestoreIf(ctx context.Context, id int64, at time.Time, by string) (bool, error) {
	n, err := tx.changed(ctx, "restore shadow edit", `UPDATE shadow_edits SET status = 'restored', resolved_at = ?, resolved_by = ? WHERE id = ? AND status = 'open'`,
		ms(at), by, id)
	return n == 1, err
}

func (tx *Tx) ShadowEditAcceptIf(ctx context.Context, id int64, at time.Time, by, reason string) (bool, error) {
	n, err := tx.changed(ctx, "accept shadow edit", `UPDATE shadow_edits SET status = 'accepted', resolved_at = ?, resolved_by = ?, reason = ? WHERE id = ? AND status = 'open'`,
		ms(at), by, reason, id)
	return n == 1, err
}

func (tx *Tx) PendingExportUpsert(ctx context.Context, p store.PendingExport) error {
	_, err := tx.exec(ctx, "record pending export", `INSERT INTO pending_exports (path, source, pid, host) VALUES (?, ?, ?, ?)
		ON CONFLICT (path) DO UPDATE SET source = excluded.source, pid = excluded.pid, host = excluded.host`,
		p.Path, p.Source, p.PID, p.Host)
	return err
}

func (tx *Tx) PendingExportsList(ctx context.Context) ([]store.PendingExport, error) {
	return collect(ctx, tx, "read pending exports", func(r scanner) (p store.PendingExport, err error) {
		err = r.Scan(&p.Path, &p.Source, &p.PID, &p.Host)
		return p, err
	}, `SELECT path, source, pid, host FROM pending_exports`)
}

func (tx *Tx) PendingExportDelete(ctx context.Context, path string) error {
	_, err := tx.exec(ctx, "drop pending export", `DELETE FROM pending_exports WHERE path = ?`, path)
	return err
}

func (tx *Tx) PendingExportSetWriter(ctx context.Context, path string, pid int, host string) error {
	_, err := tx.exec(ctx, "take over pending export", `UPDATE pending_exports SET pid = ?, host = ? WHERE path = ?`, pid, host, path)
	return err
}

func (tx *Tx) ExportReportFiles(ctx context.Context) ([]store.ReportFiles, error) {
	return collect(ctx, tx, "read reports", func(row scanner) (r store.ReportFiles, err error) {
		err = row.Scan(&r.MDPath, &r.MDBlob, &r.JSONBlob)
		return r, err
	}, `SELECT path, md_blob, json_blob FROM reports WHERE md_blob <> '' ORDER BY id`)
}
