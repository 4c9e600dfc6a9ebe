package postgres

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// Import lives with the server store, not in the rules, because it is
// about tables rather than rules: it copies whatever tables the schema
// has, in the order their foreign keys need, ids and all, and so needs
// the server's catalog (tables, foreign keys, identity sequences) and the
// write lock this driver takes. The rules only vouch for the result (the
// verify callback).

// seededTables are the tables the migrations fill with rows of their own
// (the lease token counter starts at 0): an empty store has them, and a
// copy overwrites their values instead of inserting.
var seededTables = map[string]string{"counters": "name"}

// item_counts is not copied: the target's triggers count the items as they
// are copied in (the source may also hold pairs counted down to zero).

// Import copies a whole store into this one in one write transaction,
// holding the repository's write lock: every table's rows with their ids,
// parents before children, then every blob; it then moves each identity
// sequence past the highest copied id, so that rows added later never
// reuse one. It commits only once the copy has the source's row counts and
// chain head and verify, handed a store over the uncommitted copy, has
// passed it: any failure leaves the target as it was.
//
// A target that already holds rows is never written: if it holds exactly
// this store, Import reports Unchanged; otherwise it refuses (a conflict).
func (s *Store) Import(ctx context.Context, src store.ImportSource, verify func(context.Context, store.Store) error) (*store.ImportResult, error) {
	var res *store.ImportResult
	err := src.Store.Read(ctx, time.Now, func(from store.Tx) error {
		return s.Write(ctx, time.Now, func(tx store.Tx) error {
			var err error
			res, err = s.importIn(ctx, tx, sqlstore.SQLOf(from), src, verify)
			return err
		})
	})
	if err != nil {
		if s.created {
			s.dropUnused(ctx)
		}
		return nil, err
	}
	return res, nil
}

// dropUnused drops the schema Create made for a copy that then failed,
// while it is still empty, so that the server is left as it was found: an
// empty schema would otherwise open as an empty store, hiding that the
// store was never copied. A failure here changes nothing, and the copy's
// own error is the one to report.
func (s *Store) dropUnused(ctx context.Context) {
	s.Write(ctx, time.Now, func(tx store.Tx) error {
		q := sqlstore.SQLOf(tx)
		tables, err := s.tablesInOrder(ctx, q)
		if err != nil {
			return err
		}
		for _, t := range append(tables, "blobs") {
			n, err := countRows(ctx, q, t)
			if _, seeded := seededTables[t]; err != nil || (n > 0 && !seeded) {
				return store.Errorf(store.CodeConflict, "schema %s is in use", s.schema)
			}
		}
		_, err = q.ExecContext(ctx, `DROP SCHEMA `+quote(s.schema)+` CASCADE`)
		return err
	})
}

func (s *Store) importIn(ctx context.Context, tx store.Tx, rows store.SQL, src store.ImportSource, verify func(context.Context, store.Store) error) (*store.ImportResult, error) {
	dst := sqlstore.SQLOf(tx)
	tables, err := s.tablesInOrder(ctx, dst)
	if err != nil {
		return nil, err
	}
	res := &store.ImportResult{Tables: map[string]int64{}}
	have := map[string]int64{}
	holds := false
	for _, t := range tables {
		if res.Tables[t], err = countRows(ctx, rows, t); err != nil {
			return nil, store.Errorf(store.CodeInternal, "read the source store's %s: %v", t, err)
		}
		if have[t], err = countRows(ctx, dst, t); err != nil {
			return nil, s.drv.Classify("count "+t, err)
		}
		if _, seeded := seededTables[t]; have[t] > 0 && !seeded {
			holds = true
		}
	}
	if res.Head, err = chainHead(ctx, rows); err != nil {
		return nil, store.Errorf(store.CodeInternal, "read the source store's audit head: %v", err)
	}
	target, err := chainHead(ctx, dst)
	if err != nil {
		return nil, s.drv.Classify("read the audit head", err)
	}
	if holds {
		if target == res.Head && sameCounts(have, res.Tables) {
			res.Unchanged = true
			return res, nil
		}
		return nil, store.Errorf(store.CodeConflict, "the store on %s (schema %s) already holds another history (audit head seq %d, this store's is %d); nothing was copied: run orchestrate store migrate --to URL of a database without schema %s (or DROP SCHEMA %s CASCADE there if that store is unwanted)", s.host, s.schema, target.Seq, res.Head.Seq, s.schema, s.schema)
	}
	for _, t := range tables {
		if err := s.copyTable(ctx, rows, dst, t); err != nil {
			return nil, err
		}
	}
	if err := s.advanceIdentities(ctx, dst); err != nil {
		return nil, err
	}
	// Each item's count of unmet dependencies came over with it, and the
	// target's triggers counted its dependencies again as they were
	// copied in: count once more, from the copied rows.
	if _, err := dst.ExecContext(ctx, `UPDATE items SET unmet = (SELECT count(*) FROM item_deps d JOIN items dep ON dep.id = d.depends_on
		WHERE d.item_id = items.id AND dep.status <> 'done')`); err != nil {
		return nil, s.drv.Classify("count unmet dependencies", err)
	}
	if res.Blobs, err = s.copyBlobs(dst, src); err != nil {
		return nil, err
	}
	// The planner's statistics of the copied tables: without them it
	// guesses a handful of rows per table, and picks plans that read a
	// whole table where an index reads a few rows (health's in-progress
	// items joined to their transitions: a scan of every transition) until
	// autovacuum gets round to analyzing them, which a server with
	// autovacuum off never does. ANALYZE samples the rows this transaction
	// inserted, and its statistics commit with them.
	for _, t := range append(tables, "blobs", "item_counts") {
		if _, err := dst.ExecContext(ctx, `ANALYZE `+quote(t)); err != nil {
			return nil, s.drv.Classify("analyze "+t, err)
		}
	}
	for _, t := range tables {
		n, err := countRows(ctx, dst, t)
		if err != nil {
			return nil, s.drv.Classify("count "+t, err)
		}
		if n != res.Tables[t] {
			return nil, store.Errorf(store.CodeInternal, "the copy of %s has %d rows, the source %d; nothing was committed to %s", t, n, res.Tables[t], s.host)
		}
	}
	if got, err := chainHead(ctx, dst); err != nil {
		return nil, s.drv.Classify("read the audit head", err)
	} else if got != res.Head {
		return nil, store.Errorf(store.CodeInternal, "the copy's audit head is seq %d, the source's %d; nothing was committed to %s", got.Seq, res.Head.Seq, s.host)
	}
	if err := verify(ctx, &uncommitted{s: s, tx: tx}); err != nil {
		return nil, err
	}
	return res, nil
}

// tablesInOrder lists the schema's tables (but goose's bookkeeping and
// the blobs, which come from the blob store) so that every table comes
// after the tables its foreign keys refer to; ties sorted by name.
func (s *Store) tablesInOrder(ctx context.Context, q store.SQL) ([]string, error) {
	names, err := tableNames(ctx, q, `SELECT c.relname FROM pg_class c
		WHERE c.relkind = 'r' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
		AND c.relname NOT IN ('goose_db_version', 'blobs', 'item_counts') ORDER BY c.relname`)
	if err != nil {
		return nil, s.drv.Classify("list tables", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT c.relname, p.relname FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
		WHERE k.contype = 'f' AND k.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`)
	if err != nil {
		return nil, s.drv.Classify("list foreign keys", err)
	}
	defer rows.Close()
	parents := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return nil, s.drv.Classify("list foreign keys", err)
		}
		if child != parent {
			parents[child] = append(parents[child], parent)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.drv.Classify("list foreign keys", err)
	}
	var order []string
	placed := map[string]bool{}
	for len(order) < len(names) {
		progress := false
		for _, t := range names {
			if placed[t] {
				continue
			}
			ready := true
			for _, p := range parents[t] {
				ready = ready && placed[p]
			}
			if ready {
				order, placed[t], progress = append(order, t), true, true
			}
		}
		if !progress {
			return nil, store.Errorf(store.CodeInternal, "the tables' foreign keys form a cycle; cannot order the copy")
		}
	}
	return order, nil
}

// batchParams bounds one INSERT's parameters (the protocol allows 65535).
const batchParams = 30000

// copyTable inserts every source row of table t, many rows per statement.
func (s *Store) copyTable(ctx context.Context, src, dst store.SQL, t string) error {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+quote(t))
	if err != nil {
		return store.Errorf(store.CodeInternal, "read the source store's %s: %v", t, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return store.Errorf(store.CodeInternal, "read the source store's %s: %v", t, err)
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quote(c)
	}
	head := `INSERT INTO ` + quote(t) + ` (` + strings.Join(quoted, ", ") + `) VALUES `
	tail := ""
	if key, seeded := seededTables[t]; seeded {
		var set []string
		for _, c := range quoted {
			set = append(set, c+" = EXCLUDED."+c)
		}
		// Only a larger value: the counters' trigger refuses any update
		// that does not raise them, even to the same value.
		tail = ` ON CONFLICT (` + quote(key) + `) DO UPDATE SET ` + strings.Join(set, ", ") + ` WHERE ` + quote(t) + `.value < EXCLUDED.value`
	}
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	perBatch := max(1, batchParams/len(cols))
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		n := len(args) / len(cols)
		stmt := head + strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", ") + tail
		if _, err := dst.ExecContext(ctx, stmt, args...); err != nil {
			return s.drv.Classify("copy "+t, err)
		}
		args = args[:0]
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return store.Errorf(store.CodeInternal, "read the source store's %s: %v", t, err)
		}
		args = append(args, vals...)
		if len(args)/len(cols) >= perBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return store.Errorf(store.CodeInternal, "read the source store's %s: %v", t, err)
	}
	return flush()
}

// advanceIdentities sets every identity sequence of the schema to the
// highest id its column holds: the copied rows kept their ids, and the
// next row inserted without one must not take any of them.
func (s *Store) advanceIdentities(ctx context.Context, q store.SQL) error {
	rows, err := q.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name`)
	if err != nil {
		return s.drv.Classify("list identity columns", err)
	}
	type column struct{ table, name string }
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name); err != nil {
			rows.Close()
			return s.drv.Classify("list identity columns", err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.drv.Classify("list identity columns", err)
	}
	for _, c := range cols {
		_, err := q.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence(?, ?), max(`+quote(c.name)+`)) FROM `+quote(c.table)+` HAVING max(`+quote(c.name)+`) IS NOT NULL`,
			quote(c.table), c.name)
		if err != nil {
			return s.drv.Classify("advance the ids of "+c.table, err)
		}
	}
	return nil
}

// copyBlobs writes every source blob into the blobs table, read through
// the source's Get, which refuses one whose bytes no longer match its name.
func (s *Store) copyBlobs(q store.SQL, src store.ImportSource) (int, error) {
	hashes, err := src.Blobs.Hashes()
	if err != nil {
		return 0, store.Errorf(store.CodeInternal, "list the source blobs: %v", err)
	}
	dst := &blobs{q: q, drv: s.drv}
	for _, h := range hashes {
		data, err := src.Blobs.Get(h)
		if err != nil {
			return 0, store.Errorf(store.CodeInternal, "read the source blob %s: %v", h, err)
		}
		if _, err := dst.Put(data); err != nil {
			return 0, err
		}
	}
	return len(hashes), nil
}

func countRows(ctx context.Context, q store.SQL, t string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+quote(t)).Scan(&n)
	return n, err
}

func chainHead(ctx context.Context, q store.SQL) (store.ChainHead, error) {
	var h store.ChainHead
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ChainHead{}, nil
	}
	return h, err
}

func sameCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func tableNames(ctx context.Context, q store.SQL, query string) ([]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Strings(out)
	return out, rows.Err()
}

// quote is an identifier both databases read the same way.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// uncommitted is a store.Store over a copy's open transaction, for
// verifying the copy before it commits: reads see the copied rows and
// blobs; writes are refused, since the check must not change what it
// checks.
type uncommitted struct {
	s  *Store
	tx store.Tx
}

func (u *uncommitted) Read(_ context.Context, _ store.Clock, fn func(store.Tx) error) error {
	return fn(u.tx)
}

// OneTx: every Read is the copy's transaction, so the chain check must
// not read on several at once.
func (u *uncommitted) OneTx() {}

func (u *uncommitted) Write(context.Context, store.Clock, func(store.Tx) error) error {
	return store.Errorf(store.CodeInternal, "a copy being verified cannot be written")
}

func (u *uncommitted) Info() store.Info { return u.s.Info() }

func (u *uncommitted) Close() error { return nil }

// Blobs reads the blobs table inside the copy's transaction.
func (u *uncommitted) Blobs() capsules.Blobs { return &blobs{q: sqlstore.SQLOf(u.tx), drv: u.s.drv} }
