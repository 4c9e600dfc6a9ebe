package workflow

import (
	"context"
	"time"
)

// Batch runs many rule-level operations in one write transaction. It exists
// for the scale generator (internal/gen), which builds stores of a million
// leases: one durable commit per operation would take hours, while the rows
// and audit events must still come from the code paths the commands use,
// so that `orchestrate audit verify --full` accepts the result. Nothing a
// person runs goes through it.
//
// Each operation makes the same checks and writes the same rows and events
// as its command, with two differences the generator needs: the batch's
// instant is set by At rather than read once, and no files are fingerprinted
// (a claim or release records no lease boundary).
type Batch struct {
	s   *Service
	tx  *Tx
	ctx context.Context
}

// Batch runs fn in one write transaction; the files its rows export
// (signals, reports) are written after it commits, as for any write.
func (s *Service) Batch(ctx context.Context, fn func(*Batch) error) error {
	return s.write(ctx, func(tx *Tx) error {
		return fn(&Batch{s: s, tx: tx, ctx: ctx})
	})
}

// At moves the batch's instant to t, never backwards: events stay in time
// order, and generated history can span days instead of one instant.
func (b *Batch) At(t time.Time) {
	t = t.UTC().Truncate(time.Millisecond)
	if t.After(b.tx.now) {
		b.tx.now = t
	}
}

// AddItem creates one item as AddItem does, taking the next id when spec
// has none, and returns its id.
func (b *Batch) AddItem(spec ItemSpec, actor string) (string, error) {
	ctx, tx := b.ctx, b.tx
	if ferr := spec.normalize(b.s.Config, b.s.Worktree, false); ferr != nil {
		return "", Errorf(EINVALID, "%s: %s", ferr.field, ferr.msg)
	}
	err := tx.createItem(ctx, &spec, b.s.Config.Items.IDPrefix, actor)
	return spec.ID, err
}

// Assign moves an open item to in_progress under the attention budget, as
// assign does, without rendering its capsule or sending the assignment
// missive (neither is needed for the item's rows to agree with the log).
func (b *Batch) Assign(id, owner string) error {
	ctx, tx := b.ctx, b.tx
	it, err := tx.getItem(ctx, id)
	if err != nil {
		return err
	}
	if _, err := CheckMove("assign", it.ID, it.Status); err != nil {
		return err
	}
	if err := tx.requireDepsDone(ctx, it); err != nil {
		return err
	}
	if err := tx.admit(ctx, b.s.Config, it, owner, owner, nil, "assign"); err != nil {
		return err
	}
	return tx.move(ctx, it, StatusInProgress, owner, owner, "", 0, moveOptions{})
}

// Move makes one of the moves in Commands out of in_progress or open
// (done, dead-end, unassign...) on an item, recorded as by's, without
// verification commands and without the actor checks the command makes.
// Unlike the command it ends no leases taken for the item: a batch's
// leases name no item. Moves into in_progress go through Assign.
func (b *Batch) Move(command, id, by string) error {
	ctx, tx := b.ctx, b.tx
	it, err := tx.getItem(ctx, id)
	if err != nil {
		return err
	}
	to, err := CheckMove(command, it.ID, it.Status)
	if err != nil {
		return err
	}
	if to == StatusInProgress {
		return Errorf(EINVALID, "%s: a batch moves items into in_progress with Assign, under the attention budget", command)
	}
	owner := it.Owner
	if to == StatusOpen {
		owner = ""
	}
	return tx.move(ctx, it, to, owner, by, "", 0, moveOptions{})
}

// Claim grants a lease as Claim does, with every refusal it makes. A
// lease for an item (req.Item) is refused: Move would not end it.
func (b *Batch) Claim(req ClaimRequest) (*Lease, error) {
	if req.Item != "" {
		return nil, Errorf(EINVALID, "a batch's leases name no item")
	}
	if err := b.s.prepareClaim(&req); err != nil {
		return nil, err
	}
	res, err := b.s.claim(b.ctx, b.tx, req, 0)
	if err != nil {
		return nil, err
	}
	return res.Lease, nil
}

// Renew moves the expiry of actor's live lease on resource to now+ttl.
func (b *Batch) Renew(resource string, actor Actor, ttl time.Duration) error {
	l, err := b.tx.heldBy(b.ctx, resource, actor.Owner, "renew")
	if err != nil {
		return err
	}
	ttl, err = b.s.checkTTL(&ttl)
	if err != nil {
		return err
	}
	_, err = b.s.extend(b.ctx, b.tx, l, ttl, actor.Owner, false)
	return err
}

// Release ends actor's live lease on resource.
func (b *Batch) Release(resource string, actor Actor) error {
	l, err := b.tx.heldBy(b.ctx, resource, actor.Owner, "release")
	if err != nil {
		return err
	}
	return b.tx.releaseLease(b.ctx, l, actor.Owner, "")
}

// Signal records a signal as `orchestrate signal send` does; its JSON
// file is exported after the batch commits.
func (b *Batch) Signal(spec SignalSpec) error {
	if err := checkBody("--body", spec.Body); err != nil {
		return err
	}
	_, err := b.tx.emit(b.ctx, b.s.Config, b.s.Root, spec)
	return err
}

// Report records an audit report whose row, blobs, files and audit event
// have the shape AuditReport gives them and whose chain head is the log's
// current one (which audit verify checks against the log). Its contents
// are not gathered: reading the whole store for each of thousands of
// reports is what the generator cannot afford, and nothing reads a
// report's findings back.
func (b *Batch) Report(actor string) error {
	ctx, tx := b.ctx, b.tx
	head, _, err := tx.st.AuditHead(ctx)
	if err != nil {
		return storeErr("read audit head", err)
	}
	r := newReport()
	r.ChainHead = ChainHead{Seq: head.Seq, Hash: head.Hash}
	r.Integrity.AuditChain = ChainCheck{OK: true, Events: head.Seq, Head: r.ChainHead}
	r.GeneratedAt = Time{tx.now}
	if r.Path, err = b.s.reportName(ctx, tx); err != nil {
		return err
	}
	return b.s.recordReport(ctx, tx, r, actor, 0)
}

// ItemsInProgress lists a domain's items in progress, so that a generator
// can keep within the attention budget.
func (b *Batch) ItemsInProgress(domain string) ([]string, error) {
	return b.tx.inProgress(b.ctx, domain)
}
