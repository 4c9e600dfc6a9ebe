package mcpserver

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/oxygen-tools/oxygen/workflow"
)

// tools are the protocol's commands as MCP tools, acting as actor. Each
// structured output is the document the CLI prints with --json; lists are
// wrapped in an object, because clients expect structured content to be one.
type tools struct {
	svc   *workflow.Service
	actor workflow.Actor
}

// Inputs. A field without omitempty is required; the jsonschema tag is the
// description the model reads.

type noInput struct{}

type whichIn struct {
	Paths []string `json:"paths" jsonschema:"file paths, relative to the top of your worktree or absolute"`
}

type claimIn struct {
	Resource string `json:"resource" jsonschema:"the resource id (see the resources and which tools)"`
	TTL      string `json:"ttl,omitempty" jsonschema:"lease length such as 30m (default leases.default_ttl, at most leases.max_ttl)"`
	Item     string `json:"item,omitempty" jsonschema:"the work item this change belongs to"`
	Reason   string `json:"reason,omitempty" jsonschema:"what you will change"`
	Wait     string `json:"wait,omitempty" jsonschema:"queue first come first served for up to this long (such as 5m) while someone else holds it"`
}

type renewIn struct {
	Resource string `json:"resource" jsonschema:"the resource id"`
	TTL      string `json:"ttl,omitempty" jsonschema:"new length from now, such as 30m"`
}

type resourceIn struct {
	Resource string `json:"resource" jsonschema:"the resource id"`
}

type statusIn struct {
	Domain   string `json:"domain,omitempty" jsonschema:"only leases of this domain"`
	Holder   string `json:"holder,omitempty" jsonschema:"only leases held by this owner"`
	Resource string `json:"resource,omitempty" jsonschema:"only leases on this resource"`
	All      bool   `json:"all,omitempty" jsonschema:"include released, expired and revoked leases"`
}

type verifyIn struct {
	Resource string `json:"resource" jsonschema:"the resource id"`
	Token    int64  `json:"token" jsonschema:"the fencing token you were granted"`
}

type readyIn struct {
	Domain string `json:"domain,omitempty" jsonschema:"only items of this domain (pass yours)"`
	Now    bool   `json:"now,omitempty" jsonschema:"only items you could assign and start now: of your domain, waiting on no lease, queue or cap"`
	Limit  int    `json:"limit,omitempty" jsonschema:"at most this many items (default: all)"`
	After  string `json:"after,omitempty" jsonschema:"start after this cursor: the next_after of the previous page"`
}

type itemIn struct {
	ID string `json:"id" jsonschema:"the work item id"`
}

type assignIn struct {
	ID      string `json:"id" jsonschema:"the work item id; it is assigned to you"`
	Council int64  `json:"council,omitempty" jsonschema:"an approved council_call that lets this assignment exceed your domain's attention budget once"`
	Reason  string `json:"reason,omitempty" jsonschema:"why, for the history"`
}

type doneIn struct {
	ID         string `json:"id" jsonschema:"the work item id"`
	SkipVerify bool   `json:"skip_verify,omitempty" jsonschema:"complete without running the item's commands (recorded and reported; needs reason)"`
	Reason     string `json:"reason,omitempty" jsonschema:"a note for the history; required with skip_verify"`
}

type reasonIn struct {
	ID     string `json:"id" jsonschema:"the work item id"`
	Reason string `json:"reason" jsonschema:"why, for the history and whoever reads it next"`
}

type signalIn struct {
	Kind     string   `json:"kind" jsonschema:"missive, council_call, proclamation, handshake or dead_end"`
	To       string   `json:"to,omitempty" jsonschema:"a domain, or all (the default)"`
	Topic    string   `json:"topic,omitempty" jsonschema:"a slug (default: the item, else the resource, else general)"`
	Item     string   `json:"item,omitempty" jsonschema:"the item it concerns"`
	Resource string   `json:"resource,omitempty" jsonschema:"the resource it concerns (a handshake names the resource it opens)"`
	Body     string   `json:"body,omitempty" jsonschema:"the message"`
	Refs     []string `json:"refs,omitempty" jsonschema:"evidence: root-relative paths such as the capsule and the files"`
}

type inboxIn struct {
	All bool `json:"all,omitempty" jsonschema:"include the audit job's proclamations"`
}

type ackIn struct {
	IDs []int64 `json:"ids" jsonschema:"the signal ids to acknowledge (all or none)"`
}

type councilIn struct {
	Item     string `json:"item" jsonschema:"the item to start or unblock over your domain's cap, or to ask about"`
	Reason   string `json:"reason,omitempty" jsonschema:"why the cap should be exceeded"`
	Question string `json:"question,omitempty" jsonschema:"instead of a reason: what is unclear about the item; a question overrides no cap and needs no approval"`
	To       string `json:"to,omitempty" jsonschema:"with a question: the domain to ask (default: all)"`
}

type capsuleIn struct {
	ID         string `json:"id" jsonschema:"the work item id"`
	Generation int    `json:"generation,omitempty" jsonschema:"which generation (default: the latest)"`
}

// Outputs that the CLI prints as a list or as an ad hoc map.

type pathsOut struct {
	Paths []workflow.PathOwnership `json:"paths"`
}

type resourcesOut struct {
	Resources []workflow.ResourceView `json:"resources"`
}

type readyOut struct {
	Items []*workflow.ReadyItem `json:"items"`
	// NextAfter is the after of the next page, when this one is full.
	NextAfter string `json:"next_after"`
}

type claimOut struct {
	Lease   *workflow.Lease `json:"lease"`
	Renewed bool            `json:"renewed"`
	// ShadowEdits are unleased changes the claim found since the last
	// lease: the lease is granted, and the resource's domain is told.
	ShadowEdits []*workflow.ShadowEdit `json:"shadow_edits"`
}

type assignOut struct {
	Item    *workflow.Item    `json:"item"`
	Capsule *workflow.Capsule `json:"capsule"`
	Council int64             `json:"council,omitempty"`
}

type inboxOut struct {
	Signals []*workflow.InboxEntry `json:"signals"`
}

type capsuleOut struct {
	Capsule *workflow.Capsule `json:"capsule"`
	Content string            `json:"content"`
}

// duration parses an optional duration argument.
func duration(name, v string) (*time.Duration, error) {
	if v == "" {
		return nil, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return nil, workflow.Errorf(workflow.EINVALID, "%s %q: give a duration such as 30m", name, v)
	}
	return &d, nil
}

func (t *tools) move(id, reason string) workflow.MoveRequest {
	return workflow.MoveRequest{ID: id, By: t.actor.Owner, Domain: t.actor.Domain, Reason: reason}
}

// shown gives a new signal's export file as the CLI prints it.
func (t *tools) shown(sig *workflow.Signal, err error) (*workflow.Signal, error) {
	if err != nil {
		return nil, err
	}
	sig.File = t.svc.Shown(sig.File)
	return sig, nil
}

func (t *tools) register(s *mcp.Server) {
	svc, me := t.svc, t.actor
	addTool(s, "prime", "Your briefing: who you are, your domain's budgets, your items and their capsules, your leases with time left, signals waiting for you, council calls you could approve, and the rules. Call it first.", true,
		func(ctx context.Context, _ noInput) (*workflow.Briefing, error) {
			return svc.Prime(ctx, me, "")
		})
	addTool(s, "which", "Which resources do these paths fall under, and who holds them? Call it before editing a file: a path under a resource needs your lease.", true,
		func(ctx context.Context, in whichIn) (pathsOut, error) {
			paths := make([]string, len(in.Paths))
			for i, p := range in.Paths {
				if p != "" && !filepath.IsAbs(p) {
					p = filepath.Join(svc.Worktree, p)
				}
				paths[i] = p
			}
			res, err := svc.Which(ctx, paths)
			return pathsOut{res}, err
		})
	addTool(s, "claim", "Take the exclusive, expiring lease on a resource before you change any file under it. Claiming a lease you hold extends it; someone else's is a conflict unless you wait; another domain's resource needs a handshake first.", false,
		func(ctx context.Context, in claimIn) (claimOut, error) {
			ttl, err := duration("ttl", in.TTL)
			if err != nil {
				return claimOut{}, err
			}
			wait, err := duration("wait", in.Wait)
			if err != nil {
				return claimOut{}, err
			}
			if wait == nil {
				wait = new(time.Duration)
			}
			res, err := svc.ClaimWait(ctx, workflow.ClaimRequest{Resource: in.Resource, Actor: me, TTL: ttl, Item: in.Item, Reason: in.Reason}, *wait)
			if err != nil {
				return claimOut{}, err
			}
			return claimOut{res.Lease, res.Renewed, res.ShadowEdits}, nil
		})
	addTool(s, "renew", "Extend your lease to now + ttl, within leases.max_hold from when you claimed it.", false,
		func(ctx context.Context, in renewIn) (*workflow.Lease, error) {
			ttl, err := duration("ttl", in.TTL)
			if err != nil {
				return nil, err
			}
			return svc.Renew(ctx, in.Resource, me, ttl)
		})
	addTool(s, "release", "Release your lease as soon as your change is in, so others can claim the resource. (Revoking someone else's lease is left to people, with oxygen release --force.)", false,
		func(ctx context.Context, in resourceIn) (*workflow.Lease, error) {
			return svc.Release(ctx, workflow.ReleaseRequest{Resource: in.Resource, Actor: me})
		})
	addTool(s, "lease_status", "Active leases with their holders and expiry, and each domain's change budget (leases held of the maximum).", true,
		func(ctx context.Context, in statusIn) (*workflow.LeaseStatus, error) {
			return svc.Status(ctx, workflow.LeaseFilter{Domain: in.Domain, Owner: in.Holder, Resource: in.Resource, All: in.All})
		})
	addTool(s, "resources", "Every shared resource with its domain, path globs and current holder.", true,
		func(ctx context.Context, _ noInput) (resourcesOut, error) {
			res, err := svc.Resources(ctx)
			return resourcesOut{res}, err
		})
	addTool(s, "verify", "Check that a fencing token is still the active lease on a resource, right before a guarded write.", true,
		func(ctx context.Context, in verifyIn) (*workflow.Lease, error) {
			return svc.VerifyToken(ctx, in.Resource, in.Token)
		})
	addTool(s, "ready", "Open items whose dependencies are done, most urgent first, each with what it waits on (a lease someone else holds, a queue, its domain's cap); now: only what you can start at once. With limit, a page at a time: pass next_after as after for the next.", true,
		func(ctx context.Context, in readyIn) (readyOut, error) {
			out := readyOut{Items: []*workflow.ReadyItem{}}
			next, err := svc.ReadyItems(ctx, workflow.ReadyRequest{Domain: in.Domain, Owner: me.Owner, Now: in.Now, OwnerDomain: me.Domain},
				workflow.Page{Limit: in.Limit, After: in.After}, func(it *workflow.ReadyItem) error {
					out.Items = append(out.Items, it)
					return nil
				})
			out.NextAfter = next
			return out, err
		})
	addTool(s, "show_item", "One work item with its transition history.", true,
		func(ctx context.Context, in itemIn) (*workflow.ItemDetail, error) {
			return svc.Show(ctx, in.ID)
		})
	addTool(s, "assign", "Start an item yourself (open -> in_progress) and get its context capsule; read the capsule before you change anything. Your domain's attention budget caps how many items are in progress.", false,
		func(ctx context.Context, in assignIn) (assignOut, error) {
			res, err := svc.Assign(ctx, workflow.AssignRequest{ID: in.ID, Owner: me.Owner, Domain: me.Domain, By: me.Owner, Council: in.Council, Reason: in.Reason})
			if err != nil {
				return assignOut{}, err
			}
			res.Capsule.Path = svc.Shown(res.Capsule.Path)
			return assignOut{res.Item, res.Capsule, res.Council}, nil
		})
	addTool(s, "done", "Finish an item in progress: its commands run first, and a failing one refuses the completion with its last lines. Release your leases afterwards.", false,
		func(ctx context.Context, in doneIn) (*workflow.DoneResult, error) {
			res, err := svc.Done(ctx, workflow.DoneRequest{MoveRequest: t.move(in.ID, in.Reason), SkipVerify: in.SkipVerify})
			if err != nil && res != nil && res.Verification != nil {
				var tails []string
				for _, run := range res.Verification.Commands {
					if run.ExitCode != 0 && run.Tail != "" {
						tails = append(tails, fmt.Sprintf("last lines of `%s`:\n%s", run.Command, run.Tail))
					}
				}
				return nil, &withDetails{err: err, details: tails}
			}
			return res, err
		})
	addTool(s, "block", "Park an item in progress that waits on someone else (in_progress -> blocked); blocked items do not count against the budget.", false,
		func(ctx context.Context, in reasonIn) (*workflow.Moved, error) {
			return svc.Block(ctx, t.move(in.ID, in.Reason))
		})
	addTool(s, "dead_end", "Abandon an item that cannot be done, saying why; a dead_end signal tells its domain.", false,
		func(ctx context.Context, in reasonIn) (*workflow.Moved, error) {
			return svc.DeadEnd(ctx, t.move(in.ID, in.Reason))
		})
	addTool(s, "send_signal", "Send a signal from you: a missive to hand work over, a handshake before claiming another domain's resource, a proclamation to all.", false,
		func(ctx context.Context, in signalIn) (*workflow.Signal, error) {
			return t.shown(svc.SendSignal(ctx, workflow.SignalSpec{Kind: in.Kind, From: me.Owner, FromDomain: me.Domain, To: in.To,
				Topic: in.Topic, Item: in.Item, Resource: in.Resource, Body: in.Body, Refs: in.Refs}))
		})
	addTool(s, "inbox", "Signals waiting for you or your domain that you have not acknowledged, oldest first, with their bodies.", true,
		func(ctx context.Context, in inboxIn) (inboxOut, error) {
			res, err := svc.Inbox(ctx, workflow.InboxRequest{Owner: me.Owner, Domain: me.Domain, All: in.All})
			return inboxOut{res}, err
		})
	addTool(s, "ack", "Acknowledge signals you have read, taking them out of your inbox.", false,
		func(ctx context.Context, in ackIn) (*workflow.AckResult, error) {
			return svc.Ack(ctx, me, in.IDs)
		})
	addTool(s, "council_call", "Ask to exceed your domain's attention budget once for an item (reason; someone from another domain must approve it before assign can use it), or, when the task is ambiguous, ask the council a question about it (question; answers come as signals on the item).", false,
		func(ctx context.Context, in councilIn) (*workflow.Signal, error) {
			switch {
			case in.Question != "" && in.Reason != "":
				return nil, workflow.Errorf(workflow.EINVALID, "give a reason (to exceed the cap) or a question (to ask), not both")
			case in.Question != "":
				return t.shown(svc.AskCouncil(ctx, in.Item, me, in.Question, in.To))
			case in.To != "":
				return nil, workflow.Errorf(workflow.EINVALID, "to goes with a question: a request to exceed the cap goes to every domain")
			}
			return t.shown(svc.CallCouncil(ctx, in.Item, me, in.Reason))
		})
	addTool(s, "capsule", "An item's context capsule: objective, boundaries, invariants, touch points, the leases they need, and the files themselves.", true,
		func(ctx context.Context, in capsuleIn) (capsuleOut, error) {
			c, content, err := svc.ShowCapsule(ctx, in.ID, in.Generation)
			if err != nil {
				return capsuleOut{}, err
			}
			c.Path = svc.Shown(c.Path)
			return capsuleOut{c, string(content)}, nil
		})
	addTool(s, "health", "The repository's health, green, yellow or red, with the reasons (re-hashes the audit chain and the blob store, and records what changed: capsules show the same verdict).", false,
		func(ctx context.Context, _ noInput) (*workflow.Health, error) {
			return svc.Health(ctx, me.Owner)
		})
}
