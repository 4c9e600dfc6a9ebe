package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// MoveRequest is a status change on one item. By is the actor, required:
// the item's owner or a member of its domain. Domain is an explicit
// --domain for By and EnvDomain OXYGEN_DOMAIN when By came from
// OXYGEN_OWNER; both are checked against the config.
type MoveRequest struct {
	ID        string
	By        string
	Domain    string
	EnvDomain string
	Reason    string
	Council   int64
}

// moveActor checks who makes a move and returns the domain they act for.
// The item's owner may always move it; anyone else must belong to the
// item's domain. A domain that does not exist or contradicts the agents
// map is invalid input, whoever gives it.
func (s *Service) moveActor(req MoveRequest, it *Item, command string) (string, error) {
	if req.By == it.Owner && req.Domain == "" && req.EnvDomain == "" {
		return it.Domain, nil
	}
	domain, err := s.Config.ResolveDomain(req.By, req.Domain, req.EnvDomain)
	if req.By == it.Owner && err != nil && req.Domain == "" {
		return it.Domain, nil // the owner's own item; OXYGEN_DOMAIN may be another owner's
	}
	if err != nil {
		return "", err
	}
	if req.By != it.Owner && domain != it.Domain {
		who := "a member of " + it.Domain
		if it.Owner != "" {
			who = "its owner " + it.Owner + " or " + who
		}
		return "", Errorf(EDENIED, "%s acts for %s, but %s belongs to %s: only %s may %s it (hand it over with a missive: orchestrate signal send --kind missive --to %s --item %s --body \"...\")",
			req.By, domain, it.ID, it.Domain, who, command, it.Domain, it.ID)
	}
	return domain, nil
}

// AssignRequest starts an item: open -> in_progress, owned by Owner.
type AssignRequest struct {
	ID          string
	Owner       string
	Domain      string // explicit --domain for Owner
	By          string // who runs the command; Owner when empty
	ByEnvDomain string // OXYGEN_DOMAIN, when By came from OXYGEN_OWNER
	Council     int64
	Reason      string
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
	if err := checkLine("--reason", req.Reason); err != nil {
		return nil, err
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
	res := &AssignResult{}
	err = s.writeWithCapsule(ctx, req.ID, func(tx *Tx, in *capsuleInputs) error {
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
		if actor != req.Owner {
			if _, err := s.moveActor(MoveRequest{By: actor, EnvDomain: req.ByEnvDomain}, it, "assign"); err != nil {
				return err
			}
		}
		if err := tx.admit(ctx, s.Config, it, actor, req.Owner, council, "assign"); err != nil {
			return err
		}
		if council != nil {
			res.Council = council.ID
		}
		files, err := in.forItem(it)
		if err != nil {
			return err
		}
		if err := tx.move(ctx, it, StatusInProgress, req.Owner, actor, req.Reason, res.Council, moveOptions{}); err != nil {
			return err
		}
		res.Item = it
		// The missive goes first, so the capsule lists it among the recent
		// signals: regenerating right after assign then changes nothing.
		refs := append([]string{s.workingCopyPath(it.ID)}, embeddedPaths(files)...)
		if _, err := tx.emit(ctx, s.Config, s.Root, SignalSpec{Kind: KindMissive, Topic: "assignment", From: actor, FromDomain: it.Domain,
			To: it.Domain, Item: it.ID, Body: fmt.Sprintf("%s assigned to %s: %s", it.ID, req.Owner, it.Title), Refs: refs}); err != nil {
			return err
		}
		res.Capsule, _, err = s.writeCapsule(ctx, tx, in, it, files, actor, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
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
	if sig.Question {
		return nil, questionError(id, "cannot be passed to --council")
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
	ids, err := tx.st.ItemsInProgressForDomain(ctx, domain)
	return ids, storeErr("read items", err)
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
		return tx.consumeCouncil(ctx, council, cfg.Council.TTL, it.ID, actor, action)
	}
	return nil
}

// Moved is an item after a transition, with the status it left and the
// leases the move released.
type Moved struct {
	*Item
	From     Status   `json:"-"`
	Released []*Lease `json:"released_leases"`
}

// moveOptions carry what only some moves record: how a completion was
// verified ("passed" or "skipped"), and extra audit payload.
type moveOptions struct {
	verification string
	extra        map[string]any
}

// check refuses what is wrong with a move request before the store is read.
func (req MoveRequest) check() error {
	if err := checkItemID("item", req.ID); err != nil {
		return err
	}
	if req.Council < 0 {
		return Errorf(EINVALID, "--council %d is not a signal id", req.Council)
	}
	if req.By != "" {
		if err := checkOwnerName("--by", req.By); err != nil {
			return err
		}
	}
	return checkLine("--reason", req.Reason)
}

// moveItem runs one command's transition: load, check, move.
func (s *Service) moveItem(ctx context.Context, req MoveRequest, command string, reasonRequired bool, after func(tx *Tx, it *Item, actor Actor) error, opts ...moveOptions) (*Moved, error) {
	var opt moveOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	to := Commands[command].To
	if err := req.check(); err != nil {
		return nil, err
	}
	if reasonRequired && strings.TrimSpace(req.Reason) == "" {
		return nil, Errorf(EINVALID, "--reason is required")
	}
	if req.By == "" {
		return nil, Errorf(EINVALID, "who is acting? pass --by, set OXYGEN_OWNER, or set a default with git config oxygen.owner NAME")
	}
	if req.Domain != "" {
		// An explicit domain is input: check it before anything is read.
		if _, err := s.Config.ResolveDomain(req.By, req.Domain, ""); err != nil {
			return nil, err
		}
	}
	scans, err := s.scanItemLeases(ctx, command, req.ID, req.By)
	if err != nil {
		return nil, err
	}
	var out *Moved
	err = s.writeScanned(ctx, scans, func(tx *Tx) error {
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
		if _, err := CheckMove(command, it.ID, it.Status); err != nil {
			return err
		}
		actorDomain, err := s.moveActor(req, it, command)
		if err != nil {
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
		// Leases taken for the item end with its work: left active they
		// would only expire later and read as hoarding.
		if out.Released, err = tx.releaseItemLeases(ctx, it, actor, out.From); err != nil {
			return err
		}
		if after != nil {
			if err := after(tx, it, Actor{Owner: actor, Domain: actorDomain}); err != nil {
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

// scanItemLeases fingerprints, before a move out of in_progress, the
// resources of the leases actor holds for the item, since the move ends
// them (releaseItemLeases) and each end is a boundary. Other moves scan
// nothing.
func (s *Service) scanItemLeases(ctx context.Context, command, id, actor string) (*leaseScans, error) {
	c := Commands[command]
	if c.To == StatusInProgress || !slices.Contains(c.From, StatusInProgress) {
		return nil, nil
	}
	var resources []string
	err := s.read(ctx, func(tx *Tx) error {
		held, err := tx.itemLeases(ctx, id, actor)
		for _, l := range held {
			resources = append(resources, l.Resource)
		}
		return err
	})
	if err != nil || len(resources) == 0 {
		return nil, err
	}
	return s.scanLeases(actor, resources...)
}

// itemLeases lists the live leases owner holds for an item.
func (tx *Tx) itemLeases(ctx context.Context, id, owner string) ([]*Lease, error) {
	return leasesFromRows(tx.st.LeasesLiveForItemOwner(ctx, id, owner, tx.now))
}

// releaseItemLeases ends the leases actor holds for an item leaving
// in_progress (taken with --item), each audited like a release.
func (tx *Tx) releaseItemLeases(ctx context.Context, it *Item, actor string, from Status) ([]*Lease, error) {
	released := []*Lease{}
	if from != StatusInProgress || it.Status == StatusInProgress {
		return released, nil
	}
	held, err := tx.itemLeases(ctx, it.ID, actor)
	if err != nil {
		return nil, err
	}
	for _, l := range held {
		if err := tx.releaseLease(ctx, l, actor, it.ID+" left in_progress"); err != nil {
			return nil, err
		}
		released = append(released, l)
	}
	return released, nil
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
	return s.moveItem(ctx, req, "dead-end", true, func(tx *Tx, it *Item, actor Actor) error {
		_, err := tx.emit(ctx, s.Config, s.Root, SignalSpec{Kind: KindDeadEnd, Topic: it.ID, From: actor.Owner, FromDomain: actor.Domain,
			To: it.Domain, Item: it.ID, Body: req.Reason})
		return err
	})
}
