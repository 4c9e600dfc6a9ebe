package workflow

import (
	"context"
	"fmt"
)

// A briefing is what an agent needs at the start of a session, in one read
// transaction: who it is, how much room its domain has, what it holds, what
// waits for it, and the protocol's rules written as the commands it will run.
// An agent's context window is the audience, so it is short and current.

// Briefing is what `orchestrate prime` prints.
type Briefing struct {
	Now     Time           `json:"now"`
	Owner   string         `json:"owner"`  // "" when no identity is set
	Domain  string         `json:"domain"` // "" when no identity is set
	Problem string         `json:"identity_problem,omitempty"`
	Budgets []DomainBudget `json:"budgets"` // the caller's domain, or every domain without one
	Items   []BriefItem    `json:"items"`
	Leases  []BriefLease   `json:"leases"`
	// CanStart is work the caller could assign and start now (ready --now),
	// the most urgent first, at most primeSuggestions of it.
	CanStart []BriefReady  `json:"can_start"`
	Inbox    []*InboxEntry `json:"inbox"`   // the inbox without its council calls
	Council  []*InboxEntry `json:"council"` // every pending council call the caller may approve, acknowledged or not
	Rules    []string      `json:"rules"`
}

// DomainBudget is one domain's two budgets in use.
type DomainBudget struct {
	Domain        string   `json:"domain"`
	InProgress    int      `json:"in_progress"`
	MaxInProgress int      `json:"max_in_progress"`
	Leases        int      `json:"leases"`
	MaxLeases     int      `json:"max_leases"`
	Items         []string `json:"items_in_progress"`
}

// BriefItem is one of the caller's items with its capsule.
type BriefItem struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Status     Status `json:"status"`
	Priority   string `json:"priority"`
	Capsule    string `json:"capsule"` // the working copy as Shown; "" before the first generation
	Generation int    `json:"generation"`
}

// BriefReady is an item the caller could start now.
type BriefReady struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Priority string `json:"priority"`
}

// primeSuggestions bounds the work a briefing suggests: one screen.
const primeSuggestions = 5

// BriefLease is one of the caller's live leases with its time left.
type BriefLease struct {
	*Lease
	LeftMS int64 `json:"left_ms"`
}

// Prime gathers the briefing for actor. An actor without an owner gets the
// budgets of every domain and the rules, so that a session started before
// OXYGEN_OWNER was set still learns how to set it.
func (s *Service) Prime(ctx context.Context, actor Actor, problem string) (*Briefing, error) {
	b := &Briefing{Owner: actor.Owner, Domain: actor.Domain, Problem: problem, Budgets: []DomainBudget{}, Items: []BriefItem{},
		Leases: []BriefLease{}, CanStart: []BriefReady{}, Inbox: []*InboxEntry{}, Council: []*InboxEntry{}}
	err := s.read(ctx, func(tx *Tx) error {
		b.Now = Time{tx.now}
		live, err := leasesFromRows(tx.st.LeasesLiveByExpiry(ctx, tx.now))
		if err != nil {
			return err
		}
		for _, d := range s.Config.Domains {
			if actor.Domain != "" && d.Name != actor.Domain {
				continue
			}
			busy, err := tx.inProgress(ctx, d.Name)
			if err != nil {
				return err
			}
			db := DomainBudget{Domain: d.Name, InProgress: len(busy), MaxInProgress: d.MaxInProgress, MaxLeases: d.MaxLeases, Items: busy}
			for _, l := range live {
				if l.Domain == d.Name {
					db.Leases++
				}
			}
			b.Budgets = append(b.Budgets, db)
		}
		if actor.Owner == "" {
			return nil
		}
		for _, l := range live {
			if l.Owner == actor.Owner {
				b.Leases = append(b.Leases, BriefLease{Lease: l, LeftMS: l.ExpiresAt.Sub(tx.now).Milliseconds()})
			}
		}
		items, err := tx.listItems(ctx, ItemFilter{Owner: actor.Owner})
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Status != StatusInProgress && it.Status != StatusBlocked {
				continue
			}
			bi := BriefItem{ID: it.ID, Title: it.Title, Status: it.Status, Priority: it.Priority}
			c, err := tx.latestCapsule(ctx, it.ID)
			if err != nil {
				return err
			}
			if c != nil {
				bi.Capsule, bi.Generation = s.Shown(c.Path), c.Generation
			}
			b.Items = append(b.Items, bi)
		}
		startable, err := s.ready(ctx, tx, ReadyRequest{Owner: actor.Owner, Now: true, OwnerDomain: actor.Domain})
		if err != nil {
			return err
		}
		for _, it := range startable[:min(len(startable), primeSuggestions)] {
			b.CanStart = append(b.CanStart, BriefReady{ID: it.ID, Title: it.Title, Priority: it.Priority})
		}
		inbox, err := s.inbox(ctx, tx, InboxRequest{Owner: actor.Owner, Domain: actor.Domain})
		if err != nil {
			return err
		}
		for _, e := range inbox {
			if e.Kind != KindCouncilCall || e.Question {
				b.Inbox = append(b.Inbox, e)
			}
		}
		everything, err := s.inbox(ctx, tx, InboxRequest{Owner: actor.Owner, Domain: actor.Domain, withAcked: true})
		if err != nil {
			return err
		}
		for _, e := range everything {
			if e.Kind == KindCouncilCall && !e.Question {
				b.Council = append(b.Council, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.Rules = s.rules(actor)
	return b, nil
}

// rules is the protocol in about fifteen lines, each with the exact command,
// filled in for actor where the command needs who or which domain.
func (s *Service) rules(actor Actor) []string {
	who, domain := actor.Owner, actor.Domain
	if who == "" {
		who, domain = "WHO", "DOMAIN"
	}
	maxItems, maxLeases := 0, 0
	if d, ok := s.Config.Domain(domain); ok {
		maxItems, maxLeases = d.MaxInProgress, d.MaxLeases
	}
	caps := fmt.Sprintf("%d items in progress and %d leases", maxItems, maxLeases)
	if maxItems == 0 {
		caps = "a capped number of items in progress and of leases"
	}
	return []string{
		fmt.Sprintf("Act as yourself: export OXYGEN_OWNER=%s (your domain comes from agents: in %s, or OXYGEN_DOMAIN).", who, ConfigFile),
		fmt.Sprintf("Find work: orchestrate ready --now (what you can start without a conflict; orchestrate ready says what the rest waits on); start it: orchestrate assign ID --owner %s.", who),
		"Read the item's capsule before anything else: it holds the objective, boundaries, files and the leases you need.",
		"Before editing a file, see what guards it: oxygen which PATH.",
		fmt.Sprintf("Claim before you change: oxygen claim RESOURCE --item ID (exit 3: someone holds it; queue with --wait %s).", FormatDuration(s.Config.Leases.DefaultTTL)),
		fmt.Sprintf("Another domain's resource needs a handshake first: orchestrate signal send --kind handshake --from %s --to THEIR_DOMAIN --resource RESOURCE --body \"what and why\".", who),
		fmt.Sprintf("Leases expire after %s unless renewed: oxygen renew RESOURCE; release as soon as the change is in: oxygen release RESOURCE.", FormatDuration(s.Config.Leases.DefaultTTL)),
		fmt.Sprintf("Your domain may have %s at once; more needs a council call: orchestrate council call --item ID --from %s --reason \"why\".", caps, who),
		"Finish: orchestrate done ID runs the item's commands first and refuses (exit 4) if one fails.",
		"Stuck on someone else: orchestrate block ID --reason \"...\"; impossible: orchestrate dead-end ID --reason \"...\".",
		"Hand off in writing: orchestrate signal send --kind missive --to DOMAIN --item ID --body \"...\".",
		fmt.Sprintf("Read what waits for you: orchestrate signal inbox; clear it: orchestrate signal ack N... --by %s.", who),
		"Never change a resource without its lease: the pre-commit guard refuses the commit, and the audit job reports it as a shadow edit.",
		"Exit codes: 3 conflict, 4 refused by a budget or policy, 5 not found; every refusal names the command to run next.",
	}
}
