package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// CouncilCall is a council_call signal with its approval state.
type CouncilCall struct {
	*Signal
	State      string `json:"state"` // pending, approved or consumed
	ApprovedBy string `json:"approved_by"`
	ApprovedAt Time   `json:"approved_at"`
	ConsumedAt Time   `json:"consumed_at"`
	ConsumedBy string `json:"consumed_by"`
	Action     string `json:"consumed_action"`
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

// ApproveCouncil approves council_call id. The approver must not be the
// owner who raised the call, whatever domain they claim to act for: a
// domain named on the command line is only a claim, so the caller could
// otherwise approve their own call by passing another domain. The approver
// must also come from a domain other than the item's, unless
// council.self_approve is set; that setting never lets the caller approve.
func (s *Service) ApproveCouncil(ctx context.Context, id int64, by Actor, note string) (*CouncilCall, error) {
	if err := checkLine("--note", note); err != nil {
		return nil, err
	}
	var call *CouncilCall
	err := s.write(ctx, func(tx *Tx) error {
		sig, err := tx.getSignal(ctx, id)
		if err != nil {
			return err
		}
		if sig.Kind != KindCouncilCall {
			return Errorf(EINVALID, "signal %d is a %s, not a council_call", id, sig.Kind)
		}
		existing, err := tx.councilCall(ctx, sig)
		if err != nil {
			return err
		}
		if existing.State != "pending" {
			return Errorf(ECONFLICT, "council_call %d is already %s (approved by %s at %s)", id, existing.State, existing.ApprovedBy, existing.ApprovedAt)
		}
		it, err := tx.getItem(ctx, sig.Item)
		if err != nil {
			return err
		}
		if by.Domain == it.Domain && !s.Config.Council.SelfApprove {
			return Errorf(EDENIED, "%s acts for %s, the domain of %s: a council_call must be approved from another domain (or set council.self_approve: true)", by.Owner, by.Domain, it.ID)
		}
		if by.Owner == sig.From {
			return Errorf(EDENIED, "%s raised council_call %d and cannot approve it, whatever domain they act for: someone else, from a domain other than %s's, approves it with: orchestrate council approve %d --by WHO", by.Owner, id, it.ID, id)
		}
		if _, err := tx.exec(ctx, `INSERT INTO council_approvals (signal_id, item_id, approved_by, approver_domain, approved_at, note) VALUES (?, ?, ?, ?, ?, ?)`,
			id, it.ID, by.Owner, by.Domain, ms(tx.now), note); err != nil {
			return err
		}
		if err := tx.audit(ctx, by.Owner, "council.approve", fmt.Sprintf("signal:%d", id), map[string]any{"item": it.ID, "approver_domain": by.Domain, "note": note}); err != nil {
			return err
		}
		call, err = tx.councilCall(ctx, sig)
		return err
	})
	return call, err
}

func (tx *Tx) councilCall(ctx context.Context, sig *Signal) (*CouncilCall, error) {
	call := &CouncilCall{Signal: sig, State: "pending"}
	var approvedAt int64
	var consumedAt sql.NullInt64
	var consumedBy, action sql.NullString
	err := tx.queryRow(ctx, `SELECT approved_by, approved_at, consumed_at, consumed_by, consumed_action FROM council_approvals WHERE signal_id = ?`, sig.ID).
		Scan(&call.ApprovedBy, &approvedAt, &consumedAt, &consumedBy, &action)
	if errors.Is(err, sql.ErrNoRows) {
		return call, nil
	}
	if err != nil {
		return nil, storeErr("read council approval", err)
	}
	call.State = "approved"
	call.ApprovedAt = fromMS(approvedAt)
	if consumedAt.Valid {
		call.State = "consumed"
		call.ConsumedAt = fromMS(consumedAt.Int64)
		call.ConsumedBy = consumedBy.String
		call.Action = action.String
	}
	return call, nil
}

// ListCouncil lists council_calls, optionally only those awaiting approval.
func (s *Service) ListCouncil(ctx context.Context, pendingOnly bool) ([]*CouncilCall, error) {
	out := []*CouncilCall{}
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.listCouncil(ctx, pendingOnly)
		return err
	})
	return out, err
}

func (tx *Tx) listCouncil(ctx context.Context, pendingOnly bool) ([]*CouncilCall, error) {
	sigs, err := tx.listSignals(ctx, SignalFilter{Kind: KindCouncilCall})
	if err != nil {
		return nil, err
	}
	out := []*CouncilCall{}
	for _, sig := range sigs {
		call, err := tx.councilCall(ctx, sig)
		if err != nil {
			return nil, err
		}
		if pendingOnly && call.State != "pending" {
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
func (tx *Tx) consumeCouncil(ctx context.Context, sig *Signal, item, actor, action string) error {
	if sig.Kind != KindCouncilCall {
		return Errorf(EDENIED, "--council %d is a %s, not a council_call", sig.ID, sig.Kind)
	}
	if sig.Item != item {
		return Errorf(EDENIED, "council_call %d is for item %s, not %s", sig.ID, sig.Item, item)
	}
	call, err := tx.councilCall(ctx, sig)
	if err != nil {
		return err
	}
	switch call.State {
	case "pending":
		return Errorf(EDENIED, "council_call %d is not approved yet: orchestrate council approve %d --by WHO (from a domain other than the item's)", sig.ID, sig.ID)
	case "consumed":
		return Errorf(EDENIED, "council_call %d was already used at %s (%s); raise a new one", sig.ID, call.ConsumedAt, call.Action)
	}
	res, err := tx.exec(ctx, `UPDATE council_approvals SET consumed_at = ?, consumed_by = ?, consumed_action = ? WHERE signal_id = ? AND consumed_at IS NULL`,
		ms(tx.now), actor, action, sig.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Errorf(EDENIED, "council_call %d was already used; raise a new one", sig.ID)
	}
	return tx.audit(ctx, actor, "council.consume", fmt.Sprintf("signal:%d", sig.ID), map[string]any{"item": item, "action": action})
}
