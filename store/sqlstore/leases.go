package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

const leaseColumns = `id, resource, owner, domain, token, COALESCE(item_id, ''), reason, created_at, expires_at, COALESCE(ended_at, 0), COALESCE(end_reason, ''), COALESCE(ended_by, ''), state, COALESCE(hold_since, created_at)`

func scanLease(sc scanner) (store.Lease, error) {
	var l store.Lease
	var created, expires, ended, holdSince int64
	if err := sc.Scan(&l.ID, &l.Resource, &l.Owner, &l.Domain, &l.Token, &l.Item, &l.Reason, &created, &expires, &ended, &l.EndReason, &l.EndedBy, &l.State, &holdSince); err != nil {
		return store.Lease{}, err
	}
	l.CreatedAt, l.ExpiresAt, l.EndedAt, l.HoldSince = fromMS(created), fromMS(expires), fromMS(ended), fromMS(holdSince)
	return l, nil
}

// leases reads the leases a query written after "SELECT <columns> FROM
// leases" selects; every operation that lists leases passes its own
// constant tail, so no condition is ever built from input.
func (tx *Tx) leases(ctx context.Context, op, tail string, args ...any) ([]store.Lease, error) {
	return collect(ctx, tx, op, scanLease, `SELECT `+leaseColumns+` FROM leases `+tail, args...)
}

func (tx *Tx) lease(ctx context.Context, op, tail string, args ...any) (store.Lease, bool, error) {
	l, err := scanLease(tx.queryRow(ctx, `SELECT `+leaseColumns+` FROM leases `+tail, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Lease{}, false, nil
	}
	if err != nil {
		return store.Lease{}, false, tx.fail(op, err)
	}
	return l, true, nil
}

func (tx *Tx) LeaseActiveForResource(ctx context.Context, resource string) (store.Lease, bool, error) {
	return tx.lease(ctx, "read lease", `WHERE resource = ? AND state = 'active'`, resource)
}

func (tx *Tx) LeaseForResourceToken(ctx context.Context, resource string, token int64) (store.Lease, bool, error) {
	return tx.lease(ctx, "read lease", `WHERE resource = ? AND token = ?`, resource, token)
}

func (tx *Tx) LeaseForToken(ctx context.Context, token int64) (store.Lease, bool, error) {
	return tx.lease(ctx, "read lease", `WHERE token = ?`, token)
}

func (tx *Tx) LeasesAll(ctx context.Context) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `ORDER BY id`)
}

func (tx *Tx) LeasesActive(ctx context.Context) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE state = 'active'`)
}

func (tx *Tx) LeasesLive(ctx context.Context, now time.Time) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE state = 'active' AND expires_at > ? ORDER BY +id`, ms(now))
}

func (tx *Tx) LeasesLiveByExpiry(ctx context.Context, now time.Time) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE state = 'active' AND expires_at > ? ORDER BY expires_at, id`, ms(now))
}

func (tx *Tx) LeasesLiveByResource(ctx context.Context, now time.Time) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE state = 'active' AND expires_at > ? ORDER BY resource`, ms(now))
}

func (tx *Tx) LeasesLiveForDomain(ctx context.Context, domain string, now time.Time) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE state = 'active' AND domain = ? AND expires_at > ? ORDER BY created_at, id`, domain, ms(now))
}

func (tx *Tx) LeasesLiveForItemOwner(ctx context.Context, item, owner string, now time.Time) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE state = 'active' AND item_id = ? AND owner = ? AND expires_at > ?`, item, owner, ms(now))
}

func (tx *Tx) LeasesUnswept(ctx context.Context, now time.Time) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at, id`, ms(now))
}

func (tx *Tx) LeasesExpiredSince(ctx context.Context, now, since time.Time) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE (state = 'expired' OR (state = 'active' AND expires_at <= ?)) AND expires_at > ? ORDER BY expires_at, id`, ms(now), ms(since))
}

func (tx *Tx) LeasesRevokedSince(ctx context.Context, since time.Time) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE state = 'revoked' AND ended_at > ? ORDER BY ended_at, id`, ms(since))
}

func (tx *Tx) LeasesForItem(ctx context.Context, item string) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE item_id = ? ORDER BY id`, item)
}

func (tx *Tx) LeasesForItemNewestFirst(ctx context.Context, item string) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE item_id = ? ORDER BY id DESC`, item)
}

func (tx *Tx) LeasesForResourceSince(ctx context.Context, resource string, since time.Time) ([]store.Lease, error) {
	return tx.leases(ctx, "read leases", `WHERE resource = ? AND created_at >= ? ORDER BY created_at, id`, resource, ms(since))
}

func (tx *Tx) LeaseHoldSince(ctx context.Context, resource, owner string, endedAfter, grantedFrom time.Time) (time.Time, bool, error) {
	var since int64
	err := tx.queryRow(ctx, `SELECT COALESCE(hold_since, created_at) FROM leases
		WHERE resource = ? AND created_at >= ? AND owner = ? AND state <> 'active' AND COALESCE(ended_at, expires_at) > ?
		ORDER BY created_at DESC, id DESC LIMIT 1`,
		resource, ms(grantedFrom), owner, ms(endedAfter)).Scan(&since)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, tx.fail("read leases", err)
	}
	return time.UnixMilli(since).UTC(), true, nil
}

func (tx *Tx) LeaseLiveBetween(ctx context.Context, resource string, from, to time.Time) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM leases WHERE resource = ? AND created_at < ? AND COALESCE(ended_at, expires_at) > ?`,
		resource, ms(to), ms(from)).Scan(&n)
	if err != nil {
		return false, tx.fail("read leases", err)
	}
	return n > 0, nil
}

func (tx *Tx) TokenNext(ctx context.Context) (int64, error) {
	var token int64
	if err := tx.queryRow(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'lease_token' RETURNING value`).Scan(&token); err != nil {
		return 0, tx.fail("take fencing token", err)
	}
	return token, nil
}

func (tx *Tx) LeaseInsert(ctx context.Context, g store.LeaseGrant) (int64, error) {
	return tx.insert(ctx, "grant lease", `INSERT INTO leases (resource, owner, domain, token, item_id, reason, created_at, expires_at, state, hold_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)`,
		g.Resource, g.Owner, g.Domain, g.Token, nullText(g.Item), g.Reason, ms(g.CreatedAt), ms(g.ExpiresAt), ms(g.HoldSince))
}

func (tx *Tx) LeaseExtendIfActive(ctx context.Context, id int64, expiresAt time.Time) (bool, error) {
	n, err := tx.changed(ctx, "renew lease", `UPDATE leases SET expires_at = ? WHERE id = ? AND state = 'active'`, ms(expiresAt), id)
	return n == 1, err
}

func (tx *Tx) LeaseEndIfActive(ctx context.Context, id int64, state store.LeaseState, endedAt time.Time, reason, by string) (bool, error) {
	n, err := tx.changed(ctx, "end lease", `UPDATE leases SET state = ?, ended_at = ?, end_reason = ?, ended_by = ? WHERE id = ? AND state = 'active'`,
		string(state), ms(endedAt), reason, by, id)
	return n == 1, err
}

func (tx *Tx) ClaimHandshakeSince(ctx context.Context, fromDomain, toTarget, resource string, since time.Time) (bool, error) {
	var id int64
	err := tx.queryRow(ctx, `SELECT id FROM signals WHERE kind = 'handshake' AND from_domain = ? AND to_target = ? AND resource = ? AND created_at >= ? ORDER BY id DESC LIMIT 1`,
		fromDomain, toTarget, resource, ms(since)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, tx.fail("read handshakes", err)
	}
	return true, nil
}

func (tx *Tx) WaiterInsert(ctx context.Context, w store.Waiter) (int64, error) {
	return tx.insert(ctx, "queue for lease", `INSERT INTO lease_waiters (resource, owner, domain, pid, host, created_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		w.Resource, w.Owner, w.Domain, w.PID, w.Host, ms(w.CreatedAt), ms(w.HeartbeatAt))
}

func (tx *Tx) WaiterDelete(ctx context.Context, id int64) error {
	_, err := tx.exec(ctx, "leave lease queue", `DELETE FROM lease_waiters WHERE id = ?`, id)
	return err
}

func (tx *Tx) WaiterHeartbeatIf(ctx context.Context, id int64, at time.Time) (bool, error) {
	n, err := tx.changed(ctx, "heartbeat lease queue", `UPDATE lease_waiters SET heartbeat_at = ? WHERE id = ?`, ms(at), id)
	return n > 0, err
}

func (tx *Tx) WaitersForResource(ctx context.Context, resource string) ([]store.Waiter, error) {
	return tx.waiters(ctx, `WHERE resource = ? ORDER BY id`, resource)
}

func (tx *Tx) WaitersAll(ctx context.Context) ([]store.Waiter, error) {
	return tx.waiters(ctx, `ORDER BY id`)
}

func (tx *Tx) waiters(ctx context.Context, tail string, args ...any) ([]store.Waiter, error) {
	return collect(ctx, tx, "read waiters", func(r scanner) (store.Waiter, error) {
		var w store.Waiter
		var created, beat int64
		err := r.Scan(&w.ID, &w.Resource, &w.Owner, &w.Domain, &w.PID, &w.Host, &created, &beat)
		w.CreatedAt, w.HeartbeatAt = fromMS(created), fromMS(beat)
		return w, err
	}, `SELECT id, resource, owner, domain, pid, host, created_at, heartbeat_at FROM lease_waiters `+tail, args...)
}

func (tx *Tx) FingerprintLatest(ctx context.Context, resource, worktree string) (store.Fingerprint, bool, error) {
	f := store.Fingerprint{Resource: resource, Worktree: worktree}
	var at int64
	err := tx.queryRow(ctx, `SELECT manifest, files, taken_at, reason, COALESCE(lease_id, 0), scanned_at FROM fingerprints WHERE resource = ? AND worktree = ? ORDER BY id DESC LIMIT 1`,
		resource, worktree).Scan(&f.Manifest, &f.Files, &at, &f.Reason, &f.LeaseID, &f.ScannedAtNS)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Fingerprint{}, false, nil
	}
	if err != nil {
		return store.Fingerprint{}, false, tx.fail("read fingerprints", err)
	}
	f.TakenAt = time.UnixMilli(at).UTC()
	return f, true, nil
}

func (tx *Tx) FingerprintInsert(ctx context.Context, f store.Fingerprint) error {
	_, err := tx.exec(ctx, "record fingerprint", `INSERT INTO fingerprints (resource, worktree, manifest, files, taken_at, reason, lease_id, scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		f.Resource, f.Worktree, f.Manifest, f.Files, ms(f.TakenAt), f.Reason, nullID(f.LeaseID), f.ScannedAtNS)
	return err
}

func (tx *Tx) AttestationInsertIfNew(ctx context.Context, token int64, path, blob string, at time.Time) (bool, error) {
	n, err := tx.changed(ctx, "attest", `INSERT INTO lease_attestations (token, path, blob, attested_at) VALUES (?, ?, ?, ?) ON CONFLICT (path, blob, token) DO NOTHING`,
		token, path, blob, ms(at))
	return n == 1, err
}

func (tx *Tx) AttestationLatest(ctx context.Context, resource, path, blob string) (int64, string, bool, error) {
	var token int64
	var owner string
	err := tx.queryRow(ctx, `SELECT l.token, l.owner FROM lease_attestations a JOIN leases l ON l.token = a.token
		WHERE a.path = ? AND a.blob = ? AND l.resource = ? ORDER BY a.id DESC LIMIT 1`, path, blob, resource).Scan(&token, &owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, "", false, nil
	case err != nil:
		return 0, "", false, tx.fail("read attestations", err)
	}
	return token, owner, true, nil
}

func (tx *Tx) AttestationProof(ctx context.Context, token int64, resource, owner, path, blob string) (bool, bool, error) {
	var granted, attested bool
	err := tx.queryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM leases WHERE token = ?1 AND resource = ?2 AND owner = ?3),
			EXISTS (SELECT 1 FROM lease_attestations a JOIN leases l ON l.token = a.token
				WHERE a.token = ?1 AND l.resource = ?2 AND l.owner = ?3 AND a.path = ?4 AND a.blob = ?5
				AND a.attested_at >= l.created_at AND a.attested_at < COALESCE(l.ended_at, l.expires_at))`,
		token, resource, owner, path, blob).Scan(&granted, &attested)
	if err != nil {
		return false, false, tx.fail("read attestations", err)
	}
	return granted, attested, nil
}

func (tx *Tx) OverviewFirstSignalSince(ctx context.Context, from, stop time.Time) (int64, error) {
	const op = "read signals"
	// Newest first, stopping soon after the first signal older than stop: a
	// table of every signal ever sent is never scanned for a week.
	rows, err := tx.query(ctx, op, `SELECT id, created_at FROM signals ORDER BY id DESC`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	fromAt, stopAt := ms(from), ms(stop)
	first := int64(-1)
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return 0, tx.fail(op, err)
		}
		if first < 0 {
			first = id + 1
		}
		if at < stopAt {
			break
		}
		if at >= fromAt {
			first = id
		}
	}
	if err := rows.Err(); err != nil {
		return 0, tx.fail(op, err)
	}
	if first < 0 {
		first = 1
	}
	return first, nil
}
