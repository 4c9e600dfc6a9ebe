package workflow

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// git runs a git command at the top of the worktree the command runs in and
// returns its stdout. Git names every path from there; fromGit turns them
// into root-relative ones. The top, not the oxygen root, also keeps hooks
// right: in a linked worktree git hands its hooks GIT_DIR without
// GIT_WORK_TREE, and git then takes the directory it runs in for the top.
func (s *Service) git(ctx context.Context, args ...string) ([]byte, error) {
	return s.gitWithInput(ctx, nil, args...)
}

// gitWithInput runs a git command that reads stdin.
func (s *Service) gitWithInput(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = s.gitTop()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, Errorf(EINVALID, "git %s: %s", strings.Join(args, " "), msg)
	}
	return out, nil
}

// gitTop is the top of the worktree the command runs in (the oxygen root
// outside git).
func (s *Service) gitTop() string {
	if s.Layout != nil && s.Layout.GitTop != "" {
		return s.Layout.GitTop
	}
	return s.Worktree
}

// gitPrefix is where the oxygen root sits below the git top, slash-separated
// with a trailing slash: "svc/" when svc/ holds .substrate/, "" when the two
// are the same directory.
func (s *Service) gitPrefix() string {
	rel, err := filepath.Rel(s.gitTop(), s.Worktree)
	if err != nil || rel == "." {
		return ""
	}
	return filepath.ToSlash(rel) + "/"
}

// fromGit turns a path as git prints it (relative to the worktree's top)
// into one relative to the oxygen root, where resource globs are anchored.
// ok is false for a path outside the oxygen root, which no resource covers.
// Every path read from git goes through here, once.
func fromGit(prefix, p string) (rel string, ok bool) {
	rest, ok := strings.CutPrefix(p, prefix)
	if !ok || rest == "" {
		return "", false
	}
	return rest, true
}

// isGitRepo reports whether the root is inside a git work tree.
func (s *Service) isGitRepo(ctx context.Context) bool {
	out, err := s.git(ctx, "rev-parse", "--is-inside-work-tree")
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// trackedFiles lists the files git tracks under the oxygen root,
// root-relative.
func (s *Service) trackedFiles(ctx context.Context) ([]string, error) {
	prefix := s.gitPrefix()
	scope := prefix
	if scope == "" {
		scope = "."
	}
	out, err := s.git(ctx, "ls-files", "-z", "--full-name", "--", scope)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range bytes.Split(out, []byte{0}) {
		if rel, ok := fromGit(prefix, string(f)); ok {
			files = append(files, rel)
		}
	}
	return files, nil
}

// Change is one path a commit changes, relative to the oxygen root, with the
// git object id of its new content ("" when the commit removes the path).
type Change struct {
	Path string `json:"path"`
	Blob string `json:"blob"`
}

// parseRaw reads `git diff --raw -z` output, paths as git prints them. A
// rename counts on both sides: the old path is removed as much as the new
// one is written. A copy writes only its new path.
func parseRaw(out []byte) []Change {
	fields := bytes.Split(out, []byte{0})
	var changes []Change
	for i := 0; i < len(fields); i++ {
		meta := strings.Fields(string(fields[i])) // :mode mode object object status
		if len(meta) != 5 || !strings.HasPrefix(meta[0], ":") || i+1 >= len(fields) {
			continue
		}
		blob := meta[3]
		if strings.Trim(blob, "0") == "" {
			blob = ""
		}
		switch meta[4][0] {
		case 'R', 'C':
			if i+2 >= len(fields) {
				return changes
			}
			if meta[4][0] == 'R' {
				changes = append(changes, Change{Path: string(fields[i+1])})
			}
			changes = append(changes, Change{Path: string(fields[i+2]), Blob: blob})
			i += 2
		default:
			changes = append(changes, Change{Path: string(fields[i+1]), Blob: blob})
			i++
		}
	}
	return changes
}

// changes lists what a commit changes, root-relative; commit "" is the
// index, the commit about to be made, whose first parent is HEAD. Against
// the first parent (a root commit: against nothing) every path counts. A
// merge also has other parents: a path whose content equals its content in
// one of them came from that side, where it was changed and is checked in
// its own right, so only the paths a merge changes against every parent (a
// resolved conflict, an edit made in the merge) stay.
func (s *Service) changes(ctx context.Context, commit string, parents []string) ([]Change, error) {
	var args []string
	switch {
	case commit == "":
		args = []string{"diff", "--cached", "--raw", "--no-abbrev", "-z", "-M", "--no-ext-diff"}
	case len(parents) == 0:
		args = []string{"diff-tree", "-r", "--root", "--raw", "--no-abbrev", "-z", "-M", "--no-commit-id", "--no-ext-diff", commit}
	default:
		args = []string{"diff-tree", "-r", "--raw", "--no-abbrev", "-z", "-M", "--no-commit-id", "--no-ext-diff", parents[0], commit}
	}
	out, err := s.git(ctx, args...)
	if err != nil {
		return nil, err
	}
	all := parseRaw(out)
	for i := 1; i < len(parents) && len(all) > 0; i++ {
		args := []string{"diff-tree", "-r", "--name-only", "-z", "--no-commit-id", parents[i], commit}
		if commit == "" {
			args = []string{"diff", "--cached", "--name-only", "-z", parents[i]}
		}
		out, err := s.git(ctx, args...)
		if err != nil {
			return nil, err
		}
		differs := map[string]bool{}
		for _, p := range bytes.Split(out, []byte{0}) {
			differs[string(p)] = true
		}
		kept := all[:0]
		for _, c := range all {
			if differs[c.Path] {
				kept = append(kept, c)
			}
		}
		all = kept
	}
	prefix := s.gitPrefix()
	inRoot := make([]Change, 0, len(all))
	for _, c := range all {
		if rel, ok := fromGit(prefix, c.Path); ok {
			c.Path = rel
			inRoot = append(inRoot, c)
		}
	}
	return inRoot, nil
}

// StagedChanges lists what the commit being made changes: the index against
// HEAD and, while a merge is concluded, against the commits being merged.
func (s *Service) StagedChanges(ctx context.Context) ([]Change, error) {
	parents := []string{"HEAD"}
	if s.Layout != nil && s.Layout.GitDir != "" {
		if data, err := os.ReadFile(filepath.Join(s.Layout.GitDir, "MERGE_HEAD")); err == nil {
			parents = append(parents, strings.Fields(string(data))...)
		}
	}
	return s.changes(ctx, "", parents)
}

// StagedPaths lists the root-relative paths the commit being made changes.
func (s *Service) StagedPaths(ctx context.Context) ([]string, error) {
	changes, err := s.StagedChanges(ctx)
	if err != nil {
		return nil, err
	}
	return ChangedPaths(changes), nil
}

// ChangedPaths lists the paths of changes.
func ChangedPaths(changes []Change) []string {
	paths := make([]string, len(changes))
	for i, c := range changes {
		paths[i] = c.Path
	}
	return paths
}

// Commit is one commit with what the guard needs of it: the values of its
// Oxygen-Lease trailers and the paths it changes. Its dates are not read:
// anyone can set them.
type Commit struct {
	Hash     string
	Parents  []string
	Trailers []string
	Changes  []Change
}

// commitFormat prints, per commit, its hash and parents, then its
// Oxygen-Lease trailer values separated by US, the record ending in RS.
const commitFormat = "%H %P%x00%(trailers:key=" + LeaseTrailerKey + ",valueonly,separator=%x1f)%x1e"

// readCommits lists the commits rev-list selects with args, oldest first.
func (s *Service) readCommits(ctx context.Context, args ...string) ([]Commit, error) {
	out, err := s.git(ctx, append([]string{"rev-list", "--reverse", "--no-commit-header", "--format=" + commitFormat}, args...)...)
	if err != nil {
		return nil, err
	}
	var commits []Commit
	for _, rec := range strings.Split(string(out), "\x1e") {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		ids, trailers, ok := strings.Cut(rec, "\x00")
		f := strings.Fields(ids)
		if !ok || len(f) == 0 {
			return nil, Errorf(EINTERNAL, "git rev-list: unexpected record %q", rec)
		}
		c := Commit{Hash: f[0], Parents: f[1:]}
		for _, t := range strings.Split(strings.TrimSpace(trailers), "\x1f") {
			if t = strings.TrimSpace(t); t != "" {
				c.Trailers = append(c.Trailers, t)
			}
		}
		if c.Changes, err = s.changes(ctx, c.Hash, c.Parents); err != nil {
			return nil, err
		}
		commits = append(commits, c)
	}
	return commits, nil
}

// CommitsIn lists the commits of a range such as A..B, oldest first.
func (s *Service) CommitsIn(ctx context.Context, spec string) ([]Commit, error) {
	if !strings.Contains(spec, "..") || strings.HasPrefix(spec, "-") {
		return nil, Errorf(EINVALID, "--range %q: give a revision range such as main..HEAD", spec)
	}
	return s.readCommits(ctx, spec, "--")
}

// CommitAt reads one commit, named as git names revisions (HEAD, a hash).
func (s *Service) CommitAt(ctx context.Context, rev string) (*Commit, error) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return nil, Errorf(EINVALID, "commit %q: name a commit, such as HEAD or a hash", rev)
	}
	out, err := s.git(ctx, "rev-parse", "-q", "--verify", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return nil, Errorf(EINVALID, "%q is not a commit of this repository", rev)
	}
	commits, err := s.readCommits(ctx, "--no-walk", strings.TrimSpace(string(out)))
	if err != nil {
		return nil, err
	}
	if len(commits) != 1 {
		return nil, Errorf(EINTERNAL, "git rev-list %s: %d commits", rev, len(commits))
	}
	return &commits[0], nil
}

// HooksDir is where git looks for hooks (core.hooksPath respected). Linked
// worktrees share it with the main one, so one install serves them all.
func (s *Service) HooksDir(ctx context.Context) (string, error) {
	out, err := s.git(ctx, "rev-parse", "--path-format=absolute", "--git-path", "hooks")
	if err != nil {
		return "", Errorf(EINVALID, "not a git repository: %s", ErrorMessage(err))
	}
	return strings.TrimSpace(string(out)), nil
}

// GitPrefix is the oxygen root's place below the worktree's top ("" when
// they are one): hooks run at the top and must name the root.
func (s *Service) GitPrefix() string { return strings.TrimSuffix(s.gitPrefix(), "/") }

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
