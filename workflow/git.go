package workflow

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// git runs a git command in the repository and returns its stdout.
func (s *Service) git(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = s.Worktree
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

// isGitRepo reports whether the root is inside a git work tree.
func (s *Service) isGitRepo(ctx context.Context) bool {
	out, err := s.git(ctx, "rev-parse", "--is-inside-work-tree")
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// trackedFiles lists the files git tracks, root-relative.
func (s *Service) trackedFiles(ctx context.Context) ([]string, error) {
	out, err := s.git(ctx, "ls-files", "-z", "--full-name", "--", ".")
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range bytes.Split(out, []byte{0}) {
		if len(f) > 0 {
			files = append(files, string(f))
		}
	}
	return files, nil
}

// parseNameStatus reads `git diff --name-status -z` output. A rename or copy
// counts on both sides: the old path is changed (removed) as much as the new.
func parseNameStatus(out []byte) []string {
	fields := bytes.Split(out, []byte{0})
	var paths []string
	for i := 0; i < len(fields); i++ {
		status := string(fields[i])
		if status == "" {
			continue
		}
		switch status[0] {
		case 'R', 'C':
			if i+2 < len(fields) {
				paths = append(paths, string(fields[i+1]), string(fields[i+2]))
			}
			i += 2
		default:
			if i+1 < len(fields) {
				paths = append(paths, string(fields[i+1]))
			}
			i++
		}
	}
	return paths
}

// StagedPaths lists the paths staged for the next commit.
func (s *Service) StagedPaths(ctx context.Context) ([]string, error) {
	out, err := s.git(ctx, "diff", "--cached", "--name-status", "-z", "-M", "--no-ext-diff")
	if err != nil {
		return nil, err
	}
	return parseNameStatus(out), nil
}

// Commit is one commit of a range with the paths it changed.
type Commit struct {
	Hash      string
	Committed time.Time // committer time, whole seconds
	Paths     []string
}

// CommitsIn lists the commits of a range such as A..B, oldest first.
func (s *Service) CommitsIn(ctx context.Context, spec string) ([]Commit, error) {
	if !strings.Contains(spec, "..") || strings.HasPrefix(spec, "-") {
		return nil, Errorf(EINVALID, "--range %q: give a revision range such as main..HEAD", spec)
	}
	out, err := s.git(ctx, "rev-list", "--reverse", "--format=%H %ct", "--no-commit-header", spec)
	if err != nil {
		return nil, err
	}
	var commits []Commit
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		hash, ct, ok := strings.Cut(line, " ")
		sec, err := strconv.ParseInt(ct, 10, 64)
		if !ok || err != nil {
			return nil, Errorf(EINTERNAL, "git rev-list: unexpected line %q", line)
		}
		changed, err := s.git(ctx, "diff-tree", "--root", "--no-commit-id", "-r", "--name-status", "-z", "-M", "--no-ext-diff", hash)
		if err != nil {
			return nil, err
		}
		commits = append(commits, Commit{Hash: hash, Committed: time.Unix(sec, 0).UTC(), Paths: parseNameStatus(changed)})
	}
	return commits, nil
}

// HooksDir is where git looks for hooks (core.hooksPath respected).
func (s *Service) HooksDir(ctx context.Context) (string, error) {
	out, err := s.git(ctx, "rev-parse", "--path-format=absolute", "--git-path", "hooks")
	if err != nil {
		return "", Errorf(EINVALID, "not a git repository: %s", ErrorMessage(err))
	}
	return strings.TrimSpace(string(out)), nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
