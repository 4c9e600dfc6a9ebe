package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// SignalListCmd lists signals.
type SignalListCmd struct {
	Kind   string `name:"kind" help:"Only this kind."`
	Item   string `name:"item" help:"Only signals about this item." predictor:"item"`
	Domain string `name:"domain" help:"Only signals sent by or to this domain (including those to all)." predictor:"domain"`
	Since  string `name:"since" help:"Only signals since a time (RFC 3339) or for a duration back (24h)."`
}

func (c *SignalListCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	since, err := parseSince("--since", c.Since, svc.Clock())
	if err != nil {
		return err
	}
	sigs, err := svc.ListSignals(env.Ctx, workflow.SignalFilter{Kind: c.Kind, Item: c.Item, Domain: c.Domain, Since: since})
	if err != nil {
		return err
	}
	return env.Output(sigs, func() { printSignals(env, sigs, nil) })
}
