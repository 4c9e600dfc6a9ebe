package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// HookCmd manages the git hooks and the coding agents' edit hooks.
type HookCmd struct {
	Install   HookInstallCmd   `cmd:"" help:"Write the pre-commit hook (oxygen check --staged) and the commit-msg hook (oxygen hook commit-msg); never replaces a hook it did not write. --agent claude instead merges the edit guard and the briefing into .claude/settings.json."`
	CommitMsg HookCommitMsgCmd `cmd:"" name:"commit-msg" help:"Prove the commit being made: record its changes under your leases, add an Oxygen-Lease trailer per lease and the Oxygen-Audit-Head trailer to the message file (the commit-msg hook runs this)."`
	PreEdit   HookPreEditCmd   `cmd:"" name:"pre-edit" help:"Claude Code PreToolUse hook: exit 2 with what to run when the file being edited is under a resource you do not hold."`
}

// gitHook is one hook oxygen writes. The marker identifies a hook this tool
// wrote, so that a later install may replace it and nothing else.
type gitHook struct {
	name    string
	marker  string
	comment string
	command string // oxygen's arguments
}

var gitHooks = []gitHook{
	{
		name:   "pre-commit",
		marker: "# oxygen pre-commit hook",
		comment: `# Refuses a commit that changes a shared resource unless you (OXYGEN_OWNER,
# or git config oxygen.owner) hold a lease on it. OXYGEN_GUARD=warn lets the
# commit through and records that in the audit log.`,
		command: "check --staged",
	},
	{
		name:   "commit-msg",
		marker: "# oxygen commit-msg hook",
		comment: `# Records what the commit changes under your leases and names each lease in
# an Oxygen-Lease trailer, which oxygen check --range verifies in CI. Adds the
# audit chain head as an Oxygen-Audit-Head trailer, which orchestrate audit
# verify checks: events cut from the log, or a rewritten log, no longer match.`,
		command: `hook commit-msg "$1"`,
	},
}

// invocation is the oxygen command the hook runs. Git runs hooks at the top
// of the worktree, so an oxygen root below it (svc/ holding .substrate/) is
// named with --root, relative to the top of whichever worktree commits.
func (h gitHook) invocation(prefix string) string {
	if prefix == "" {
		return "oxygen " + h.command
	}
	return "oxygen --root '" + strings.ReplaceAll(prefix, "'", `'\''`) + "' " + h.command
}

func (h gitHook) script(prefix string) string {
	return "#!/bin/sh\n" + h.marker + `: written by "oxygen hook install"; safe to delete.` + "\n" +
		h.comment + "\nexec " + h.invocation(prefix) + "\n"
}

// HookStatus is what install did with one hook.
type HookStatus struct {
	Hook   string `json:"hook"`
	Status string `json:"status"` // installed, unchanged or foreign (left alone)
}

// HookInstallCmd writes the hooks. They go where git looks for them
// (core.hooksPath respected), which linked worktrees share: one install
// serves every worktree.
type HookInstallCmd struct {
	Agent string `name:"agent" placeholder:"AGENT" help:"Install a coding agent's hooks instead of git's: claude (PreToolUse guard and SessionStart briefing in .claude/settings.json)."`
}

func (c *HookInstallCmd) Run(env *cli.Env) error {
	if c.Agent != "" {
		return c.installAgent(env)
	}
	svc, err := env.Service()
	if err != nil {
		return err
	}
	dir, err := svc.HooksDir(env.Ctx)
	if err != nil {
		return err
	}
	var done []HookStatus
	var foreign []string
	for _, h := range gitHooks {
		path := filepath.Join(dir, h.name)
		status, err := installHook(dir, path, h.marker, h.script(svc.GitPrefix()))
		if err != nil {
			return err
		}
		if status == "foreign" {
			foreign = append(foreign, path+" already exists and was not written by oxygen; it is left alone. To chain the two, add this line to it: "+h.invocation(svc.GitPrefix())+" || exit 1")
		}
		done = append(done, HookStatus{Hook: path, Status: status})
	}
	text := func() {
		for _, d := range done {
			switch d.Status {
			case "installed":
				env.Printf("installed %s\n", d.Hook)
			case "unchanged":
				env.Printf("%s is already installed\n", d.Hook)
			}
		}
	}
	if len(foreign) > 0 {
		return env.Finding(workflow.Errorf(workflow.ECONFLICT, "%s", strings.Join(foreign, "; ")), done, text)
	}
	return env.Output(done, text)
}

// installHook writes one hook unless a hook oxygen did not write is there.
func installHook(dir, path, marker, script string) (string, error) {
	existing, err := os.ReadFile(path)
	switch {
	case err == nil && !strings.Contains(string(existing), marker):
		return "foreign", nil
	case err == nil && string(existing) == script:
		return "unchanged", nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", workflow.Errorf(workflow.EINTERNAL, "read %s: %v", path, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", workflow.Errorf(workflow.EINTERNAL, "create %s: %v", dir, err)
	}
	tmp := path + ".oxygen-tmp"
	if err := os.WriteFile(tmp, []byte(script), 0o755); err != nil {
		return "", workflow.Errorf(workflow.EINTERNAL, "write hook: %v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", workflow.Errorf(workflow.EINTERNAL, "write hook: %v", err)
	}
	return "installed", nil
}

// HookCommitMsgCmd is the commit-msg hook's work: it proves the commit
// being made (see oxygen trailer) and adds the trailers to its message. It
// prints nothing when all is covered: git shows a hook's output with every
// commit. A merge is proved too: git runs this hook for merge commits, and
// pre-commit only for plain ones.
type HookCommitMsgCmd struct {
	File string `arg:"" name:"file" help:"The commit message file git passes to the hook."`
	cli.Identity
}

func (c *HookCommitMsgCmd) Run(env *cli.Env) error {
	svc, mode, err := openGuard(env)
	if err != nil {
		return err
	}
	msg, err := svc.ReadCommitMessage(env.Ctx, c.File)
	if err != nil || msg.Empty {
		return err
	}
	changes, err := svc.StagedChanges(env.Ctx)
	if err != nil {
		return err
	}
	res, actor, err := prove(env, svc, c.Identity, changes)
	if err != nil {
		return err
	}
	if err := guardVerdict(env, svc, mode, "OXYGEN_GUARD=warn (commit-msg)", actor.Owner, res, func() { printViolations(env, res) }); err != nil {
		return err
	}
	// The head is read last, so that it anchors what this commit recorded
	// (its attestations, a bypass) along with everything before.
	head, err := svc.AuditAnchor(env.Ctx)
	if err != nil {
		return err
	}
	return svc.AddTrailers(env.Ctx, msg, append(res.Trailers, head.Trailer))
}
