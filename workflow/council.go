package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

// Council call states. A call is pending until approved, denied, withdrawn
// or, unanswered past council.ttl, expired; an approved call is consumed by
// the move that uses it.
type CouncilState = store.CouncilState

const (
	CouncilPending   = store.CouncilPending
	CouncilApproved  = store.CouncilApproved
	CouncilConsumed  = store.CouncilConsumed
	CouncilDenied    = store.CouncilDenied
	CouncilWithdrawn = store.CouncilWithdrawn
	CouncilExpired   = store.CouncilExpired
	// CouncilQuestion is a call that asks (council call --question): it
	// has no approval, so it stays a question until its asker withdraws it.
	CouncilQuestion = store.CouncilQuestion
)

// CouncilCall is a council_call signal with its approval state.
type CouncilCall struct {
	*Signal
	State      CouncilState `json:"state"`
	ApprovedBy string       `json:"approved_by"`
	ApprovedAt Time         `json:"approved_at"`
	ConsumedAt Time         `json:"consumed_at"`
	ConsumedBy string       `json:"consumed_by"`
	Action     string       `json:"consumed_action"`
	EndedBy    string       `json:"ended_by,omitempty"` // who denied or withdrew it
	EndReason  string       `json:"end_reason,omitempty"`
	EndedAt    *Time        `json:"ended_at,omitempty"`
	ExpiresAt  Time         `json:"expires_at"`
}

// CallCouncil records a council_call for an item: a request to exceed the
// item's domain's attention budget once.
func (s *Service) CallCouncil(ctx context.Context, item string, from Actor, reason string) (*Signal, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, Errorf(EINVALID, "--reason is required: say why the cap should be exceeded")
	}
	if err := checkLine("--reason", reason); err != nil {
		return nil, err
	}
	if item == "" {
		return nil, Errorf(EINVALID, "--item is required")
	}
	return s.SendSignal(ctx, SignalSpec{Kind: KindCouncilCall, From: from.Owner, FromDomain: from.Domain, To: ToAll, Item: item, Body: reason})
}

// AskCouncil records a council_call that asks a question about an item,
// for when the task is ambiguous. Unlike CallCouncil it overrides no cap:
// it has no approval and no move can spend it (--council refuses it), and
// it may be about an item in any state. It goes to every domain unless to
// names one; answers come back as signals on the item, which its capsule
// lists.
func (s *Service) AskCouncil(ctx context.Context, item string, from Actor, question, to string) (*Signal, error) {
	if strings.TrimSpace(question) == "" {
		return nil, Errorf(EINVALID, "--question is required: say what is unclear")
	}
	if err := checkLine("--question", question); err != nil {
		return nil, err
	}
	if item == "" {
		return nil, Errorf(EINVALID, "--item is required")
	}
	return s.SendSignal(ctx, SignalSpec{Kind: KindCouncilCall, From: from.Owner, FromDomain: from.Domain, To: to, Item: item, Body: question, Question: true})
}

// AskCommand is the exact command that asks the council about item, for
// the capsule's drift guard: the asker fills in the question.
func AskCommand(item, owner, domain string) string {
	return fmt.Sprintf(`orchestrate council call --item %s --from %s --domain %s --question "what is unclear, and the options you see"`, item, owner, domain)
}

// questionError refuses to treat a question as an override request.
func questionError(id int64, what string) error {
	return Errorf(EINVALID, "council_call %d is a question: it overrides no cap, so it %s; answer it with a missive on its item, and raise an override with orchestrate council call --item ID --reason \"why\"", id, what)
}

// ApproveCouncil approves council_call id. The approver must not be the
// owner who raised the call, whatever domain they claim to act for: a
// domain named on the command line is only a claim, so the caller could
// otherwise approve their own call by passing another domain. The approver
// must also come from a domain other than the item's, unless
// council.self_approve is set; that setting never lets the caller approve
// (see mayAnswer).
func (s *Service) ApproveCouncil(ctx context.Context, id int64, by Actor, note string) (*CouncilCall, error) {
	if err := checkLine("--note", note); err != nil {
		return nil, err
	}
	var call *CouncilCall
	err := s.write(ctx, func(tx *Tx) error {
		existing, err := s.councilFor(ctx, tx, id)
		if err != nil {
			return err
		}
		switch existing.State {
		case CouncilPending:
		case CouncilQuestion:
			return questionError(id, "has no approval")
		case CouncilApproved, CouncilConsumed:
			return Errorf(ECONFLICT, "council_call %d is already %s (approved by %s at %s)", id, existing.State, existing.ApprovedBy, existing.ApprovedAt)
		default:
			return Errorf(ECONFLICT, "council_call %d is %s; raise a new one: orchestrate council call --item %s --from WHO --reason \"...\"", id, existing.State, existing.Item)
		}
		if err := s.mayAnswer(ctx, tx, existing, by, "approve"); err != nil {
			return err
		}
		if err := tx.st.CouncilApprovalInsert(ctx, store.CouncilApproval{SignalID: id, ItemID: existing.Item, ApprovedBy: by.Owner, ApproverDomain: by.Domain,
			ApprovedAt: tx.now, Note: note}); err != nil {
			return storeErr("record council approval", err)
		}
		if err := tx.audit(ctx, by.Owner, "council.approve", fmt.Sprintf("signal:%d", id), map[string]any{"item": existing.Item, "approver_domain": by.Domain, "note": note}); err != nil {
			return err
		}
		call, err = s.councilFor(ctx, tx, id)
		return err
	})
	return call, err
}

// councilCall reads a call's state: its outcome (denied or withdrawn), its
// approval and use, or, pending past ttl, expired; a question that was not
// withdrawn stays a question.
func (tx *Tx) councilCall(ctx context.Context, sig *Signal, ttl time.Duration) (*CouncilCall, error) {
	call := &CouncilCall{Signal: sig, State: CouncilPending, ExpiresAt: Time{sig.CreatedAt.Add(ttl)}}
	outcome, ended, err := tx.st.CouncilOutcomeGet(ctx, sig.ID)
	if err != nil {
		return nil, storeErr("read council outcome", err)
	}
	if ended {
		call.State, call.EndedBy, call.EndReason, call.EndedAt = outcome.Outcome, outcome.ByOwner, outcome.Reason, &Time{outcome.At}
		return call, nil
	}
	if sig.Question {
		call.State, call.ExpiresAt = CouncilQuestion, Time{}
		return call, nil
	}
	approval, approved, err := tx.st.CouncilApprovalGet(ctx, sig.ID)
	if err != nil {
		return nil, storeErr("read council approval", err)
	}
	if !approved {
		if !tx.now.Before(call.ExpiresAt.Time) {
			call.State = CouncilExpired
		}
		return call, nil
	}
	call.State = CouncilApproved
	call.ApprovedBy, call.ApprovedAt = approval.ApprovedBy, Time{approval.ApprovedAt}
	if !approval.ConsumedAt.IsZero() {
		call.State = CouncilConsumed
		call.ConsumedAt = Time{approval.ConsumedAt}
		call.ConsumedBy = approval.ConsumedBy
		call.Action = approval.ConsumedAction
	}
	return call, nil
}

// councilFor loads council_call id for a command that answers it.
func (s *Service) councilFor(ctx context.Context, tx *Tx, id int64) (*CouncilCall, error) {
	sig, err := tx.getSignal(ctx, id)
	if err != nil {
		return nil, err
	}
	if sig.Kind != KindCouncilCall {
		return nil, Errorf(EINVALID, "signal %d is a %s, not a council_call", id, sig.Kind)
	}
	return tx.councilCall(ctx, sig, s.Config.Council.TTL)
}

// mayAnswer checks that by may approve or deny a call: not its caller,
// whatever domain they claim, and from a domain other than the item's
// unless council.self_approve is set.
func (s *Service) mayAnswer(ctx context.Context, tx *Tx, call *CouncilCall, by Actor, verb string) error {
	it, err := tx.getItem(ctx, call.Item)
	if err != nil {
		return err
	}
	if by.Owner == call.From {
		return Errorf(EDENIED, "%s raised council_call %d and cannot %s it, whatever domain they act for: someone else, from a domain other than %s's, runs orchestrate council %s %d --by WHO", by.Owner, call.ID, verb, it.ID, verb, call.ID)
	}
	if by.Domain == it.Domain && !s.Config.Council.SelfApprove {
		return Errorf(EDENIED, "%s acts for %s, the domain of %s: a council_call must be %s from another domain (or set council.self_approve: true)", by.Owner, by.Domain, it.ID, map[string]string{"approve": "approved", "deny": "denied"}[verb])
	}
	return nil
}

// DenyCouncil answers a pending call with no: it ends, and its caller's
// domain is told why.
func (s *Service) DenyCouncil(ctx context.Context, id int64, by Actor, reason string) (*CouncilCall, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, Errorf(EINVALID, "--reason is required: say why the cap must hold")
	}
	return s.endCouncil(ctx, id, by, reason, CouncilDenied, func(tx *Tx, call *CouncilCall) error {
		if call.State == CouncilQuestion {
			return questionError(id, "cannot be denied")
		}
		if call.State != CouncilPending {
			return Errorf(ECONFLICT, "council_call %d is %s; only a pending call can be denied", id, call.State)
		}
		return s.mayAnswer(ctx, tx, call, by, "deny")
	})
}

// WithdrawCouncil lets whoever raised a call take it back, before it is
// used.
func (s *Service) WithdrawCouncil(ctx context.Context, id int64, by Actor, reason string) (*CouncilCall, error) {
	return s.endCouncil(ctx, id, by, reason, CouncilWithdrawn, func(tx *Tx, call *CouncilCall) error {
		if by.Owner != call.From {
			return Errorf(EDENIED, "council_call %d was raised by %s: only they may withdraw it (others deny it: orchestrate council deny %d --by WHO --reason ...)", id, call.From, id)
		}
		if call.State != CouncilPending && call.State != CouncilApproved && call.State != CouncilQuestion {
			return Errorf(ECONFLICT, "council_call %d is %s; only a pending or unused approved call, or a question, can be withdrawn", id, call.State)
		}
		return nil
	})
}

func (s *Service) endCouncil(ctx context.Context, id int64, by Actor, reason string, outcome CouncilState, check func(*Tx, *CouncilCall) error) (*CouncilCall, error) {
	if err := checkLine("--reason", reason); err != nil {
		return nil, err
	}
	var out *CouncilCall
	err := s.write(ctx, func(tx *Tx) error {
		call, err := s.councilFor(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := check(tx, call); err != nil {
			return err
		}
		if err := tx.st.CouncilOutcomeInsert(ctx, store.CouncilOutcome{SignalID: id, Outcome: outcome, ByOwner: by.Owner, ByDomain: by.Domain,
			Reason: reason, At: tx.now}); err != nil {
			return storeErr("record council outcome", err)
		}
		verb := map[CouncilState]string{CouncilDenied: "deny", CouncilWithdrawn: "withdraw"}[outcome]
		if err := tx.audit(ctx, by.Owner, "council."+verb, fmt.Sprintf("signal:%d", id), map[string]any{"item": call.Item, "by_domain": by.Domain, "reason": reason}); err != nil {
			return err
		}
		if outcome == CouncilDenied {
			body := fmt.Sprintf("%s (%s) denied council_call %d for %s: %s", by.Owner, by.Domain, id, call.Item, reason)
			if _, err := tx.emit(ctx, s.Config, s.Root, SignalSpec{Kind: KindMissive, Topic: "council-denied", From: by.Owner, FromDomain: by.Domain,
				To: call.FromDomain, Item: call.Item, Body: body}); err != nil {
				return err
			}
		}
		out, err = s.councilFor(ctx, tx, id)
		return err
	})
	return out, err
}

// ListCouncil lists council_calls, optionally only those awaiting approval
// (never questions: they await an answer, not an approval).
func (s *Service) ListCouncil(ctx context.Context, pendingOnly bool) ([]*CouncilCall, error) {
	out := []*CouncilCall{}
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.listCouncil(ctx, pendingOnly, s.Config.Council.TTL)
		return err
	})
	return out, err
}

func (tx *Tx) listCouncil(ctx context.Context, pendingOnly bool, ttl time.Duration) ([]*CouncilCall, error) {
	sigs, err := tx.listSignals(ctx, SignalFilter{Kind: KindCouncilCall})
	if err != nil {
		return nil, err
	}
	out := []*CouncilCall{}
	for _, sig := range sigs {
		call, err := tx.councilCall(ctx, sig, ttl)
		if err != nil {
			return nil, err
		}
		if pendingOnly && call.State != CouncilPending {
			continue
		}
		out = append(out, call)
	}
	return out, nil
}

// lookupCouncil checks that council_call id exists, for the "not found"
// stage of a move's checks.
func (tx *Tx) lookupCouncil(ctx context.Context, id int64) (*Signal, error) {
	sig, err := tx.getSignal(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "--council %d: no such signal", id)
	}
	return sig, err
}

// consumeCouncil spends an approved council_call on one move of one item. The
// guarded UPDATE makes the single use hold even against a concurrent move.
func (tx *Tx) consumeCouncil(ctx context.Context, sig *Signal, ttl time.Duration, item, actor, action string) error {
	if sig.Kind != KindCouncilCall {
		return Errorf(EDENIED, "--council %d is a %s, not a council_call", sig.ID, sig.Kind)
	}
	if sig.Item != item {
		return Errorf(EDENIED, "council_call %d is for item %s, not %s", sig.ID, sig.Item, item)
	}
	call, err := tx.councilCall(ctx, sig, ttl)
	if err != nil {
		return err
	}
	switch call.State {
	case CouncilPending:
		return Errorf(EDENIED, "council_call %d is not approved yet: orchestrate council approve %d --by WHO (from a domain other than the item's)", sig.ID, sig.ID)
	case CouncilConsumed:
		return Errorf(EDENIED, "council_call %d was already used at %s (%s); raise a new one", sig.ID, call.ConsumedAt, call.Action)
	case CouncilDenied, CouncilWithdrawn, CouncilExpired:
		return Errorf(EDENIED, "council_call %d was %s; raise a new one", sig.ID, call.State)
	}
	consumed, err := tx.st.CouncilApprovalConsumeIf(ctx, sig.ID, tx.now, actor, action)
	if err != nil {
		return storeErr("consume council approval", err)
	}
	if !consumed {
		return Errorf(EDENIED, "council_call %d was already used; raise a new one", sig.ID)
	}
	return tx.audit(ctx, actor, "council.consume", fmt.Sprintf("signal:%d", sig.ID), map[string]any{"item": item, "action": action})
}
