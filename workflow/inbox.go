package workflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/oxygen-tools/oxygen/store"
)

// The inbox is the part of the signal stream that waits for one owner (or,
// without an owner, for a domain): what was sent to the domain, what was sent
// to everyone, and the council calls the reader could approve, minus what the
// reader has acknowledged. Acknowledgements are per owner, so one agent
// clearing its inbox hides nothing from the rest of its domain.

// InboxRequest names whose inbox to read.
type InboxRequest struct {
	Owner  string // "" reads the domain's inbox: signals nobody in it acknowledged
	Domain string
	All    bool // include the audit job's proclamations

	// withAcked keeps acknowledged signals: the briefing lists every council
	// call its reader may approve, read or not.
	withAcked bool
	// sinceID, when set, reads signals from this id on only: status counts a
	// window of the inbox without reading the whole history.
	sinceID int64
}

// InboxEntry is a waiting signal with why it is the reader's.
type InboxEntry struct {
	*Signal
	Why     string `json:"why"`               // "to <domain>", "to all", or "council call you may approve"
	Approve string `json:"approve,omitempty"` // for a council call: the command that approves it
	Ack     string `json:"ack"`               // the command that acknowledges it
}

// Inbox lists the signals waiting for req's reader, oldest first.
func (s *Service) Inbox(ctx context.Context, req InboxRequest) ([]*InboxEntry, error) {
	if _, ok := s.Config.Domain(req.Domain); !ok {
		return nil, Errorf(EINVALID, "--domain %q is not a domain (domains: %s)", req.Domain, strings.Join(s.Config.DomainNames(), ", "))
	}
	var out []*InboxEntry
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		out, err = s.inbox(ctx, tx, req)
		return err
	})
	return out, err
}

func (s *Service) inbox(ctx context.Context, tx *Tx, req InboxRequest) ([]*InboxEntry, error) {
	rows, err := tx.st.SignalsInbox(ctx, store.InboxQuery{SinceID: req.sinceID, Owner: req.Owner, Domain: req.Domain, WithAcked: req.withAcked,
		CouncilAfter: tx.now.Add(-s.Config.Council.TTL), SelfApprove: s.Config.Council.SelfApprove,
		HideOwner: SystemActor.Owner, HideTopic: reportTopicAudit, ShowHidden: req.All})
	if err != nil {
		return nil, storeErr("read inbox", err)
	}
	sigs, err := signalsFromRows(rows)
	if err != nil {
		return nil, err
	}
	out := []*InboxEntry{}
	for _, sig := range sigs {
		who := "WHO"
		if req.Owner != "" {
			who = req.Owner
		}
		sig.File = s.Shown(sig.File)
		e := &InboxEntry{Signal: sig, Why: "to " + sig.To, Ack: fmt.Sprintf("orchestrate signal ack %d --by %s", sig.ID, who)}
		switch {
		case sig.Question:
			e.Why = "question about " + sig.Item + " (answer with a missive on the item)"
		case sig.Kind == KindCouncilCall:
			e.Why = "council call you may approve"
			e.Approve = fmt.Sprintf("orchestrate council approve %d --by %s", sig.ID, who)
		}
		out = append(out, e)
	}
	return out, nil
}

// AckResult lists what an acknowledgement recorded.
type AckResult struct {
	Acknowledged []int64 `json:"acknowledged"`
	Already      []int64 `json:"already"` // acknowledged earlier; nothing recorded again
}

// Ack records that actor has read signals ids, all or none: an id that does
// not exist, or a signal addressed neither to actor's domain nor to
// everyone, refuses the whole call.
func (s *Service) Ack(ctx context.Context, actor Actor, ids []int64) (*AckResult, error) {
	if len(ids) == 0 {
		return nil, Errorf(EINVALID, "name the signals to acknowledge: orchestrate signal ack N... (see orchestrate signal inbox)")
	}
	seen := map[int64]bool{}
	var unique []int64
	for _, id := range ids {
		if id < 1 {
			return nil, Errorf(EINVALID, "%d is not a signal id", id)
		}
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	res := &AckResult{Acknowledged: []int64{}, Already: []int64{}}
	err := s.write(ctx, func(tx *Tx) error {
		for _, id := range unique {
			sig, err := tx.getSignal(ctx, id)
			if err != nil {
				return err
			}
			if sig.To != actor.Domain && sig.To != ToAll {
				return Errorf(EINVALID, "signal %d is addressed to %s, not to %s (%s); see orchestrate signal inbox --owner %s", id, sig.To, actor.Owner, actor.Domain, actor.Owner)
			}
			recorded, err := tx.st.SignalAckInsertIf(ctx, store.SignalAck{SignalID: id, Owner: actor.Owner, Domain: actor.Domain, AckedAt: tx.now})
			if err != nil {
				return storeErr("record acknowledgement", err)
			}
			if !recorded {
				res.Already = append(res.Already, id)
				continue
			}
			if err := tx.audit(ctx, actor.Owner, "signal.ack", fmt.Sprintf("signal:%d", id), map[string]any{"domain": actor.Domain, "kind": sig.Kind}); err != nil {
				return err
			}
			res.Acknowledged = append(res.Acknowledged, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
