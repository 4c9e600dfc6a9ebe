package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// HookCmd manages the git pre-commit hook.
type HookCmd struct {
	Install HookInstallCmd `cmd:"" help:"Write a pre-commit hook that runs oxygen check --staged (never replaces a hook it did not write)."`
}

// hookMarker identifies a hook this tool wrote.
const hookMarker = "# oxygen pre-commit hook"

const hookScript = `#!/bin/sh
` + hookMarker + `: written by "oxygen hook install"; safe to delete.
# Refuses a commit that changes a shared resource unless OXYGEN_OWNER holds a
# lease on it. OXYGEN_GUARD=warn lets the commit through and records that in
# the audit log.
exec oxygen check --staged
`

// HookInstallCmd writes the hook.
type HookInstallCmd struct{}

func (c *HookInstallCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	dir, err := svc.HooksDir(env.Ctx)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "pre-commit")
	existing, err := os.ReadFile(path)
	switch {
	case err == nil && !strings.Contains(string(existing), hookMarker):
		return workflow.Errorf(workflow.ECONFLICT, "%s already exists and was not written by oxygen; it is left alone. To chain the two, add this line to it: oxygen check --staged || exit 1", path)
	case err == nil && string(existing) == hookScript:
		return env.Output(map[string]string{"hook": path, "status": "unchanged"}, func() { env.Printf("%s is already installed\n", path) })
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return workflow.Errorf(workflow.EINTERNAL, "read %s: %v", path, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return workflow.Errorf(workflow.EINTERNAL, "create %s: %v", dir, err)
	}
	tmp := path + ".oxygen-tmp"
	if err := os.WriteFile(tmp, []byte(hookScript), 0o755); err != nil {
		return workflow.Errorf(workflow.EINTERNAL, "write hook: %v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return workflow.Errorf(workflow.EINTERNAL, "write hook: %v", err)
	}
	return env.Output(map[string]string{"hook": path, "status": "installed"}, func() { env.Printf("installed %s\n", path) })
}
