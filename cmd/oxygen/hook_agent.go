package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// Edit-time hooks for coding agents. Claude Code runs a PreToolUse hook before
// each editing tool call, hands it the call as JSON on stdin, and refuses the
// call when the hook exits 2, showing the hook's stderr to the agent. This
// hook is the earliest guard, not the only one: it sees only the editing
// tools, so a file written by a shell command reaches the pre-commit guard
// and the audit job's shadow-edit detection instead.

// editTools are the Claude Code tools that write files.
const editTools = "Edit|Write|MultiEdit|NotebookEdit"

// The commands the installed hooks run. They name the binaries, not a path,
// because .claude/settings.json is usually committed and shared.
const (
	preEditCommand = "oxygen hook pre-edit"
	primeCommand   = "orchestrate prime"
)

// preToolUse is the part of Claude Code's PreToolUse payload the guard reads.
// The decoder skips everything else (a Write's content included) without
// keeping it.
type preToolUse struct {
	ToolName  string `json:"tool_name"`
	Cwd       string `json:"cwd"`
	ToolInput struct {
		FilePath     string `json:"file_path"`
		NotebookPath string `json:"notebook_path"`
	} `json:"tool_input"`
}

// HookPreEditCmd is the PreToolUse hook.
type HookPreEditCmd struct {
	cli.Identity
}

func (c *HookPreEditCmd) Run(env *cli.Env) error {
	// Anything the guard cannot read lets the edit through with one warning:
	// a broken hook must not wedge the agent, and the commit-time guard
	// still checks the change.
	allow := func(format string, args ...any) error {
		env.Warnf("hook pre-edit: %s; edit allowed (the pre-commit guard still checks it)", fmt.Sprintf(format, args...))
		return nil
	}
	var p preToolUse
	input, err := env.ReadStdin()
	if err == nil {
		err = json.NewDecoder(bytes.NewReader(input)).Decode(&p)
	}
	if err != nil {
		return allow("cannot read the hook's JSON on stdin (%v)", err)
	}
	path := p.ToolInput.FilePath
	if path == "" {
		path = p.ToolInput.NotebookPath
	}
	if path == "" {
		if strings.Contains("|"+editTools+"|", "|"+p.ToolName+"|") {
			return allow("%s names no file_path or notebook_path", p.ToolName)
		}
		return nil
	}
	if p.Cwd != "" {
		if err := os.Chdir(p.Cwd); err != nil {
			return allow("cwd %s: %v", p.Cwd, err)
		}
	}
	l, err := env.Layout()
	if err != nil {
		return nil // not an oxygen repository: nothing to guard
	}
	cfg, err := workflow.LoadConfig(l.Root)
	if err != nil {
		return allow("%s", workflow.ErrorMessage(err))
	}
	// Paths are the worktree's the agent works in; the policy is the one
	// that governs the shared store.
	rel, inside := workflow.EditPath(l.Worktree, path)
	if !inside {
		// Another worktree of the same repository shares the store, so
		// its files are guarded by the same leases.
		if other, err := workflow.Discover(filepath.Dir(path)); err == nil && other.Home == l.Home {
			rel, inside = workflow.EditPath(other.Worktree, path)
		}
	}
	if !inside || len(cfg.ResourcesFor(rel)) == 0 {
		return nil // decided without opening the store
	}
	svc, err := env.Service()
	if err != nil {
		return allow("%s", workflow.ErrorMessage(err))
	}
	req := workflow.EditRequest{Path: rel, Tool: p.ToolName}
	req.Actor, err = c.Identity.Resolve(svc)
	if err != nil {
		// Keep the owner, if one was named, for the record of the block.
		req.Actor.Owner, req.Problem = cmp.Or(c.Owner, os.Getenv("OXYGEN_OWNER"), svc.ConfiguredOwner()), workflow.ErrorMessage(err)
	}
	v, err := svc.GuardEdit(env.Ctx, req)
	if err != nil {
		return allow("%s", workflow.ErrorMessage(err))
	}
	if v.Allowed {
		return nil
	}
	fmt.Fprintf(env.Stderr, "%s: blocked: %s\n", env.Tool, v.Message)
	return &cli.ExitError{Code: 2}
}

// installAgent merges the agent's hooks into .claude/settings.json: the
// PreToolUse guard on the editing tools and the SessionStart briefing. What
// is there already stays, in its order; a hook already present (by its
// command) is not added twice, so installing again changes nothing.
func (c *HookInstallCmd) installAgent(env *cli.Env) error {
	if c.Agent != "claude" {
		return workflow.Errorf(workflow.EINVALID, "--agent %q: oxygen installs hooks for claude (Claude Code); other agents can use oxygen mcp", c.Agent)
	}
	l, err := env.Layout()
	if err != nil {
		return err
	}
	// Claude Code reads the settings of the worktree it runs in.
	rel := ".claude/settings.json"
	path := filepath.Join(l.Worktree, filepath.FromSlash(rel))
	var added []string
	status, err := workflow.UpdateFile(l.Worktree, rel, func(old []byte) ([]byte, error) {
		merged, a, err := mergeClaudeHooks(old)
		if err != nil {
			return nil, workflow.Errorf(workflow.EINVALID, "%s: %v; fix it or move it away, then run oxygen hook install --agent claude again (nothing was written)", rel, err)
		}
		added = a
		return merged, nil
	})
	if err != nil {
		return err
	}
	if status == "created" {
		status = "installed"
	}
	doc := map[string]any{"settings": path, "status": status, "added": added}
	return env.Output(doc, func() {
		switch status {
		case "unchanged":
			env.Printf("%s already has the oxygen hooks\n", path)
		default:
			env.Printf("%s %s: %s\n", status, path, strings.Join(added, "; "))
		}
	})
}

// mergeClaudeHooks returns settings (a JSON object, or empty) with the
// oxygen hooks added where missing, and what it added. Keys keep their
// order; values it does not change keep their content.
func mergeClaudeHooks(settings []byte) ([]byte, []string, error) {
	if len(bytes.TrimSpace(settings)) == 0 {
		settings = []byte("{}")
	}
	top, err := parseObject(settings)
	if err != nil {
		return nil, nil, fmt.Errorf("not a JSON object: %v", err)
	}
	hooks := &jsonObject{vals: map[string]json.RawMessage{}}
	if raw, ok := top.vals["hooks"]; ok {
		if hooks, err = parseObject(raw); err != nil {
			return nil, nil, fmt.Errorf(`"hooks" is not a JSON object: %v`, err)
		}
	}
	var added []string
	for _, want := range []struct{ event, matcher, command string }{
		{"PreToolUse", editTools, preEditCommand},
		{"SessionStart", "", primeCommand},
	} {
		var groups []json.RawMessage
		if raw, ok := hooks.vals[want.event]; ok {
			if err := json.Unmarshal(raw, &groups); err != nil {
				return nil, nil, fmt.Errorf(`"hooks.%s" is not a JSON array: %v`, want.event, err)
			}
		}
		if hasHookCommand(groups, want.command) {
			continue
		}
		type hook struct {
			Type    string `json:"type"`
			Command string `json:"command"`
		}
		group, _ := json.Marshal(struct {
			Matcher string `json:"matcher,omitempty"`
			Hooks   []hook `json:"hooks"`
		}{want.matcher, []hook{{"command", want.command}}})
		groups = append(groups, group)
		raw, _ := json.Marshal(groups)
		hooks.set(want.event, raw)
		added = append(added, want.event+": "+want.command)
	}
	if len(added) == 0 {
		return settings, nil, nil
	}
	top.set("hooks", hooks.marshal())
	var out bytes.Buffer
	if err := json.Indent(&out, top.marshal(), "", "  "); err != nil {
		return nil, nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), added, nil
}

// hasHookCommand reports whether any hook in groups runs command. Groups
// that do not have the documented shape are skipped, not refused: they are
// someone else's business.
func hasHookCommand(groups []json.RawMessage, command string) bool {
	for _, g := range groups {
		var group struct {
			Hooks []struct {
				Command string `json:"command"`
			} `json:"hooks"`
		}
		if json.Unmarshal(g, &group) != nil {
			continue
		}
		for _, h := range group.Hooks {
			if strings.TrimSpace(h.Command) == command {
				return true
			}
		}
	}
	return false
}

// jsonObject is a JSON object that remembers its key order, so a merge
// leaves a hand-written file recognisable.
type jsonObject struct {
	keys []string
	vals map[string]json.RawMessage
}

func parseObject(data []byte) (*jsonObject, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err == nil {
			err = fmt.Errorf("found %v", tok)
		}
		return nil, err
	}
	o := &jsonObject{vals: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // inside an object the decoder only yields string keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		o.set(key, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("something follows the object")
	}
	return o, nil
}

func (o *jsonObject) set(key string, raw json.RawMessage) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = raw
}

func (o *jsonObject) marshal() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		b.Write(key)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}
