package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/oxygen-tools/oxygen/internal/safefs"
)

// Coding agents read AGENTS.md (and Claude Code reads CLAUDE.md) before they
// start. `orchestrate init --agents` keeps a section there that tells them
// how to join the protocol. The section sits between two marker lines and is
// rewritten in place; whatever the people who own the file wrote outside
// the markers is never touched.

const (
	guideBegin = "<!-- oxygen:agents:begin (written by orchestrate init --agents; rewritten in place, edit outside these markers) -->"
	guideEnd   = "<!-- oxygen:agents:end -->"
	// The markers are recognised by these prefixes, so a reworded marker
	// from an older version is still found and replaced.
	guideBeginPrefix = "<!-- oxygen:agents:begin"
	guideEndPrefix   = "<!-- oxygen:agents:end"
)

// GuideFile is what init --agents did to one file.
type GuideFile struct {
	Path   string `json:"path"`   // relative to the directory written in
	Status string `json:"status"` // created, updated or unchanged
}

// agentGuide is the section's text.
func agentGuide(cfg *Config) string {
	lines := []string{
		guideBegin,
		"## Agents: coordinate through Oxygen",
		"",
		"This repository is shared by several agents and people; Oxygen keeps them from stepping on each other.",
		"",
		"1. Say who you are before running anything: `export OXYGEN_OWNER=<your name>`. Your domain (" +
			strings.Join(cfg.DomainNames(), ", ") + ") comes from `agents:` in `" + ConfigFile + "`, or from `OXYGEN_DOMAIN`.",
		"2. Run `orchestrate prime` at the start of every session: who you are, your domain's budgets, your items and their capsules, your leases, the signals waiting for you, and the rules with the exact commands.",
		"3. Before you edit a file, claim the resource it falls under: `oxygen which PATH`, then `oxygen claim RESOURCE --item ID`. Release it when the change is in: `oxygen release RESOURCE`.",
		"4. Read what waits for you with `orchestrate signal inbox`, and acknowledge it with `orchestrate signal ack N`.",
		"",
		"Claude Code: `oxygen hook install --agent claude` stops edits to resources you do not hold and runs `orchestrate prime` when a session starts. Other MCP clients: `oxygen mcp --print-config` prints the server entry.",
		guideEnd,
	}
	return strings.Join(lines, "\n") + "\n"
}

// WriteAgentGuides adds or updates the section in AGENTS.md under dir,
// creating the file if needed, and in CLAUDE.md if that exists. Both are
// read before either is written, so a file whose markers are not exactly one
// begin followed by one end refuses the whole call.
func WriteAgentGuides(dir string, cfg *Config) ([]GuideFile, error) {
	r, err := safefs.Open(dir)
	if err != nil {
		return nil, Errorf(EINTERNAL, "open %s: %v", dir, err)
	}
	defer r.Close()
	section := agentGuide(cfg)
	type plan struct {
		rel, status string
		new         []byte
		mode        fs.FileMode
	}
	var plans []plan
	for _, rel := range []string{"AGENTS.md", "CLAUDE.md"} {
		old, mode, exists, err := readOptional(r, rel)
		if err != nil {
			return nil, err
		}
		if !exists && rel == "CLAUDE.md" {
			continue
		}
		updated, err := withGuide(string(old), section)
		if err != nil {
			return nil, Errorf(EINVALID, "%s: %v; fix the markers by hand and run orchestrate init --agents again", rel, err)
		}
		plans = append(plans, plan{rel: rel, status: changeStatus(exists, old, []byte(updated)), new: []byte(updated), mode: mode})
	}
	out := []GuideFile{}
	for _, p := range plans {
		if p.status != "unchanged" {
			if err := r.WriteAtomic(p.rel, p.new, p.mode, tempTag(os.Getpid())); err != nil {
				return nil, Errorf(EINTERNAL, "write %s: %v", p.rel, err)
			}
		}
		out = append(out, GuideFile{Path: p.rel, Status: p.status})
	}
	return out, nil
}

// UpdateFile rewrites rel under dir (a file people own, such as an agent's
// settings) with update applied to its content, nil when it does not exist,
// through the confined file layer: atomically, keeping its mode, and not at
// all when nothing changes. It returns created, updated or unchanged.
func UpdateFile(dir, rel string, update func(old []byte) ([]byte, error)) (string, error) {
	r, err := safefs.Open(dir)
	if err != nil {
		return "", Errorf(EINTERNAL, "open %s: %v", dir, err)
	}
	defer r.Close()
	old, mode, exists, err := readOptional(r, rel)
	if err != nil {
		return "", err
	}
	updated, err := update(old)
	if err != nil {
		return "", err
	}
	status := changeStatus(exists, old, updated)
	if status != "unchanged" {
		if err := r.WriteAtomic(rel, updated, mode, tempTag(os.Getpid())); err != nil {
			return "", Errorf(EINTERNAL, "write %s: %v", rel, err)
		}
	}
	return status, nil
}

// maxOwnedFile bounds what UpdateFile and WriteAgentGuides read: these are
// hand-written text files.
const maxOwnedFile = 4 << 20

// readOptional reads rel whole; exists is false, and mode the default 0644,
// when there is no such file.
func readOptional(r *safefs.Root, rel string) (data []byte, mode fs.FileMode, exists bool, err error) {
	data, err = r.ReadFile(rel, maxOwnedFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, 0o644, false, nil
	case err != nil:
		return nil, 0, false, Errorf(EINVALID, "read %s: %v", rel, err)
	}
	mode = 0o644
	if fi, err := r.Stat(rel); err == nil {
		mode = fi.Mode().Perm()
	}
	return data, mode, true, nil
}

func changeStatus(exists bool, old, updated []byte) string {
	switch {
	case !exists:
		return "created"
	case !bytes.Equal(old, updated):
		return "updated"
	}
	return "unchanged"
}

// withGuide returns text with section in place of the marked one, or
// appended after a blank line when there is none.
func withGuide(text, section string) (string, error) {
	lines := strings.SplitAfter(text, "\n")
	begin, end := -1, -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, guideBeginPrefix):
			if begin >= 0 {
				return "", fmt.Errorf("two %s... markers", guideBeginPrefix)
			}
			begin = i
		case strings.HasPrefix(t, guideEndPrefix):
			if end >= 0 {
				return "", fmt.Errorf("two %s... markers", guideEndPrefix)
			}
			end = i
		}
	}
	switch {
	case begin < 0 && end < 0:
		if text == "" {
			return section, nil
		}
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		return text + "\n" + section, nil
	case begin < 0 || end < 0 || end < begin:
		return "", fmt.Errorf("the oxygen:agents markers are unpaired or out of order")
	}
	return strings.Join(lines[:begin], "") + section + strings.Join(lines[end+1:], ""), nil
}
