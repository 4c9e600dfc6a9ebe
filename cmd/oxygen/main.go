// Command oxygen manages leases on the shared resources of an Oxygen
// repository: claim before you change, release when done.
package main

import (
	"os"

	"github.com/oxygen-tools/oxygen/internal/cli"
)

// CLI is oxygen's grammar; each command lives in its own file.
type CLI struct {
	cli.Globals

	Claim     ClaimCmd     `cmd:"" help:"Take an exclusive lease on a resource (exit 3 if held; --wait to queue); reports unleased changes made since the last lease."`
	Renew     RenewCmd     `cmd:"" help:"Extend your lease to now + TTL, within leases.max_hold."`
	Release   ReleaseCmd   `cmd:"" help:"Release your lease (or --force --reason someone else's)."`
	Status    StatusCmd    `cmd:"" help:"Active leases with time left, and each domain's change budget."`
	Resources ResourcesCmd `cmd:"" help:"List resources with their domain, paths and holder."`
	Which     WhichCmd     `cmd:"" help:"Which resources do these paths fall under, and who holds them?"`
	Verify    VerifyCmd    `cmd:"" help:"Exit 0 only if --token is the active lease on the resource (a fencing check)."`
	Run       RunCmd       `cmd:"" help:"Claim, run a command with OXYGEN_TOKEN set, renew until it and everything it started have exited, then release. With --json the command's output goes to stderr."`
	Expire    ExpireCmd    `cmd:"" help:"Mark every lease past its expiry as expired (commands already treat them as free)."`
	Check     CheckCmd     `cmd:"" help:"Refuse changes to shared resources made without a lease (--staged, --range A..B, or PATH...)."`
	Trailer   TrailerCmd   `cmd:"" help:"Print the Oxygen-Lease trailers that prove a commit's changes were made under leases (to add to a commit made without them)."`
	Hook      HookCmd      `cmd:"" help:"Git hooks: pre-commit runs the guard, commit-msg adds the Oxygen-Lease trailers that prove a commit and the audit chain head that anchors the log; and the coding agents' edit-time hook."`
	Shadow    ShadowCmd    `cmd:"" help:"Shadow edits: changes made without a lease, found at lease boundaries and audits."`
	Mcp       McpCmd       `cmd:"" help:"Serve the protocol as MCP tools over stdio, as the owner fixed here (--print-config: the client's JSON entry)."`

	// For the shell rather than the repository.
	Completion cli.CompletionCmd `cmd:"" help:"Print shell completion code (bash, zsh, fish): add eval \"$(oxygen completion bash)\" to ~/.bashrc."`
}

func main() {
	var c CLI
	os.Exit(cli.Run("oxygen", &c, &c.Globals, os.Args[1:], cli.Options{
		Description: "Leases on shared resources: claim before you change, release when done.",
	}))
}
