package main

import (
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// SignalCmd groups the signal commands.
type SignalCmd struct {
	Send  SignalSendCmd  `cmd:"" help:"Send a signal: missive, council_call, proclamation, handshake or dead_end."`
	List  SignalListCmd  `cmd:"" help:"List signals, oldest first."`
	Show  SignalShowCmd  `cmd:"" help:"Show one signal."`
	Inbox SignalInboxCmd `cmd:"" help:"Signals waiting for you or your domain that you have not acknowledged, oldest first, with their bodies."`
	Ack   SignalAckCmd   `cmd:"" help:"Acknowledge signals, taking them out of your inbox (recorded in the audit log)."`
}

// printSignals is the signal table shared by signal list and council list.
func printSignals(env *cli.Env, sigs []*workflow.Signal, extra func(*workflow.Signal) string) {
	if len(sigs) == 0 {
		env.Printf("no signals\n")
		return
	}
	header := []string{"ID", "CREATED", "KIND", "TOPIC", "FROM", "TO", "ITEM", "RESOURCE"}
	if extra != nil {
		header = append(header, "STATE")
	}
	rows := make([][]string, 0, len(sigs))
	for _, s := range sigs {
		row := []string{itoa(s.ID), s.CreatedAt.String(), s.Kind, s.Topic, s.From + " (" + s.FromDomain + ")", s.To, dash(s.Item), dash(s.Resource)}
		if extra != nil {
			row = append(row, extra(s))
		}
		rows = append(rows, row)
	}
	env.Table(header, rows)
}

func printSignal(env *cli.Env, s *workflow.Signal) {
	env.Printf("signal %d: %s, topic %s\n", s.ID, s.Kind, s.Topic)
	env.Printf("  from: %s (%s)\n  to: %s\n", s.From, s.FromDomain, s.To)
	if s.Item != "" {
		env.Printf("  item: %s\n", s.Item)
	}
	if s.Resource != "" {
		env.Printf("  resource: %s\n", s.Resource)
	}
	env.Printf("  created: %s\n  file: %s\n", s.CreatedAt, s.File)
	if len(s.Refs) > 0 {
		env.Printf("  refs:\n")
		for _, r := range s.Refs {
			env.Printf("    - %s\n", r)
		}
	}
	if s.Body != "" {
		env.Printf("\n%s\n", indent(s.Body))
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
