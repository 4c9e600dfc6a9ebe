// Command orchestrate manages work items, their state machine and budgets,
// signals, council overrides and the audit log of an Oxygen repository.
package main

import (
	"os"

	"github.com/oxygen-tools/oxygen/internal/cli"
)

// CLI is orchestrate's grammar; each command lives in its own file.
type CLI struct {
	cli.Globals

	Init     InitCmd     `cmd:"" help:"Set up .substrate/ (config, store, .gitignore) here or in --root; --agents also writes the agent instructions."`
	Where    WhereCmd    `cmd:"" help:"Print the repository root, this worktree, the shared store and its schema version."`
	Prime    PrimeCmd    `cmd:"" help:"Brief an agent starting work: identity, budgets, items, leases, inbox, council calls, the rules."`
	Add      AddCmd      `cmd:"" help:"Add a work item."`
	Import   ImportCmd   `cmd:"" help:"Upsert the items of a plan registry file, all or nothing; items under way get a new capsule."`
	List     ListCmd     `cmd:"" help:"List work items."`
	Show     ShowCmd     `cmd:"" help:"Show an item with its transition history."`
	Ready    ReadyCmd    `cmd:"" help:"List open items whose dependencies are done, most urgent first, with what each waits on (--now: only what you can start)."`
	Assign   AssignCmd   `cmd:"" help:"Start an item (open -> in_progress) and write its context capsule."`
	Unassign UnassignCmd `cmd:"" help:"Return an item in progress to open."`
	Block    BlockCmd    `cmd:"" help:"Park an item in progress (in_progress -> blocked)."`
	Unblock  UnblockCmd  `cmd:"" help:"Resume a blocked item (blocked -> in_progress)."`
	Done     DoneCmd     `cmd:"" help:"Finish an item (in_progress -> done) once its commands pass."`
	DeadEnd  DeadEndCmd  `cmd:"" name:"dead-end" help:"Abandon an item and emit a dead_end signal."`
	Reopen   ReopenCmd   `cmd:"" help:"Reopen a done or dead_end item."`
	Capsule  CapsuleCmd  `cmd:"" help:"Context capsules: regenerate, show, history, verify, template."`
	Store    StoreCmd    `cmd:"" help:"The content-addressed blob store."`
	Signal   SignalCmd   `cmd:"" help:"Send and read signals."`
	Council  CouncilCmd  `cmd:"" help:"Council calls: override the attention budget once, with another domain's approval."`
	Audit    AuditCmd    `cmd:"" help:"Read and verify the audit log."`
	Status   StatusCmd   `cmd:"" help:"Everything at a glance: budgets, work in progress, leases and queues, council calls, health (exit 0)."`
	Serve    ServeCmd    `cmd:"" help:"Serve a read-only live dashboard (default http://127.0.0.1:7070)."`
	Health   HealthCmd   `cmd:"" help:"Report green, yellow or red (exit 0, 1, 2; 3 when unknown)."`
	Daemon   DaemonCmd   `cmd:"" help:"Run the scheduled jobs (expire-leases, audit) until SIGINT or SIGTERM."`
	Jobs     JobsCmd     `cmd:"" help:"List the scheduled jobs, or run one now."`

	// For the shell rather than the repository.
	Completion cli.CompletionCmd `cmd:"" help:"Print shell completion code (bash, zsh, fish): add eval \"$(orchestrate completion bash)\" to ~/.bashrc."`
}

func main() {
	var c CLI
	os.Exit(cli.Run("orchestrate", &c, &c.Globals, os.Args[1:], cli.Options{
		Description: "Work items, budgets, signals and the audit log for teams sharing one repository.",
		UsageExit:   map[string]int{"health": 3},
	}))
}
