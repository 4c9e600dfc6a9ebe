package workflow

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
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
		q := `SELECT seq, at, actor, action, subject, payload, prev_hash, hash FROM audit_log WHERE 1=1`
		var args []any
		if f.Subject != "" {
			q += ` AND subject = ?`
			args = append(args, f.Subject)
		}
		if f.Action != "" {
			q += ` AND action = ?`
			args = append(args, f.Action)
		}
		if !f.Since.IsZero() {
			q += ` AND at >= ?`
			args = append(args, ms(f.Since))
		}
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
	var expect int64 = 1
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
			}
		}
		if !res.OK {
			return res, nil
		}
		res.Head = ChainHead{Seq: seq, Hash: hash}
		prev = hash
		expect++
	}
	return res, rows.Err()
}

// VerifyAudit re-hashes the whole chain.
func (s *Service) VerifyAudit(ctx context.Context) (ChainCheck, error) {
	var res ChainCheck
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		res, err = tx.verifyChain(ctx)
		return err
	})
	return res, err
}
