package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// CouncilCmd groups the council commands.
type CouncilCmd struct {
	Call    CouncilCallCmd    `cmd:"" help:"Ask to exceed an item's attention budget once."`
	Approve CouncilApproveCmd `cmd:"" help:"Approve a council_call (not the caller's own; from a domain other than the item's)."`
	List    CouncilListCmd    `cmd:"" help:"List council_calls and whether each is pending, approved or consumed."`
}

// CouncilCallCmd records a council_call.
type CouncilCallCmd struct {
	Item   string `name:"item" help:"The item to start or unblock over the cap." required:""`
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
	ID     int64  `arg:"" name:"N" help:"The council_call's signal id."`
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
		sigs := make([]*workflow.Signal, len(calls))
		state := map[int64]string{}
		for i, call := range calls {
			sigs[i] = call.Signal
			state[call.ID] = call.State
		}
		printSignals(env, sigs, func(s *workflow.Signal) string { return state[s.ID] })
	})
}
