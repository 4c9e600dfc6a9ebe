package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// SignalSendCmd records and exports one signal.
type SignalSendCmd struct {
	Kind     string   `name:"kind" help:"missive, council_call, proclamation, handshake or dead_end." required:""`
	From     string   `name:"from" help:"Who sends it (default: OXYGEN_OWNER)."`
	Domain   string   `name:"domain" help:"The sender's domain (default: OXYGEN_DOMAIN, the agents map, or a sender named like a domain)."`
	To       string   `name:"to" help:"A domain, or all." default:"all"`
	Topic    string   `name:"topic" help:"Slug (default: the item, else the resource, else general)."`
	Item     string   `name:"item" help:"The item it concerns." predictor:"item"`
	Resource string   `name:"resource" help:"The resource it concerns (a handshake names the resource it opens)." predictor:"resource"`
	Body     string   `name:"body" help:"The message."`
	Ref      []string `name:"ref" help:"Evidence: a root-relative path, such as the capsule and the exact files (repeatable)." sep:"none"`
}

func (c *SignalSendCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	from, err := cli.Identity{Owner: c.From, Domain: c.Domain, Flag: "--from"}.Resolve(svc)
	if err != nil {
		return err
	}
	sig, err := svc.SendSignal(env.Ctx, workflow.SignalSpec{Kind: c.Kind, From: from.Owner, FromDomain: from.Domain, To: c.To,
		Topic: c.Topic, Item: c.Item, Resource: c.Resource, Body: c.Body, Refs: c.Ref})
	if err != nil {
		return err
	}
	sig.File = svc.Shown(sig.File)
	return env.Output(sig, func() { env.Printf("signal %d: %s\n", sig.ID, sig.File) })
}
