package workflow

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// genesisHash is the prev_hash of the first audit event.
const genesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// AuditEvent is one row of the append-only audit log.
type AuditEvent struct {
	Seq      int64           `json:"seq"`
	At       Time            `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Subject  string          `json:"subject"`
	Payload  json.RawMessage `json:"payload"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// canonicalEvent is what the chain hashes. Field order is fixed by the
// struct, and the payload is hashed exactly as stored.
type canonicalEvent struct {
	Seq     int64           `json:"seq"`
	At      int64           `json:"at"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	Payload json.RawMessage `json:"payload"`
}

func chainHash(prev string, seq, at int64, actor, action, subject, payload string) (string, error) {
	canon, err := json.Marshal(canonicalEvent{Seq: seq, At: at, Actor: actor, Action: action, Subject: subject, Payload: json.RawMessage(payload)})
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// audit appends an event inside the caller's write transaction. Writers are
// serialised by BEGIN IMMEDIATE, so the head read here cannot change before
// this transaction commits: the chain never forks.
func (tx *Tx) audit(ctx context.Context, actor, action, subject string, payload any) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return Errorf(EINTERNAL, "encode audit payload: %v", err)
	}
	if string(raw) == "null" {
		raw = []byte("{}")
	}
	var seq int64
	prev := genesisHash
	err = tx.queryRow(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return storeErr("read audit head", err)
	}
	seq++
	at := ms(tx.now)
	hash, err := chainHash(prev, seq, at, actor, action, subject, string(raw))
	if err != nil {
		return Errorf(EINTERNAL, "hash audit event: %v", err)
	}
	_, err = tx.exec(ctx, `INSERT INTO audit_log (seq, at, actor, action, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		seq, at, actor, action, subject, string(raw), prev, hash)
	return err
}

// AuditFilter selects audit events.
type AuditFilter struct {
	Subject string
	Since   time.Time
	Action  string
	Limit   int
}

// AuditLog lists events in order.
func (s *Service) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	var out []AuditEvent
	err := s.read(ctx, func(tx *Tx) error {
		var w filter
		w.when(f.Subject != "", `subject = ?`, f.Subject)
		w.when(f.Action != "", `action = ?`, f.Action)
		w.when(!f.Since.IsZero(), `at >= ?`, ms(f.Since))
		q, args := `SELECT seq, at, actor, action, subject, payload, prev_hash, hash FROM audit_log`+w.where(), w.args
		if f.Limit > 0 {
			// The newest Limit events, reversed into order below.
			q += ` ORDER BY seq DESC LIMIT ?`
			args = append(args, f.Limit)
		} else {
			q += ` ORDER BY seq`
		}
		rows, err := tx.query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e AuditEvent
			var at int64
			var payload string
			if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &payload, &e.PrevHash, &e.Hash); err != nil {
				return storeErr("read audit log", err)
			}
			e.At = fromMS(at)
			e.Payload = json.RawMessage(payload)
			if !json.Valid(e.Payload) {
				e.Payload, _ = json.Marshal(payload)
			}
			out = append(out, e)
		}
		if f.Limit > 0 {
			for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
				out[i], out[j] = out[j], out[i]
			}
		}
		return rows.Err()
	})
	if out == nil {
		out = []AuditEvent{}
	}
	return out, err
}

// ChainHead is the last event of the chain.
type ChainHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// ChainCheck is the result of re-hashing the audit log.
type ChainCheck struct {
	OK     bool      `json:"ok"`
	Events int64     `json:"events"`
	Head   ChainHead `json:"head"`
	// BrokenSeq is the first seq whose row no longer fits the chain.
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	Problem   string `json:"problem,omitempty"`
}

// verifyChain re-hashes every event in order. It relies on nothing but the
// rows themselves, so it holds even if the append-only triggers were dropped.
func (tx *Tx) verifyChain(ctx context.Context) (ChainCheck, error) {
	rows, err := tx.query(ctx, `SELECT seq, at, actor, action, subject, payload, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		return ChainCheck{}, err
	}
	defer rows.Close()
	res := ChainCheck{OK: true}
	prev := genesisHash
	var expect, prevAt int64 = 1, 0
	for rows.Next() {
		var seq, at int64
		var actor, action, subject, payload, prevHash, hash string
		if err := rows.Scan(&seq, &at, &actor, &action, &subject, &payload, &prevHash, &hash); err != nil {
			return ChainCheck{}, storeErr("read audit log", err)
		}
		res.Events++
		fail := func(problem string) {
			res.OK = false
			res.BrokenSeq = seq
			res.Problem = problem
		}
		switch {
		case seq != expect:
			fail("events are missing before this one (expected seq " + itoa(expect) + ")")
			res.BrokenSeq = expect
		case prevHash != prev:
			fail("prev_hash does not match the previous event's hash")
		default:
			want, err := chainHash(prevHash, seq, at, actor, action, subject, payload)
			if err != nil {
				fail("the payload is not valid JSON")
			} else if want != hash {
				fail("the event's content does not match its hash")
			} else if at < prevAt {
				// Every transaction's time is at least the newest event's
				// (Tx.readClock), so an earlier time was written by a clock
				// that went back or by hand.
				fail(fmt.Sprintf("the event's time %s is earlier than the previous event's %s", fromMS(at), fromMS(prevAt)))
			}
		}
		if !res.OK {
			return res, nil
		}
		res.Head = ChainHead{Seq: seq, Hash: hash}
		prev, prevAt = hash, at
		expect++
	}
	return res, rows.Err()
}

// checkHeads confirms that every chain head recorded by an earlier check is
// still in the log with the same hash. Re-hashing alone cannot notice rows
// cut from the end of the log; a recorded head that has vanished can.
func (tx *Tx) checkHeads(ctx context.Context, res *ChainCheck) error {
	if !res.OK {
		return nil
	}
	rows, err := tx.query(ctx, `SELECT head_seq, head_hash, source, at FROM verifications
		WHERE kind = 'audit_chain' AND ok = 1 AND head_seq IS NOT NULL ORDER BY head_seq DESC, id DESC`)
	if err != nil {
		return err
	}
	type head struct {
		seq        int64
		hash, from string
		at         int64
	}
	var heads []head
	for rows.Next() {
		var h head
		if err := rows.Scan(&h.seq, &h.hash, &h.from, &h.at); err != nil {
			rows.Close()
			return storeErr("read verifications", err)
		}
		heads = append(heads, h)
	}
	rows.Close()
	for _, h := range heads {
		var hash string
		err := tx.queryRow(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, h.seq).Scan(&hash)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res.OK, res.BrokenSeq = false, h.seq
			res.Problem = fmt.Sprintf("the head %s recorded at %s (seq %d) is gone: events were cut from the end of the log", h.from, fromMS(h.at), h.seq)
			return nil
		case err != nil:
			return storeErr("read audit log", err)
		case hash != h.hash:
			res.OK, res.BrokenSeq = false, h.seq
			res.Problem = fmt.Sprintf("the head %s recorded at %s (seq %d) had another hash", h.from, fromMS(h.at), h.seq)
			return nil
		}
	}
	return nil
}

// checkSignals compares every signal with the audit event that recorded its
// sending. Signals are append-only, but the chain is what proves it: a
// signal edited behind the triggers' back no longer matches its event.
func (tx *Tx) checkSignals(ctx context.Context, res *ChainCheck) error {
	if !res.OK {
		return nil
	}
	rows, err := tx.query(ctx, `SELECT `+signalColumns+`, a.seq, a.payload FROM signals
		LEFT JOIN audit_log a ON a.subject = 'signal:' || signals.id AND a.action = 'signal.send' ORDER BY signals.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sig Signal
		var refs string
		var created int64
		var seq sql.NullInt64
		var payload sql.NullString
		if err := rows.Scan(&sig.ID, &sig.Kind, &sig.Topic, &sig.From, &sig.FromDomain, &sig.To, &sig.Item, &sig.Resource, &sig.Body, &refs, &created, &sig.File, &seq, &payload); err != nil {
			return storeErr("read signals", err)
		}
		fail := func(problem string) {
			res.OK, res.BrokenSeq, res.Problem = false, seq.Int64, fmt.Sprintf("signal %d %s", sig.ID, problem)
		}
		if !seq.Valid {
			fail("has no signal.send event in the audit log")
			return nil
		}
		var rec struct {
			Kind, Topic, To, Item, Resource, Body, File string
			FromDomain                                  string   `json:"from_domain"`
			Refs                                        []string `json:"refs"`
		}
		if err := json.Unmarshal([]byte(payload.String), &rec); err != nil {
			fail("has an unreadable audit record")
			return nil
		}
		if rec.Kind != sig.Kind || rec.Topic != sig.Topic || rec.To != sig.To || rec.Item != sig.Item || rec.Resource != sig.Resource ||
			rec.Body != sig.Body || rec.File != sig.File || rec.FromDomain != sig.FromDomain || encodeList(rec.Refs) != refs {
			fail(fmt.Sprintf("differs from its audit record (seq %d): it was changed after it was sent", seq.Int64))
			return nil
		}
	}
	return rows.Err()
}

// VerifyAudit re-hashes the whole chain in a read snapshot (writers are not
// held up), checks the heads recorded in the store and in report files, then
// records the result: its head is what a later check uses to notice
// truncation.
func (s *Service) VerifyAudit(ctx context.Context, actor, source string) (ChainCheck, error) {
	res, err := s.verifyChainWithReports(ctx)
	if err != nil {
		return res, err
	}
	err = s.write(ctx, func(tx *Tx) error {
		return tx.recordChainCheck(ctx, actor, source, res)
	})
	return res, err
}

func (tx *Tx) recordChainCheck(ctx context.Context, actor, source string, res ChainCheck) error {
	detail := fmt.Sprintf("%d events", res.Events)
	var seq, hash any
	if res.OK {
		seq, hash = res.Head.Seq, res.Head.Hash
	} else {
		detail = fmt.Sprintf("broken at seq %d: %s", res.BrokenSeq, res.Problem)
	}
	if _, err := tx.exec(ctx, `INSERT INTO verifications (kind, ok, detail, head_seq, head_hash, source, at) VALUES ('audit_chain', ?, ?, ?, ?, ?, ?)`,
		boolInt(res.OK), detail, seq, hash, source, ms(tx.now)); err != nil {
		return err
	}
	return tx.audit(ctx, actor, "audit.verify", "audit", map[string]any{"ok": res.OK, "events": res.Events, "head": res.Head, "broken_seq": res.BrokenSeq})
}
