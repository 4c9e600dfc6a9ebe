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

const itemColumns = `id, title, kind, domain, priority, status, owner, objective, in_scope, out_of_scope, invariants, files, commands, created_at, updated_at`

func scanItem(sc scanner) (store.Item, error) {
	var it store.Item
	var created, updated int64
	err := sc.Scan(&it.ID, &it.Title, &it.Kind, &it.Domain, &it.Priority, &it.Status, &it.Owner, &it.Objective,
		&it.InScope, &it.OutOfScope, &it.Invariants, &it.Files, &it.Commands, &created, &updated)
	it.CreatedAt, it.UpdatedAt = fromMS(created), fromMS(updated)
	return it, err
}

// items runs a query selecting itemColumns.
func (tx *Tx) items(ctx context.Context, op, query string, args ...any) ([]store.Item, error) {
	return collect(ctx, tx, op, scanItem, query, args...)
}

// texts runs a query selecting one text column.
func (tx *Tx) texts(ctx context.Context, op, query string, args ...any) ([]string, error) {
	return collect(ctx, tx, op, func(r scanner) (v string, err error) { return v, r.Scan(&v) }, query, args...)
}

func (tx *Tx) ItemGet(ctx context.Context, id string) (store.Item, error) {
	it, err := scanItem(tx.queryRow(ctx, `SELECT `+itemColumns+` FROM items WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Item{}, store.ErrNotFound
	}
	if err != nil {
		return store.Item{}, tx.fail("read item", err)
	}
	return it, nil
}

func (tx *Tx) ItemExists(ctx context.Context, id string) (bool, error) {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM items WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, tx.fail("read item", err)
	}
	return true, nil
}

// itemsPage is how many items ItemsEach reads at a time: few round trips
// per listing, and a page that costs nothing to hold.
const itemsPage = 256

func (tx *Tx) ItemsEach(ctx context.Context, f store.ItemFilter, after store.ItemKey, fn func(store.ItemWithDeps) (bool, error)) error {
	// Only the conditions asked for are in the statement, so that the
	// planner finds the index whose prefix they and the order make
	// (migration 00024).
	var conds []string
	var args []any
	for _, c := range []struct{ column, value string }{{"status", string(f.Status)}, {"domain", f.Domain}, {"owner", f.Owner}, {"priority", f.Priority}} {
		if c.value != "" {
			conds = append(conds, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	if f.DepsDone {
		// unmet is kept by triggers (migration 00027): ready work is one
		// range of items_ready, however much blocked work sorts ahead.
		conds = append(conds, `unmet = 0`)
	}
	for {
		where, pageArgs := conds, args
		if after.ID != "" {
			// A row value comparison is one range of the index, where
			// created_at > ? OR (created_at = ? AND id > ?) would make
			// each page skip again the rows of its creation instant (an
			// import creates all its items in one). SQLite keeps the range
			// only if the id is not cast.
			where = append(where[:len(where):len(where)], "(created_at, id) > (CAST(? AS BIGINT), ?)")
			pageArgs = append(pageArgs[:len(pageArgs):len(pageArgs)], ms(after.CreatedAt), after.ID)
		}
		query := `SELECT ` + itemColumns + ` FROM items`
		if len(where) > 0 {
			query += ` WHERE ` + strings.Join(where, " AND ")
		}
		items, err := tx.items(ctx, "read items", query+` ORDER BY created_at, id LIMIT ?`, append(pageArgs, itemsPage)...)
		if err != nil || len(items) == 0 {
			return err
		}
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it.ID
		}
		deps, err := tx.ItemDepsWithStatus(ctx, ids)
		if err != nil {
			return err
		}
		byItem := map[string][]store.ItemDep{}
		for _, d := range deps {
			byItem[d.Item] = append(byItem[d.Item], d)
		}
		for _, it := range items {
			if more, err := fn(store.ItemWithDeps{Item: it, Deps: byItem[it.ID]}); err != nil || !more {
				return err
			}
		}
		if len(items) < itemsPage {
			return nil
		}
		after = items[len(items)-1].Key()
	}
}

func (tx *Tx) ItemIDsFrom(ctx context.Context, from string, limit int) ([]string, error) {
	return tx.texts(ctx, "read items", `SELECT id FROM items WHERE id >= ? ORDER BY id LIMIT ?`, from, limit)
}

// itemCounter names a prefix's counter row; counters only go up (a
// trigger refuses anything else).
func itemCounter(prefix string) string { return "item_number:" + prefix }

func (tx *Tx) ItemNumberLast(ctx context.Context, prefix string) (int64, error) {
	var last int64
	err := tx.queryRow(ctx, `SELECT value FROM counters WHERE name = ?`, itemCounter(prefix)).Scan(&last)
	if err == nil {
		return last, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, tx.fail("read item counter", err)
	}
	ids, err := tx.texts(ctx, "read item ids", `SELECT id FROM items WHERE substr(id, 1, ?) = ?`, len(prefix)+1, prefix+"-")
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if n, err := strconv.ParseInt(id[len(prefix)+1:], 10, 64); err == nil && n > last {
			last = n
		}
	}
	if _, err := tx.exec(ctx, "create item counter", `INSERT INTO counters (name, value) VALUES (?, ?)`, itemCounter(prefix), last); err != nil {
		return 0, err
	}
	return last, nil
}

func (tx *Tx) ItemNumberRaise(ctx context.Context, prefix string, n int64) error {
	_, err := tx.exec(ctx, "raise item counter", `UPDATE counters SET value = ? WHERE name = ? AND value < ?`, n, itemCounter(prefix), n)
	return err
}

func (tx *Tx) ItemInsert(ctx context.Context, id string, f store.ItemFields, at time.Time) error {
	_, err := tx.exec(ctx, "create item", `INSERT INTO items (id, title, kind, domain, priority, status, owner, objective, in_scope, out_of_scope, invariants, files, commands, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'open', '', ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, f.Title, f.Kind, f.Domain, f.Priority, f.Objective, f.InScope, f.OutOfScope, f.Invariants, f.Files, f.Commands, ms(at), ms(at))
	return err
}

func (tx *Tx) ItemUpdateFields(ctx context.Context, id string, f store.ItemFields, at time.Time) error {
	_, err := tx.exec(ctx, "update item", `UPDATE items SET title = ?, kind = ?, domain = ?, priority = ?, objective = ?, in_scope = ?, out_of_scope = ?, invariants = ?, files = ?, commands = ?, updated_at = ? WHERE id = ?`,
		f.Title, f.Kind, f.Domain, f.Priority, f.Objective, f.InScope, f.OutOfScope, f.Invariants, f.Files, f.Commands, ms(at), id)
	return err
}

func (tx *Tx) ItemSetStatusIf(ctx context.Context, id string, from, to store.ItemStatus, owner string, at time.Time) (bool, error) {
	n, err := tx.changed(ctx, "move item", `UPDATE items SET status = ?, owner = ?, updated_at = ? WHERE id = ? AND status = ?`,
		string(to), owner, ms(at), id, string(from))
	return n == 1, err
}

func (tx *Tx) ItemsInProgressForDomain(ctx context.Context, domain string) ([]string, error) {
	return tx.texts(ctx, "read items", `SELECT id FROM items WHERE domain = ? AND status = 'in_progress' ORDER BY updated_at, id`, domain)
}

func (tx *Tx) ItemCountsByStatus(ctx context.Context) (map[store.ItemStatus]int, error) {
	counts, err := tx.itemCounts(ctx, `SELECT '', status, CAST(SUM(n) AS BIGINT) FROM item_counts WHERE n > 0 GROUP BY status`)
	if err != nil {
		return nil, err
	}
	out := map[store.ItemStatus]int{}
	for _, c := range counts {
		out[c.Status] = c.Count
	}
	return out, nil
}

func (tx *Tx) ItemCountsByDomainStatus(ctx context.Context) ([]store.ItemCount, error) {
	return tx.itemCounts(ctx, `SELECT domain, status, n FROM item_counts WHERE n > 0`)
}

func (tx *Tx) itemCounts(ctx context.Context, query string) ([]store.ItemCount, error) {
	return collect(ctx, tx, "count items", func(r scanner) (c store.ItemCount, err error) {
		return c, r.Scan(&c.Domain, &c.Status, &c.Count)
	}, query)
}

func (tx *Tx) ItemsBoardCell(ctx context.Context, domain string, status store.ItemStatus, limit int) ([]store.Item, error) {
	return tx.items(ctx, "read items", `SELECT `+itemColumns+` FROM items WHERE domain = ? AND status = ? ORDER BY updated_at DESC, id DESC LIMIT ?`,
		domain, string(status), limit)
}

func (tx *Tx) ItemDeps(ctx context.Context, id string) ([]string, error) {
	return tx.texts(ctx, "read dependencies", `SELECT depends_on FROM item_deps WHERE item_id = ? ORDER BY pos`, id)
}

func (tx *Tx) ItemDepsAll(ctx context.Context) ([]store.ItemDep, error) {
	return tx.itemDeps(ctx, `SELECT item_id, depends_on, '' FROM item_deps ORDER BY item_id, pos`)
}

func (tx *Tx) ItemDepsWithStatus(ctx context.Context, ids []string) ([]store.ItemDep, error) {
	if len(ids) == 0 {
		return []store.ItemDep{}, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	// The status is a lookup per dependency, not a join: a join lets
	// PostgreSQL, with statistics older than a large import, hash every
	// item to find a page's few dependencies.
	return tx.itemDeps(ctx, `SELECT d.item_id, d.depends_on, (SELECT i.status FROM items i WHERE i.id = d.depends_on) FROM item_deps d
		WHERE d.item_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY d.item_id, d.pos`, args...)
}

func (tx *Tx) itemDeps(ctx context.Context, query string, args ...any) ([]store.ItemDep, error) {
	return collect(ctx, tx, "read dependencies", func(r scanner) (d store.ItemDep, err error) {
		return d, r.Scan(&d.Item, &d.DependsOn, &d.Status)
	}, query, args...)
}

func (tx *Tx) ItemDepsReplace(ctx context.Context, id string, deps []string) error {
	if _, err := tx.exec(ctx, "write dependencies", `DELETE FROM item_deps WHERE item_id = ?`, id); err != nil {
		return err
	}
	return tx.ItemDepsAdd(ctx, id, deps)
}

// depsPerInsert bounds the rows of one INSERT, well inside both databases'
// limits on a statement's parameters.
const depsPerInsert = 500

func (tx *Tx) ItemDepsAdd(ctx context.Context, id string, deps []string) error {
	// One statement per item rather than per dependency: an import of
	// 100k items makes that many fewer round trips.
	for start := 0; start < len(deps); start += depsPerInsert {
		chunk := deps[start:min(start+depsPerInsert, len(deps))]
		args := make([]any, 0, 3*len(chunk))
		for i, d := range chunk {
			args = append(args, id, d, start+i)
		}
		if _, err := tx.exec(ctx, "write dependencies", `INSERT INTO item_deps (item_id, depends_on, pos) VALUES (?, ?, ?)`+strings.Repeat(", (?, ?, ?)", len(chunk)-1), args...); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) ItemDependentDomains(ctx context.Context, id string) ([]string, error) {
	return tx.texts(ctx, "read dependencies", `SELECT DISTINCT i.domain FROM item_deps d JOIN items i ON i.id = d.item_id WHERE d.depends_on = ? ORDER BY i.domain`, id)
}

func (tx *Tx) ItemTransitionInsert(ctx context.Context, t store.ItemTransition) error {
	var council, verification any
	if t.Council != 0 {
		council = t.Council
	}
	if t.Verification != "" {
		verification = t.Verification
	}
	_, err := tx.exec(ctx, "record item history", `INSERT INTO item_transitions (item_id, from_status, to_status, actor, reason, council_id, at, verification) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Item, string(t.From), string(t.To), t.Actor, t.Reason, council, ms(t.At), verification)
	return err
}

const transitionColumns = `item_id, from_status, to_status, actor, reason, COALESCE(council_id, 0), at, COALESCE(verification, '')`

func scanTransition(sc scanner) (store.ItemTransition, error) {
	var t store.ItemTransition
	var at int64
	err := sc.Scan(&t.Item, &t.From, &t.To, &t.Actor, &t.Reason, &t.Council, &at, &t.Verification)
	t.At = fromMS(at)
	return t, err
}

func (tx *Tx) ItemTransitions(ctx context.Context, id string) ([]store.ItemTransition, error) {
	return collect(ctx, tx, "read history", scanTransition, `SELECT `+transitionColumns+` FROM item_transitions WHERE item_id = ? ORDER BY id`, id)
}

func (tx *Tx) ItemTransitionLatest(ctx context.Context, id string) (store.ItemTransition, bool, error) {
	t, err := scanTransition(tx.queryRow(ctx, `SELECT `+transitionColumns+` FROM item_transitions WHERE item_id = ? ORDER BY id DESC LIMIT 1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ItemTransition{}, false, nil
	}
	if err != nil {
		return store.ItemTransition{}, false, tx.fail("read history", err)
	}
	return t, true, nil
}

func (tx *Tx) CapsuleInsert(ctx context.Context, c store.Capsule) (int64, error) {
	return tx.insert(ctx, "record capsule", `INSERT INTO capsules (item_id, generation, blob, content_key, path, template, template_sha256, generated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Item, c.Generation, c.Blob, c.ContentKey, c.Path, c.Template, c.TemplateSHA256, ms(c.GeneratedAt))
}

func (tx *Tx) CapsuleFileInsert(ctx context.Context, capsuleID int64, pos int, f store.CapsuleFile) error {
	_, err := tx.exec(ctx, "record capsule files", `INSERT INTO capsule_files (capsule_id, pos, path, status, size, sha256, note) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		capsuleID, pos, f.Path, f.Status, f.Size, f.SHA256, f.Note)
	return err
}

const capsuleColumns = `id, item_id, generation, blob, content_key, path, template, generated_at`

func (tx *Tx) capsules(ctx context.Context, query string, args ...any) ([]store.Capsule, error) {
	return collect(ctx, tx, "read capsules", func(r scanner) (c store.Capsule, err error) {
		var at int64
		err = r.Scan(&c.ID, &c.Item, &c.Generation, &c.Blob, &c.ContentKey, &c.Path, &c.Template, &at)
		c.GeneratedAt = fromMS(at)
		return c, err
	}, query, args...)
}

// oneCapsule runs a query that selects at most one capsule.
func (tx *Tx) oneCapsule(ctx context.Context, query string, args ...any) (store.Capsule, bool, error) {
	cs, err := tx.capsules(ctx, query, args...)
	if err != nil || len(cs) == 0 {
		return store.Capsule{}, false, err
	}
	return cs[0], true, nil
}

func (tx *Tx) CapsuleGet(ctx context.Context, id int64) (store.Capsule, bool, error) {
	return tx.oneCapsule(ctx, `SELECT `+capsuleColumns+` FROM capsules WHERE id = ?`, id)
}

func (tx *Tx) CapsuleLatest(ctx context.Context, item string) (store.Capsule, bool, error) {
	return tx.oneCapsule(ctx, `SELECT `+capsuleColumns+` FROM capsules WHERE item_id = ? ORDER BY generation DESC LIMIT 1`, item)
}

func (tx *Tx) CapsuleGeneration(ctx context.Context, item string, generation int) (store.Capsule, bool, error) {
	return tx.oneCapsule(ctx, `SELECT `+capsuleColumns+` FROM capsules WHERE item_id = ? AND generation = ?`, item, generation)
}

func (tx *Tx) CapsulesOfItem(ctx context.Context, item string) ([]store.Capsule, error) {
	return tx.capsules(ctx, `SELECT `+capsuleColumns+` FROM capsules WHERE item_id = ? ORDER BY generation`, item)
}

func (tx *Tx) CapsulesInUse(ctx context.Context) ([]store.Capsule, error) {
	return tx.capsules(ctx, `SELECT `+capsuleColumns+` FROM capsules
		WHERE generation = (SELECT MAX(generation) FROM capsules c2 WHERE c2.item_id = capsules.item_id)
		AND item_id IN (SELECT id FROM items WHERE status = 'in_progress') ORDER BY item_id`)
}

func (tx *Tx) CapsuleFiles(ctx context.Context, capsuleID int64) ([]store.CapsuleFile, error) {
	return collect(ctx, tx, "read capsule files", func(r scanner) (f store.CapsuleFile, err error) {
		return f, r.Scan(&f.Path, &f.Status, &f.Size, &f.SHA256, &f.Note)
	}, `SELECT path, status, size, sha256, note FROM capsule_files WHERE capsule_id = ? ORDER BY pos`, capsuleID)
}

func (tx *Tx) CapsuleWatchInsert(ctx context.Context, resource, item string, capsuleID int64) error {
	_, err := tx.exec(ctx, "watch capsule", `INSERT INTO capsule_watches (resource, item_id, capsule_id) VALUES (?, ?, ?)`, resource, item, capsuleID)
	return err
}

func (tx *Tx) CapsuleWatchesDeleteForItem(ctx context.Context, item string) error {
	_, err := tx.exec(ctx, "unwatch capsule", `DELETE FROM capsule_watches WHERE item_id = ?`, item)
	return err
}

func (tx *Tx) CapsuleWatchesStale(ctx context.Context, resource, leaseItem, leaseOwner string) ([]store.CapsuleWatch, error) {
	return collect(ctx, tx, "read capsule watches", func(r scanner) (w store.CapsuleWatch, err error) {
		return w, r.Scan(&w.Item, &w.Capsule)
	}, `SELECT w.item_id, w.capsule_id FROM capsule_watches w JOIN items i ON i.id = w.item_id
		WHERE w.resource = ? AND i.status = 'in_progress' AND NOT (w.item_id = ? AND i.owner = ?) ORDER BY w.item_id`, resource, leaseItem, leaseOwner)
}

func (tx *Tx) FingerprintClaimManifest(ctx context.Context, leaseID int64, worktree string) (string, error) {
	return tx.manifest(ctx, `SELECT manifest FROM fingerprints WHERE lease_id = ? AND worktree = ? AND reason = 'claim' ORDER BY id DESC LIMIT 1`, leaseID, worktree)
}

func (tx *Tx) FingerprintEndManifest(ctx context.Context, leaseID int64, worktree string) (string, error) {
	return tx.manifest(ctx, `SELECT manifest FROM fingerprints WHERE lease_id = ? AND worktree = ? AND reason IN ('release', 'expire', 'revoke') ORDER BY id DESC LIMIT 1`, leaseID, worktree)
}

func (tx *Tx) manifest(ctx context.Context, query string, args ...any) (string, error) {
	var m string
	err := tx.queryRow(ctx, query, args...).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", tx.fail("read fingerprints", err)
	}
	return m, nil
}

func (tx *Tx) VerificationLatest(ctx context.Context, kind store.VerificationKind) (store.Verification, bool, error) {
	v := store.Verification{Kind: kind}
	var ok int
	var at int64
	err := tx.queryRow(ctx, `SELECT ok, detail, findings, COALESCE(head_seq, 0), COALESCE(head_hash, ''), source, at FROM verifications WHERE kind = ? ORDER BY id DESC LIMIT 1`, string(kind)).
		Scan(&ok, &v.Detail, &v.Findings, &v.HeadSeq, &v.HeadHash, &v.Source, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Verification{}, false, nil
	}
	if err != nil {
		return store.Verification{}, false, tx.fail("read verifications", err)
	}
	v.OK, v.At = ok == 1, fromMS(at)
	return v, true, nil
}

// capsuleSignals are the signals a capsule of an item lists: those naming
// it, and those addressed to its domain that name no item. Both halves are
// index lookups (signals_item, signals_to).
const capsuleSignals = `FROM signals WHERE item_id = ?1 UNION ALL SELECT %s FROM signals WHERE to_target = ?2 AND item_id IS NULL`

func (tx *Tx) CapsuleSignalsCount(ctx context.Context, item, domain string) (int, error) {
	var n int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM (SELECT id `+fmt.Sprintf(capsuleSignals, "id")+`) AS s`, item, domain).Scan(&n); err != nil {
		return 0, tx.fail("read signals", err)
	}
	return n, nil
}

func (tx *Tx) CapsuleSignals(ctx context.Context, item, domain string, limit int) ([]store.CapsuleSignal, error) {
	const columns = `id, kind, question, from_owner, from_domain, to_target, body, created_at`
	return collect(ctx, tx, "read signals", func(r scanner) (s store.CapsuleSignal, err error) {
		var question int
		var at int64
		err = r.Scan(&s.ID, &s.Kind, &question, &s.From, &s.FromDomain, &s.To, &s.Body, &at)
		s.Question, s.CreatedAt = question == 1, fromMS(at)
		return s, err
	}, `SELECT `+columns+` `+fmt.Sprintf(capsuleSignals, columns)+` ORDER BY id DESC LIMIT ?3`, item, domain, limit)
}

func (tx *Tx) SignalIDsWithPrefix(ctx context.Context, prefix string, limit int) ([]int64, error) {
	const op = "read signals"
	rows, err := tx.query(ctx, op, `SELECT id FROM signals ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []int64{}
	for len(out) < limit && rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, tx.fail(op, err)
		}
		if strings.HasPrefix(strconv.FormatInt(id, 10), prefix) {
			out = append(out, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, tx.fail(op, err)
	}
	return out, nil
}

func (tx *Tx) DashboardAuditHead(ctx context.Context) (int64, string, bool, error) {
	var seq int64
	var hash string
	err := tx.queryRow(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, tx.fail("read audit log", err)
	}
	return seq, hash, true, nil
}

func (tx *Tx) ReportLatest(ctx context.Context) (store.Report, bool, error) {
	var r store.Report
	var at int64
	err := tx.queryRow(ctx, `SELECT path, generated_at, head_seq, head_hash, findings, md_blob, json_blob FROM reports ORDER BY id DESC LIMIT 1`).
		Scan(&r.Path, &at, &r.HeadSeq, &r.HeadHash, &r.Findings, &r.MDBlob, &r.JSONBlob)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Report{}, false, nil
	}
	if err != nil {
		return store.Report{}, false, tx.fail("read reports", err)
	}
	r.GeneratedAt = fromMS(at)
	return r, true, nil
}

func (tx *Tx) ChangeMarkRead(ctx context.Context) (store.ChangeMark, error) {
	var m store.ChangeMark
	err := tx.queryRow(ctx, `SELECT (SELECT COALESCE(MAX(seq), 0) FROM audit_log), (SELECT COALESCE(MAX(id), 0) FROM lease_waiters), (SELECT count(*) FROM lease_waiters)`).
		Scan(&m.AuditSeq, &m.WaiterMaxID, &m.Waiters)
	if err != nil {
		return store.ChangeMark{}, tx.fail("read change mark", err)
	}
	return m, nil
}
