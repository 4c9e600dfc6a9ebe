package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/oxygen-tools/oxygen/store"
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
// serialised by Store.Write's one-writer contract, so the head read here
// cannot change before this transaction commits: the chain never forks.
func (tx *Tx) audit(ctx context.Context, actor, action, subject string, payload any) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return Errorf(EINTERNAL, "encode audit payload: %v", err)
	}
	if string(raw) == "null" {
		raw = []byte("{}")
	}
	head, ok, err := tx.st.AuditHead(ctx)
	if err != nil {
		return storeErr("read audit head", err)
	}
	prev := genesisHash
	if ok {
		prev = head.Hash
	}
	seq := head.Seq + 1
	hash, err := chainHash(prev, seq, ms(tx.now), actor, action, subject, string(raw))
	if err != nil {
		return Errorf(EINTERNAL, "hash audit event: %v", err)
	}
	return storeErr("append audit event", tx.st.AuditAppend(ctx, store.AuditEvent{Seq: seq, At: tx.now, Actor: actor, Action: action,
		Subject: subject, Payload: string(raw), PrevHash: prev, Hash: hash}))
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
		rows, err := tx.st.AuditEvents(ctx, store.AuditQuery{Subject: f.Subject, Action: f.Action, Since: f.Since, Limit: f.Limit})
		if err != nil {
			return storeErr("read audit log", err)
		}
		for _, r := range rows {
			e := AuditEvent{Seq: r.Seq, At: Time{r.At}, Actor: r.Actor, Action: r.Action, Subject: r.Subject,
				Payload: json.RawMessage(r.Payload), PrevHash: r.PrevHash, Hash: r.Hash}
			if !json.Valid(e.Payload) {
				e.Payload, _ = json.Marshal(r.Payload)
			}
			out = append(out, e)
		}
		return nil
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

// ChainCheck is the result of verifying the audit log: the re-hash, the
// heads recorded in the store, in report files and in git history, and the
// replay of the log against the tables.
type ChainCheck struct {
	OK     bool      `json:"ok"`
	Events int64     `json:"events"`
	Head   ChainHead `json:"head"`
	// Store is the store's identity: the hash of its first event.
	Store string `json:"store"`
	// BrokenSeq is the first seq whose row no longer fits the chain, or
	// the seq of a recorded head that is gone or altered.
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	Problem   string `json:"problem,omitempty"`
	// Disagreements are rows the replayed log does not account for (at
	// most maxDisagreements of them; Disagreeing counts them all).
	Disagreements []string     `json:"disagreements,omitempty"`
	Disagreeing   int          `json:"disagreeing,omitempty"`
	Replayed      ReplayCounts `json:"replayed"`
	Anchors       AnchorCheck  `json:"anchors"`
	// Full is a check that re-hashed every event; otherwise it re-hashed
	// only the Rehashed events after Checkpoint, the last head recorded
	// as intact.
	Full       bool       `json:"full"`
	Checkpoint *ChainHead `json:"checkpoint,omitempty"`
	Rehashed   int64      `json:"rehashed"`
	// Files are the signal and report files read: those of rows after the
	// marks an earlier intact check recorded, or all of them when Full.
	Files FileCheck `json:"files"`
	// BlobStore is audit verify's check of the blob store (incremental or
	// full as the chain's); health and reports record theirs apart.
	BlobStore *StoreCheck `json:"blob_store,omitempty"`
	// marks are where the next incremental check of the files starts, once
	// this one is recorded as intact.
	marks map[store.VerifyMark]int64
}

// Failures lists what the check found, one line each: the chain or a
// recorded head first, then each row that disagrees with the log, each
// altered file, and what the blob store check found.
func (c *ChainCheck) Failures() []string {
	out := c.chainFailures()
	if c.BlobStore != nil {
		out = append(out, c.BlobStore.Failures()...)
	}
	return out
}

// chainFailures are the failures recorded as the audit_chain check's.
func (c *ChainCheck) chainFailures() []string {
	var out []string
	if c.Problem != "" {
		out = append(out, fmt.Sprintf("audit chain broken at seq %d: %s", c.BrokenSeq, c.Problem))
	}
	for _, d := range c.Disagreements {
		out = append(out, "the store disagrees with the audit log: "+d)
	}
	if more := c.Disagreeing - len(c.Disagreements); more > 0 {
		out = append(out, fmt.Sprintf("the store disagrees with the audit log in %d more place(s)", more))
	}
	return append(out, c.Files.failures()...)
}

// verifyChain walks every event in order, handing each intact one to
// visit. It checks that seqs run without a gap, that each prev_hash is the
// stored hash before it and that time never goes back, for the whole log.
// It re-hashes each event's content only after from, the last head a check
// recorded as intact (all of them when from is nil): content edited before
// it, with the row's stored hash left as it was, is what --full and the
// daily audit-full job are for. It relies on nothing but the rows
// themselves, so it holds even if the append-only triggers were dropped.
// A full check given more (nil: none) reads the log as ranges on more read
// transactions at once (readRanges); the checks and what they report are
// the same either way.
func (tx *Tx) verifyChain(ctx context.Context, from *ChainHead, more *chainReaders, onlyNew bool, visit func(*chainEvent)) (ChainCheck, error) {
	res := ChainCheck{OK: true, Full: from == nil, Checkpoint: from}
	var trusted int64
	if from != nil {
		trusted = from.Seq
	}
	prev := genesisHash
	var expect, prevAt int64 = 1, 0
	if onlyNew && from != nil {
		// Start at the checkpoint: its row must still be there with the
		// hash an intact check recorded; what lies before it was verified
		// then, and is re-read only by a full check.
		var at *store.AuditEvent
		err := tx.st.AuditEachRange(ctx, from.Seq, from.Seq, func(e *store.AuditEvent) bool { c := *e; at = &c; return false })
		if err != nil {
			return ChainCheck{}, storeErr("read audit log", err)
		}
		if at == nil || at.Hash != from.Hash {
			res.OK, res.BrokenSeq = false, from.Seq
			res.Problem = fmt.Sprintf("the head verified before (seq %d) is gone or has another hash: the log was cut or rewritten", from.Seq)
			return res, nil
		}
		if res.Store, err = tx.storeIdentity(ctx); err != nil {
			return ChainCheck{}, err
		}
		res.Head = *from
		prev, prevAt, expect = at.Hash, storedMS(at.At), from.Seq+1
	}
	hasher := newChainHasher()
	check := func(row *checkedEvent) bool {
		e := chainEvent{seq: row.Seq, at: storedMS(row.At), actor: row.Actor, action: row.Action, subject: row.Subject,
			payload: row.Payload, prevHash: row.PrevHash, hash: row.Hash}
		res.Events++
		problem := ""
		switch {
		case e.seq != expect:
			problem = "events are missing before this one (expected seq " + itoa(expect) + ")"
			e.seq = expect
		case e.prevHash != prev:
			problem = "prev_hash does not match the previous event's hash"
		case e.at < prevAt:
			// Every transaction's time is at least the newest event's
			// (Tx.readClock), so an earlier time was written by a clock
			// that went back or by hand.
			problem = fmt.Sprintf("the event's time %s is earlier than the previous event's %s", fromMS(e.at), fromMS(prevAt))
		case e.seq > trusted:
			res.Rehashed++
			verdict := row.verdict
			if verdict == notRehashed {
				verdict = hasher.rehash(&row.AuditEvent)
			}
			switch verdict {
			case rehashInvalid:
				problem = "the payload is not valid JSON"
			case rehashAltered:
				problem = "the event's content does not match its hash"
			}
		}
		if problem != "" {
			res.OK, res.BrokenSeq, res.Problem = false, e.seq, problem
			return false
		}
		if e.seq == 1 {
			res.Store = e.hash
		}
		res.Head = ChainHead{Seq: e.seq, Hash: e.hash}
		visit(&e)
		prev, prevAt = e.hash, e.at
		expect++
		return true
	}
	var err error
	if from == nil && more != nil {
		err = tx.readRanges(ctx, more, check)
	} else {
		err = tx.readInOrder(ctx, expect, check)
	}
	if err != nil {
		return ChainCheck{}, storeErr("read audit log", err)
	}
	return res, nil
}

// readInOrder hands every event to check in order, on another goroutine:
// reading a row through the driver costs more than checking it, so this
// one reads while the other checks, a batch at a time, until check
// returns false.
func (tx *Tx) readInOrder(ctx context.Context, start int64, check func(*checkedEvent) bool) error {
	batches := make(chan []checkedEvent, 4)
	var broken atomic.Bool
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		for batch := range batches {
			for i := 0; i < len(batch) && !broken.Load(); i++ {
				if !check(&batch[i]) {
					broken.Store(true)
				}
			}
		}
	}()
	batch := make([]checkedEvent, 0, chainBatchSize)
	err := tx.st.AuditEachRange(ctx, start, math.MaxInt64, func(row *store.AuditEvent) bool {
		if broken.Load() {
			return false
		}
		if batch = append(batch, checkedEvent{AuditEvent: *row}); len(batch) == chainBatchSize {
			batches <- batch
			batch = make([]checkedEvent, 0, chainBatchSize)
		}
		return true
	})
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	<-checked
	return err
}

// storedMS is the integer Unix milliseconds a store keeps for t, 0 for the
// zero time, which is what the chain hashes.
func storedMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// checkpoint is the highest head an earlier check recorded as intact, where
// an incremental check starts re-hashing; nil before the first. checkHeads
// confirms that the row at its seq still has its hash.
func (tx *Tx) checkpoint(ctx context.Context) (*ChainHead, error) {
	h, ok, err := tx.st.VerifiedChainHeadLatest(ctx)
	if err != nil {
		return nil, storeErr("read verifications", err)
	}
	if !ok {
		return nil, nil
	}
	return &ChainHead{Seq: h.Seq, Hash: h.Hash}, nil
}

// checkHeads confirms that every chain head recorded by an earlier check is
// still in the log with the same hash. Re-hashing alone cannot notice rows
// cut from the end of the log; a recorded head that has vanished can.
func (tx *Tx) checkHeads(ctx context.Context, res *ChainCheck) error {
	if !res.OK {
		return nil
	}
	heads, err := tx.st.VerifiedChainHeads(ctx)
	if err != nil {
		return storeErr("read verifications", err)
	}
	for _, h := range heads {
		hash, ok, err := tx.st.AuditHashAt(ctx, h.Seq)
		switch {
		case err != nil:
			return storeErr("read audit log", err)
		case !ok:
			res.OK, res.BrokenSeq = false, h.Seq
			res.Problem = fmt.Sprintf("the head %s recorded at %s (seq %d) is gone: events were cut from the end of the log", h.Source, Time{h.At}, h.Seq)
			return nil
		case hash != h.Hash:
			res.OK, res.BrokenSeq = false, h.Seq
			res.Problem = fmt.Sprintf("the head %s recorded at %s (seq %d) had another hash", h.Source, Time{h.At}, h.Seq)
			return nil
		}
	}
	return nil
}

// verifyAuditLog checks the log in one pass over the events: the re-hash
// (of every event when full, else of those after the checkpoint), the heads
// recorded in the store, in report files and in git history, the replay of
// every event compared with the tables and the blob store (when replay),
// and the signal and report files (all of them when full, else those of
// rows after the marks). The first check, and any after a recorded
// failure, is full.
//
// Without replay and full, the check reads nothing written before the
// checkpoint: the checkpoint's own row (still there, same hash), the events
// after it, the git anchors, and the files and blobs after the marks. That
// is what health and the hourly report run, at a cost that follows what
// happened since the last check, not the store's size. The replay, which
// must walk the whole log to rebuild the tables, runs in audit verify, the
// daily full check and store migrate.
func (s *Service) verifyAuditLog(ctx context.Context, full, replay bool) (ChainCheck, error) {
	anchors, err := s.readGitAnchors(ctx)
	if err != nil {
		return ChainCheck{}, err
	}
	var res ChainCheck
	var replayed bool
	rp := newReplay()
	err = s.read(ctx, func(tx *Tx) error {
		var from *ChainHead
		var marks map[store.VerifyMark]int64
		if !full {
			// A failure stands until a check that covers what it covered
			// clears it: after one, checks are full.
			last, err := tx.latestVerification(ctx, string(store.VerificationAuditChain))
			if err != nil {
				return err
			}
			full = last != nil && !last.OK
		}
		if !full {
			var err error
			if from, err = tx.checkpoint(ctx); err != nil {
				return err
			}
			// The first check has nothing to start from: it reads it all.
			full = from == nil
			if marks, err = tx.st.VerifyMarks(ctx); err != nil {
				return storeErr("read verify marks", err)
			}
		}
		replay = replay || full
		onlyNew := !replay && from != nil
		var err error
		res, err = tx.verifyChain(ctx, from, s.chainReaders(), onlyNew, func(e *chainEvent) {
			if replay {
				rp.apply(e)
			}
			anchors.observe(e)
		})
		if err != nil {
			return err
		}
		// A broken chain leaves the replay half done: nothing to compare.
		intact := res.OK
		if onlyNew {
			// The heads anchored in git before the checkpoint were not in
			// the stream: look each up.
			if err := anchors.lookUpBefore(ctx, tx, from.Seq); err != nil {
				return err
			}
		} else if err := tx.checkHeads(ctx, &res); err != nil {
			return err
		}
		if full {
			if err := s.checkReportHeads(ctx, tx, &res); err != nil {
				return err
			}
		}
		anchors.check(&res)
		// Files last: an altered one is a finding of its own, after what
		// the heads say about the chain.
		if err := s.checkFiles(ctx, tx, &res, full, marks); err != nil {
			return err
		}
		if !intact || !replay {
			return nil
		}
		replayed = true
		res.Replayed = rp.counts()
		res.Disagreements, err = rp.compare(ctx, tx)
		return err
	})
	if err != nil || !replayed {
		return res, err
	}
	for _, p := range s.missingBlobs(rp.blobRefs()) {
		res.Disagreements = append(res.Disagreements, fmt.Sprintf("blob %s is missing from the blob store: %s", p.Path, p.Problem))
	}
	res.Disagreeing = len(res.Disagreements)
	if res.Disagreeing > maxDisagreements {
		res.Disagreements = res.Disagreements[:maxDisagreements]
	}
	if res.Disagreeing > 0 {
		res.OK = false
	}
	return res, nil
}

// VerifyAudit verifies the log and the blob store in read snapshots
// (writers are not held up), then records both results: the chain's head
// is what a later check uses to notice truncation, and with the marks of
// the files and blobs read, where the next incremental check starts.
func (s *Service) VerifyAudit(ctx context.Context, actor, source string, full bool) (ChainCheck, error) {
	res, err := s.verifyAuditLog(ctx, full, true)
	if err != nil {
		return res, err
	}
	blobs, progress, err := s.checkBlobs(ctx, full)
	if err != nil {
		return res, err
	}
	res.BlobStore = blobs
	err = s.write(ctx, func(tx *Tx) error {
		// The blob store's result is a row of its own for the verdict; the
		// one audit event, audit.verify, carries both.
		if err := tx.st.VerificationInsert(ctx, store.Verification{Kind: store.VerificationBlobStore, OK: blobs.OK,
			Detail: blobDetail(blobs), Findings: encodeList(blobs.Failures()), Source: source, At: tx.now}); err != nil {
			return storeErr("record verification", err)
		}
		if err := tx.recordBlobProgress(ctx, blobs, progress); err != nil {
			return err
		}
		return tx.recordChainCheck(ctx, actor, source, res)
	})
	res.OK = res.OK && blobs.OK
	return res, err
}

// recordChainCheck records the audit-chain check (not the blob store's,
// which recordStoreCheck records) and, when it is intact, advances the
// marks of the files it read.
func (tx *Tx) recordChainCheck(ctx context.Context, actor, source string, res ChainCheck) error {
	failures := res.chainFailures()
	v := store.Verification{Kind: store.VerificationAuditChain, OK: res.OK, Detail: fmt.Sprintf("%d events, %d re-hashed", res.Events, res.Rehashed),
		Findings: encodeList(failures), Source: source, At: tx.now}
	if res.OK {
		v.HeadSeq, v.HeadHash = res.Head.Seq, res.Head.Hash
	} else {
		v.Detail = failures[0]
	}
	if err := tx.st.VerificationInsert(ctx, v); err != nil {
		return storeErr("record verification", err)
	}
	if err := tx.advanceMarks(ctx, res.OK, res.marks); err != nil {
		return err
	}
	payload := map[string]any{"ok": res.OK, "events": res.Events, "head": res.Head, "broken_seq": res.BrokenSeq,
		"disagreeing": res.Disagreeing, "anchors_checked": res.Anchors.Checked, "full": res.Full, "rehashed": res.Rehashed}
	if res.BlobStore != nil {
		payload["blob_store"] = map[string]any{"ok": res.BlobStore.OK, "blobs": res.BlobStore.Blobs, "problems": res.BlobStore.Problems, "missing": res.BlobStore.Missing}
	}
	return tx.audit(ctx, actor, "audit.verify", "audit", payload)
}

// blobDetail sums a blob-store check up in a line.
func blobDetail(check *StoreCheck) string {
	if check.OK {
		return fmt.Sprintf("%d blobs", check.Blobs)
	}
	f := check.Failures()
	return fmt.Sprintf("%d problem(s) in %d blobs, first %s", len(f), check.Blobs, f[0])
}

// advanceMarks records marks as where the next incremental check starts,
// if the check that reached them was intact.
func (tx *Tx) advanceMarks(ctx context.Context, intact bool, marks map[store.VerifyMark]int64) error {
	if !intact {
		return nil
	}
	for m, through := range marks {
		if err := tx.st.VerifyMarkAdvance(ctx, m, through, tx.now); err != nil {
			return storeErr("record verify mark", err)
		}
	}
	return nil
}
