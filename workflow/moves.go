package workflow

import (
	"context"
	"fmt"
	"strings"
)

// MoveRequest is a status change on one item. By is the actor; when empty
// the item's owner acts. ByDomain, when known, is the actor's domain and is
// used as the sender of any signal the move emits.
type MoveRequest struct {
	ID       string
	By       string
	ByDomain string
	Reason   string
	Council  int64
}

// AssignRequest starts an item: open -> in_progress, owned by Owner.
type AssignRequest struct {
	ID      string
	Owner   string
	Domain  string // explicit --domain for Owner
	By      string // who runs the command; Owner when empty
	Council int64
	Reason  string
}

// AssignResult is what assign did: the item, and the council_call it used.
type AssignResult struct {
	Item    *Item
	Council int64
	Capsule *Capsule
}

// Assign starts an item. Checks run in the protocol's order: invalid input,
// not found, wrong state or unmet dependencies, then budget and policy.
func (s *Service) Assign(ctx context.Context, req AssignRequest) (*AssignResult, error) {
	if err := checkItemID("item", req.ID); err != nil {
		return nil, err
	}
	if req.Council < 0 {
		return nil, Errorf(EINVALID, "--council %d is not a signal id", req.Council)
	}
	ownerDomain, err := s.Config.ResolveDomain(req.Owner, req.Domain, "")
	if err != nil {
		return nil, err
	}
	actor := req.By
	if actor == "" {
		actor = req.Owner
	}
	if err := checkOwnerName("--by", actor); err != nil {
		return nil, err
	}
	tmpl, err := s.loadTemplate()
	if err != nil {
		return nil, err
	}
	res := &AssignResult{}
	err = s.write(ctx, func(tx *Tx) error {
		it, err := tx.getItem(ctx, req.ID)
		if err != nil {
			return err
		}
		council, err := s.councilArg(ctx, tx, req.Council)
		if err != nil {
			return err
		}
		if _, err := CheckMove("assign", it.ID, it.Status); err != nil {
			return err
		}
		if err := tx.requireDepsDone(ctx, it); err != nil {
			return err
		}
		if ownerDomain != it.Domain {
			return Errorf(EDENIED, "%s acts for %s, but %s belongs to %s: domains own their items (assign someone from %s, or hand it over with a missive)",
				req.Owner, ownerDomain, it.ID, it.Domain, it.Domain)
		}
		if err := tx.admit(ctx, s.Config, it, actor, req.Owner, council, "assign"); err != nil {
			return err
		}
		if council != nil {
			res.Council = council.ID
		}
		if err := tx.move(ctx, it, StatusInProgress, req.Owner, actor, req.Reason, res.Council, moveOptions{}); err != nil {
			return err
		}
		res.Item = it
		// The missive goes first, so the capsule lists it among the recent
		// signals: regenerating right after assign then changes nothing.
		files := s.collectFiles(it)
		refs := append([]string{s.workingCopyPath(it.ID)}, embeddedPaths(files)...)
		if _, err := tx.emit(ctx, s.Config, s.Root, SignalSpec{Kind: KindMissive, Topic: "assignment", From: actor, FromDomain: it.Domain,
			To: it.Domain, Item: it.ID, Body: fmt.Sprintf("%s assigned to %s: %s", it.ID, req.Owner, it.Title), Refs: refs}); err != nil {
			return err
		}
		res.Capsule, _, err = s.writeCapsule(ctx, tx, tmpl, it, files, actor, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, s.writeWorkingCopy(res.Capsule)
}

// councilArg looks up a --council signal, so that a missing one is reported
// as "not found" before any state or budget check.
func (s *Service) councilArg(ctx context.Context, tx *Tx, id int64) (*Signal, error) {
	if id == 0 {
		return nil, nil
	}
	sig, err := tx.lookupCouncil(ctx, id)
	if err != nil {
		return nil, err
	}
	if sig.Kind != KindCouncilCall {
		return nil, Errorf(EINVALID, "--council %d is a %s, not a council_call", id, sig.Kind)
	}
	return sig, nil
}

// checkItemID refuses an id that cannot name an item, before any lookup.
func checkItemID(what, id string) error {
	if !validItemID(id) {
		return Errorf(EINVALID, "%s %q is not an item id (a letter, then letters, digits, . _ -; at most 64)", what, id)
	}
	return nil
}

func (tx *Tx) requireDepsDone(ctx context.Context, it *Item) error {
	var pending []string
	for _, d := range it.DependsOn {
		dep, err := tx.getItem(ctx, d)
		if err != nil {
			return err
		}
		if dep.Status != StatusDone {
			pending = append(pending, fmt.Sprintf("%s (%s)", d, dep.Status))
		}
	}
	if len(pending) > 0 {
		return Errorf(ECONFLICT, "%s depends on items that are not done: %s", it.ID, strings.Join(pending, ", "))
	}
	return nil
}

// inProgress lists the domain's items in progress.
func (tx *Tx) inProgress(ctx context.Context, domain string) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT id FROM items WHERE domain = ? AND status = 'in_progress' ORDER BY updated_at, id`, domain)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, storeErr("read items", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// admit enforces the attention budget for a move into in_progress. The count
// and the move share one BEGIN IMMEDIATE transaction, so concurrent moves
// cannot both squeeze under the cap. A council_call, when given, is spent.
func (tx *Tx) admit(ctx context.Context, cfg *Config, it *Item, actor, owner string, council *Signal, action string) error {
	dom, _ := cfg.Domain(it.Domain)
	busy, err := tx.inProgress(ctx, it.Domain)
	if err != nil {
		return err
	}
	if len(busy) >= dom.MaxInProgress && council == nil {
		return Errorf(EDENIED, "attention budget: %s already has %d of %d items in progress (%s); to go over it once, raise a council call: orchestrate council call --item %s --from %s --reason \"why this cannot wait\", have another domain approve it, then pass --council N",
			it.Domain, len(busy), dom.MaxInProgress, strings.Join(busy, ", "), it.ID, owner)
	}
	if council != nil {
		return tx.consumeCouncil(ctx, council, it.ID, actor, action)
	}
	return nil
}

// Moved is an item after a transition, with the status it left.
type Moved struct {
	*Item
	From Status `json:"-"`
}

// moveOptions carry what only some moves record: how a completion was
// verified ("passed" or "skipped"), and extra audit payload.
type moveOptions struct {
	verification string
	extra        map[string]any
}

// moveItem runs one command's transition: load, check, move.
func (s *Service) moveItem(ctx context.Context, req MoveRequest, command string, reasonRequired bool, after func(tx *Tx, it *Item, actor string) error, opts ...moveOptions) (*Moved, error) {
	var opt moveOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	to := Commands[command].To
	if err := checkItemID("item", req.ID); err != nil {
		return nil, err
	}
	if reasonRequired && strings.TrimSpace(req.Reason) == "" {
		return nil, Errorf(EINVALID, "--reason is required")
	}
	if req.Council < 0 {
		return nil, Errorf(EINVALID, "--council %d is not a signal id", req.Council)
	}
	if req.By != "" {
		if err := checkOwnerName("--by", req.By); err != nil {
			return nil, err
		}
	}
	var out *Moved
	err := s.write(ctx, func(tx *Tx) error {
		it, err := tx.getItem(ctx, req.ID)
		if err != nil {
			return err
		}
		var council *Signal
		if to == StatusInProgress {
			if council, err = s.councilArg(ctx, tx, req.Council); err != nil {
				return err
			}
		} else if req.Council != 0 {
			return Errorf(EINVALID, "--council only applies to moves into in_progress")
		}
		actor := req.By
		if actor == "" {
			actor = it.Owner
		}
		if actor == "" {
			return Errorf(EINVALID, "who is acting? %s has no owner: pass --by or set OXYGEN_OWNER", it.ID)
		}
		if _, err := CheckMove(command, it.ID, it.Status); err != nil {
			return err
		}
		out = &Moved{From: it.Status}
		owner := it.Owner
		switch to {
		case StatusOpen:
			owner = ""
		case StatusInProgress:
			if err := tx.admit(ctx, s.Config, it, actor, owner, council, "unblock"); err != nil {
				return err
			}
		}
		var councilID int64
		if council != nil {
			councilID = council.ID
		}
		if err := tx.move(ctx, it, to, owner, actor, req.Reason, councilID, opt); err != nil {
			return err
		}
		if after != nil {
			if err := after(tx, it, actor); err != nil {
				return err
			}
		}
		out.Item = it
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Unassign returns an item in progress to open, clearing its owner.
func (s *Service) Unassign(ctx context.Context, req MoveRequest) (*Moved, error) {
	return s.moveItem(ctx, req, "unassign", false, nil)
}

// Block parks an item in progress; blocked items do not count against the
// attention budget.
func (s *Service) Block(ctx context.Context, req MoveRequest) (*Moved, error) {
	return s.moveItem(ctx, req, "block", true, nil)
}

// Unblock resumes a blocked item, subject to the attention budget.
func (s *Service) Unblock(ctx context.Context, req MoveRequest) (*Moved, error) {
	return s.moveItem(ctx, req, "unblock", false, nil)
}

// Reopen puts a finished or abandoned item back to open.
func (s *Service) Reopen(ctx context.Context, req MoveRequest) (*Moved, error) {
	return s.moveItem(ctx, req, "reopen", true, nil)
}

// DeadEnd abandons an item and emits a dead_end signal holding the reason.
func (s *Service) DeadEnd(ctx context.Context, req MoveRequest) (*Moved, error) {
	return s.moveItem(ctx, req, "dead-end", true, func(tx *Tx, it *Item, actor string) error {
		from := req.ByDomain
		if from == "" {
			from = it.Domain
		}
		_, err := tx.emit(ctx, s.Config, s.Root, SignalSpec{Kind: KindDeadEnd, Topic: it.ID, From: actor, FromDomain: from,
			To: it.Domain, Item: it.ID, Body: req.Reason})
		return err
	})
}
