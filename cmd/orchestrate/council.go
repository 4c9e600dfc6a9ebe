package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
)

// CouncilCmd groups the council commands.
type CouncilCmd struct {
	Call     CouncilCallCmd     `cmd:"" help:"Ask to exceed an item's attention budget once."`
	Approve  CouncilApproveCmd  `cmd:"" help:"Approve a council_call (not the caller's own; from a domain other than the item's)."`
	Deny     CouncilDenyCmd     `cmd:"" help:"Deny a pending council_call (whoever could approve it), with a reason."`
	Withdraw CouncilWithdrawCmd `cmd:"" help:"Withdraw your own council_call before it is used."`
	List     CouncilListCmd     `cmd:"" help:"List council_calls: state (pending, approved, consumed, denied, withdrawn, expired) and reason."`
}

// CouncilCallCmd records a council_call.
type CouncilCallCmd struct {
	Item   string `name:"item" help:"The item to start or unblock over the cap." required:"" predictor:"item"`
	From   string `name:"from" help:"Who asks (default: OXYGEN_OWNER)."`
	Domain string `name:"domain" help:"The asker's domain."`
	Reason string `name:"reason" help:"Why the cap should be exceeded." required:""`
}

func (c *CouncilCallCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	from, err := cli.Identity{Owner: c.From, Domain: c.Domain, Flag: "--from"}.Resolve(svc)
	if err != nil {
		return err
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
			rows = append(rows, []string{itoa(call.ID), call.Item, call.From + " (" + call.FromDomain + ")", call.State, call.CreatedAt.String(), oneLine(call.Body, 60)})
		}
		env.Table([]string{"ID", "ITEM", "FROM", "STATE", "CREATED", "REASON"}, rows)
	})
}
