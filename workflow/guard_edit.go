package workflow

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/pathspec"
)

// The edit-time guard: a coding agent's editing tool asks, before it writes a
// file, whether its owner holds the lease that the file needs. It is the
// earliest of three checks. The pre-commit guard (CheckPaths) and the audit
// job's shadow-edit detection still catch whatever it cannot see, such as a
// file written by a shell command.

// EditRequest is an edit an agent's tool is about to make.
type EditRequest struct {
	Actor   Actor  // who edits; Owner or Domain is "" when it could not be told
	Problem string // why the identity could not be resolved, if it could not
	Path    string // root-relative (see EditPath)
	Tool    string // the agent's tool name, for the record
}

// EditVerdict is the guard's answer. A refused edit names the first resource
// that blocks it and, in Message, exactly what to run.
type EditVerdict struct {
	Path     string  `json:"path"`
	Allowed  bool    `json:"allowed"`
	Resource string  `json:"resource,omitempty"`
	Domain   string  `json:"domain,omitempty"`
	Holder   *Holder `json:"holder,omitempty"`
	Message  string  `json:"message,omitempty"`
}

// EditPath turns the path an editing tool names (absolute, or relative to
// the working directory) into a root-relative one. ok is false for a path
// outside the repository. A path that is lexically outside is tried again
// with symbolic links resolved on both sides, so that /var/x and
// /private/var/x (macOS) or a checkout reached through a symlink are not
// mistaken for somewhere else.
func EditPath(root, p string) (rel string, ok bool) {
	if rel, _, err := cleanUserPath(root, p); err == nil {
		return rel, true
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", false
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", false
	}
	// Resolved from /, which contains everything: the file itself may not
	// exist yet (Write creates it), and Resolve follows what does.
	real, err := pathspec.Resolve("/", strings.TrimPrefix(abs, "/"))
	if err != nil {
		return "", false
	}
	rel, _, err = cleanUserPath(realRoot, real)
	return rel, err == nil
}

// GuardEdit decides whether req.Actor may edit req.Path now. A path under no
// resource, or under resources all held by the actor, is allowed after one
// read transaction (none at all for a path under no resource). A refusal is
// decided again and recorded as guard.block in one write transaction, so the
// audit log holds exactly the verdicts that were given.
func (s *Service) GuardEdit(ctx context.Context, req EditRequest) (*EditVerdict, error) {
	resources := s.Config.ResourcesFor(req.Path)
	if len(resources) == 0 {
		return &EditVerdict{Path: req.Path, Allowed: true}, nil
	}
	var v *EditVerdict
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		v, err = s.judgeEdit(ctx, tx, req, resources)
		return err
	})
	if err != nil || v.Allowed {
		return v, err
	}
	err = s.write(ctx, func(tx *Tx) error {
		var err error
		if v, err = s.judgeEdit(ctx, tx, req, resources); err != nil || v.Allowed {
			return err
		}
		actor := req.Actor.Owner
		if actor == "" {
			actor = SystemActor.Owner
		}
		return tx.audit(ctx, actor, "guard.block", "resource:"+v.Resource, map[string]any{
			"path": v.Path, "tool": req.Tool, "owner": req.Actor.Owner, "domain": req.Actor.Domain, "holder": v.Holder, "message": v.Message})
	})
	return v, err
}

// judgeEdit finds the first resource covering the path that the actor does
// not hold, and says what to run about it.
func (s *Service) judgeEdit(ctx context.Context, tx *Tx, req EditRequest, resources []Resource) (*EditVerdict, error) {
	who := req.Actor
	for _, r := range resources {
		l, err := tx.activeLease(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		if l != nil && !l.liveAt(tx.now) {
			l = nil
		}
		if l != nil && who.Owner != "" && l.Owner == who.Owner {
			continue
		}
		known := who.Owner != "" && who.Domain != ""
		needsHandshake := false
		if known && l == nil && r.Domain != who.Domain {
			ok, err := tx.hasHandshake(ctx, who.Domain, r.Domain, r.ID, tx.now.Add(-s.Config.Leases.HandshakeTTL))
			if err != nil {
				return nil, err
			}
			needsHandshake = !ok
		}
		v := &EditVerdict{Path: req.Path, Resource: r.ID, Domain: r.Domain}
		under := fmt.Sprintf("%s is under %s (%s)", req.Path, r.ID, r.Domain)
		switch {
		case !known:
			v.Message = fmt.Sprintf("%s and the guard cannot tell who you are: %s; then claim it: oxygen claim %s", under, req.Problem, r.ID)
		case l != nil:
			wait := l.ExpiresAt.Sub(tx.now).Round(time.Minute) + time.Minute
			v.Message = fmt.Sprintf("%s, held by %s (%s) until %s: queue for it with oxygen claim %s --owner %s --wait %s, or work elsewhere",
				under, l.Owner, l.Domain, l.ExpiresAt, r.ID, who.Owner, FormatDuration(wait))
		case needsHandshake:
			v.Message = fmt.Sprintf("%s, another domain's resource: send the handshake first, %s, then claim it: oxygen claim %s --owner %s",
				under, HandshakeCommand(who, r, ""), r.ID, who.Owner)
		default:
			v.Message = fmt.Sprintf("%s, held by nobody: claim it first: oxygen claim %s --owner %s", under, r.ID, who.Owner)
		}
		if l != nil {
			v.Holder = &Holder{Owner: l.Owner, Domain: l.Domain, Token: l.Token, ExpiresAt: l.ExpiresAt}
		}
		return v, nil
	}
	return &EditVerdict{Path: req.Path, Allowed: true}, nil
}

// HandshakeCommand is the exact command that opens resource r to who's
// domain, optionally naming the item the change is for.
func HandshakeCommand(who Actor, r Resource, item string) string {
	cmd := fmt.Sprintf("orchestrate signal send --kind handshake --from %s --domain %s --to %s --resource %s", who.Owner, who.Domain, r.Domain, r.ID)
	if item != "" {
		cmd += " --item " + item
	}
	return cmd + ` --body "what you will change and why"`
}
