package workflow

import (
	"context"
	"strings"

	"github.com/oxygen-tools/oxygen/store"
)

// Status is a work item's place in the state machine.
type Status = store.ItemStatus

const (
	StatusOpen       = store.ItemOpen
	StatusInProgress = store.ItemInProgress
	StatusBlocked    = store.ItemBlocked
	StatusDone       = store.ItemDone
	StatusDeadEnd    = store.ItemDeadEnd
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusOpen, StatusInProgress, StatusBlocked, StatusDone, StatusDeadEnd}

// transitions is the state machine. The migration's CHECK constraint and
// trigger list the same edges; a test keeps the three in step.
var transitions = map[Status][]Status{
	StatusOpen:       {StatusInProgress, StatusDeadEnd},
	StatusInProgress: {StatusOpen, StatusBlocked, StatusDone, StatusDeadEnd},
	StatusBlocked:    {StatusInProgress, StatusDeadEnd},
	StatusDone:       {StatusOpen},
	StatusDeadEnd:    {StatusOpen},
}

// ValidStatus reports whether s names a status.
func ValidStatus(s string) bool {
	for _, v := range Statuses {
		if string(v) == s {
			return true
		}
	}
	return false
}

// Commands name the moves people make. Each starts from some statuses and
// ends in one; together they are exactly the edges of the state machine.
var Commands = map[string]struct {
	From []Status
	To   Status
}{
	"assign":   {[]Status{StatusOpen}, StatusInProgress},
	"unassign": {[]Status{StatusInProgress}, StatusOpen},
	"block":    {[]Status{StatusInProgress}, StatusBlocked},
	"unblock":  {[]Status{StatusBlocked}, StatusInProgress},
	"done":     {[]Status{StatusInProgress}, StatusDone},
	"dead-end": {[]Status{StatusOpen, StatusInProgress, StatusBlocked}, StatusDeadEnd},
	"reopen":   {[]Status{StatusDone, StatusDeadEnd}, StatusOpen},
}

// CheckMove validates a command on an item in status from and returns the
// status it leads to. It is the check every command makes before moving.
func CheckMove(command, id string, from Status) (Status, error) {
	c, ok := Commands[command]
	if !ok {
		return "", Errorf(EINTERNAL, "unknown move %q", command)
	}
	for _, f := range c.From {
		if f == from {
			return c.To, CheckTransition(id, from, c.To)
		}
	}
	var froms []string
	for _, f := range c.From {
		froms = append(froms, string(f))
	}
	return "", Errorf(ECONFLICT, "item %s is %s; %s moves %s items to %s", id, from, command, strings.Join(froms, " or "), c.To)
}

// CheckTransition is the one validator every status change goes through:
// the edge must be in the state machine.
func CheckTransition(id string, from, to Status) error {
	for _, allowed := range transitions[from] {
		if allowed == to {
			return nil
		}
	}
	var next []string
	for _, s := range transitions[from] {
		next = append(next, string(s))
	}
	return Errorf(ECONFLICT, "item %s is %s; it cannot move to %s (from %s it can move to %s)", id, from, to, from, strings.Join(next, ", "))
}

// Transition is one recorded status change.
type Transition struct {
	At      Time   `json:"at"`
	From    Status `json:"from"`
	To      Status `json:"to"`
	Actor   string `json:"actor"`
	Reason  string `json:"reason"`
	Council *int64 `json:"council"`
}

// move changes an item's status. It is the only code that writes
// items.status after creation: it validates the edge, records the history row
// and the audit event, all in the caller's transaction.
func (tx *Tx) move(ctx context.Context, it *Item, to Status, owner, actor, reason string, council int64, opt moveOptions) error {
	verification, extra := opt.verification, opt.extra
	if err := CheckTransition(it.ID, it.Status, to); err != nil {
		return err
	}
	from := it.Status
	moved, err := tx.st.ItemSetStatusIf(ctx, it.ID, from, to, owner, tx.now)
	if err != nil {
		return storeErr("move item", err)
	}
	if !moved {
		return Errorf(ECONFLICT, "item %s changed while this command ran", it.ID)
	}
	if err := tx.st.ItemTransitionInsert(ctx, store.ItemTransition{Item: it.ID, From: from, To: to, Actor: actor, Reason: reason,
		Council: council, At: tx.now, Verification: verification}); err != nil {
		return storeErr("record item history", err)
	}
	payload := map[string]any{"from": from, "to": to, "owner": owner, "reason": reason}
	if verification != "" {
		payload["verification"] = verification
	}
	if council > 0 {
		payload["council"] = council
	}
	for k, v := range extra {
		payload[k] = v
	}
	if err := tx.audit(ctx, actor, "item.transition", "item:"+it.ID, payload); err != nil {
		return err
	}
	// An item that leaves in_progress other than for blocked has no brief
	// in use any more: assign makes a new one.
	if to != StatusInProgress && to != StatusBlocked {
		if err := tx.unwatchItem(ctx, it.ID); err != nil {
			return err
		}
	}
	it.Status, it.Owner, it.UpdatedAt = to, owner, Time{tx.now}
	return nil
}
