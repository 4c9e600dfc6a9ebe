package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// CouncilCmd groups the council commands.
type CouncilCmd struct {
	Call     CouncilCallCmd     `cmd:"" help:"Ask to exceed an item's attention budget once (--reason), or ask a question about it (--question)."`
	Approve  CouncilApproveCmd  `cmd:"" help:"Approve a council_call (not the caller's own; from a domain other than the item's)."`
	Deny     CouncilDenyCmd     `cmd:"" help:"Deny a pending council_call (whoever could approve it), with a reason."`
	Withdraw CouncilWithdrawCmd `cmd:"" help:"Withdraw your own council_call before it is used, or your question."`
	List     CouncilListCmd     `cmd:"" help:"List council_calls: state (pending, approved, consumed, denied, withdrawn, expired, question) and reason."`
}

// CouncilCallCmd records a council_call: a request to exceed a cap, or a
// question that overrides nothing.
type CouncilCallCmd struct {
	Item     string `name:"item" help:"The item to start or unblock over the cap, or to ask about." required:"" predictor:"item"`
	From     string `name:"from" help:"Who asks (default: OXYGEN_OWNER)."`
	Domain   string `name:"domain" help:"The asker's domain."`
	Reason   string `name:"reason" help:"Why the cap should be exceeded."`
	Question string `name:"question" help:"Ask instead: what is unclear about the item. A question overrides no cap, needs no approval and cannot be passed to --council."`
	To       string `name:"to" help:"With --question: the domain to ask (default: all)." placeholder:"DOMAIN" predictor:"domain"`
}

func (c *CouncilCallCmd) Run(env *cli.Env) error {
	switch {
	case c.Reason != "" && c.Question != "":
		return workflow.Errorf(workflow.EINVALID, "give --reason (to exceed the cap) or --question (to ask), not both")
	case c.Reason == "" && c.Question == "":
		return workflow.Errorf(workflow.EINVALID, "--reason is required: say why the cap should be exceeded (or ask with --question)")
	case c.To != "" && c.Question == "":
		return workflow.Errorf(workflow.EINVALID, "--to goes with --question: a request to exceed the cap goes to every domain")
	}
	svc, err := env.Service()
	if err != nil {
		return err
	}
	from, err := cli.Identity{Owner: c.From, Domain: c.Domain, Flag: "--from"}.Resolve(svc)
	if err != nil {
		return err
	}
	if c.Question != "" {
		sig, err := svc.AskCouncil(env.Ctx, c.Item, from, c.Question, c.To)
		if err != nil {
			return err
		}
		return env.Output(sig, func() {
			env.Printf("question %d about %s sent to %s; answers come as signals on the item: orchestrate signal list --item %s\n", sig.ID, sig.Item, sig.To, sig.Item)
		})
	}
	sig, err := svc.CallCouncil(env.Ctx, c.Item, from, c.Reason)
	if err != nil {
		return err
	}
	return env.Output(sig, func() {
		env.Printf("council_call %d for %s recorded; another domain approves it with: orchestrate council approve %d --by WHO\n", sig.ID, sig.Item, sig.ID)
	})
}

// CouncilApproveCmd approves a council_call.
type CouncilApproveCmd struct {
	ID     int64  `arg:"" name:"N" help:"The council_call's signal id." predictor:"council"`
	By     string `name:"by" help:"Who approves (default: OXYGEN_OWNER)."`
	Domain string `name:"domain" help:"The approver's domain."`
	Note   string `name:"note" help:"A note for the record."`
}

func (c *CouncilApproveCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	by, err := cli.Identity{Owner: c.By, Domain: c.Domain, Flag: "--by"}.Resolve(svc)
	if err != nil {
		return err
	}
	call, err := svc.ApproveCouncil(env.Ctx, c.ID, by, c.Note)
	if err != nil {
		return err
	}
	return env.Output(call, func() {
		env.Printf("council_call %d approved by %s (%s); it lets one move of %s exceed the cap: --council %d\n", call.ID, by.Owner, by.Domain, call.Item, call.ID)
	})
}

// CouncilListCmd lists council_calls.
type CouncilListCmd struct {
	Pending bool `name:"pending" help:"Only calls awaiting approval."`
}

func (c *CouncilListCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	calls, err := svc.ListCouncil(env.Ctx, c.Pending)
	if err != nil {
		return err
	}
	return env.Output(calls, func() {
		if len(calls) == 0 {
			env.Printf("no council calls\n")
			return
		}
		rows := make([][]string, 0, len(calls))
		for _, call := range calls {
			rows = append(rows, []string{itoa(call.ID), call.Item, call.From + " (" + call.FromDomain + ")", string(call.State), call.CreatedAt.String(), oneLine(call.Body, 60)})
		}
		env.Table([]string{"ID", "ITEM", "FROM", "STATE", "CREATED", "REASON"}, rows)
	})
}
