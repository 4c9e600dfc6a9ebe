// Package pathspec matches repository paths against gitignore-style globs and
// keeps user-supplied paths inside the repository root.
//
// It is its own package because two layers need exactly the same answers:
// workflow decides which resource a path falls under, and capsules decides
// which files are secrets that must never be embedded. If the two disagreed, a
// file could be "owned" by one rule and "secret" by another.
package pathspec

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/oxygen-tools/oxygen/internal/textcheck"
)

// Pattern is one compiled gitignore-style glob.
//
// The rules follow gitignore: a pattern without a slash (other than a trailing
// one) matches at any depth; a leading or inner slash anchors it to the root; a
// trailing slash matches directories only; and a pattern that matches a
// directory covers everything beneath it. "**" crosses directory boundaries.
type Pattern struct {
	Source  string
	glob    string
	dirOnly bool
	fold    bool // match case-insensitively (secret patterns)
}

// Compile validates and compiles one pattern.
func Compile(src string) (Pattern, error) { return compile(src, false) }

// CompileSecret compiles a pattern of files that must never leave the
// repository. It differs from Compile in two ways, both towards withholding
// more: it matches case-insensitively, since `.ENV` and `server.KEY` hold
// what `.env` and `server.key` do and macOS and Windows file systems do not
// tell them apart; and it matches at any depth even with a slash in it, so
// that `.git/**` withholds a vendored `vendor/lib/.git/config` as well as the
// repository's own, and `.aws/credentials` is found in a checked-in home
// directory. A leading "/" does not anchor it either.
func CompileSecret(src string) (Pattern, error) { return compile(src, true) }

func compile(src string, secret bool) (Pattern, error) {
	p := strings.TrimSpace(src)
	if p == "" {
		return Pattern{}, errors.New("empty pattern")
	}
	if strings.HasPrefix(p, "!") {
		return Pattern{}, fmt.Errorf("pattern %q: negation is not supported", src)
	}
	dirOnly := strings.HasSuffix(p, "/")
	p = strings.TrimRight(p, "/")
	anchored := !secret && (strings.HasPrefix(p, "/") || strings.Contains(p, "/"))
	p = strings.TrimPrefix(p, "/")
	if secret {
		p = strings.ToLower(p)
	}
	if p == "" {
		return Pattern{}, fmt.Errorf("pattern %q matches the whole repository", src)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return Pattern{}, fmt.Errorf("pattern %q: %q segments are not allowed", src, seg)
		}
	}
	if !anchored && !strings.HasPrefix(p, "**/") {
		p = "**/" + p
	}
	if !doublestar.ValidatePattern(p) {
		return Pattern{}, fmt.Errorf("pattern %q is not a valid glob", src)
	}
	return Pattern{Source: src, glob: p, dirOnly: dirOnly, fold: secret}, nil
}

// Match reports whether the clean, slash-separated, root-relative file path
// falls under the pattern, either directly or through one of its directories.
func (p Pattern) Match(rel string) bool {
	if p.fold {
		rel = strings.ToLower(rel)
	}
	if !p.dirOnly && doublestar.MatchUnvalidated(p.glob, rel) {
		return true
	}
	return p.matchDir(path.Dir(rel))
}

// MatchDir reports whether the pattern covers the directory rel as a whole,
// everything beneath it included: it matches rel or one of its parents.
func (p Pattern) MatchDir(rel string) bool {
	if p.fold {
		rel = strings.ToLower(rel)
	}
	return p.matchDir(rel)
}

func (p Pattern) matchDir(rel string) bool {
	for dir := rel; dir != "." && dir != "/"; dir = path.Dir(dir) {
		if doublestar.MatchUnvalidated(p.glob, dir) {
			return true
		}
	}
	return false
}

// Base is where everything the pattern can match lies: its leading
// segments up to the first one holding a glob character, a directory or a
// file; "" when it may match anywhere. A fingerprint of one resource walks
// its patterns' bases only, not the whole worktree.
func (p Pattern) Base() string {
	if p.fold {
		return "" // any case: a walk cannot start from one spelling
	}
	segs := strings.Split(p.glob, "/")
	n := 0
	for n < len(segs) && !strings.ContainsAny(segs[n], `*?[{\`) {
		n++
	}
	return strings.Join(segs[:n], "/")
}

// Bases lists the bases of the set's patterns without repeats, none below
// another; [""] when one of them may match anywhere.
func (s Set) Bases() []string {
	var out []string
	for _, p := range s {
		b := p.Base()
		if b == "" {
			return []string{""}
		}
		out = append(out, b)
	}
	// Sorted, a directory comes before everything below it.
	sort.Strings(out)
	var kept []string
	for _, b := range out {
		if !slices.ContainsFunc(kept, func(k string) bool { return b == k || strings.HasPrefix(b, k+"/") }) {
			kept = append(kept, b)
		}
	}
	return kept
}

// Set is a list of patterns; a path matches the set if it matches any member.
type Set []Pattern

// CompileSet compiles every pattern, naming the first bad one.
func CompileSet(srcs []string) (Set, error) { return compileSet(srcs, Compile) }

// CompileSecretSet compiles every pattern with CompileSecret.
func CompileSecretSet(srcs []string) (Set, error) { return compileSet(srcs, CompileSecret) }

func compileSet(srcs []string, compile func(string) (Pattern, error)) (Set, error) {
	set := make(Set, 0, len(srcs))
	for _, s := range srcs {
		p, err := compile(s)
		if err != nil {
			return nil, err
		}
		set = append(set, p)
	}
	return set, nil
}

// Match reports whether rel matches any pattern in the set.
func (s Set) Match(rel string) bool {
	_, ok := s.First(rel)
	return ok
}

// First returns the first pattern of the set that rel matches.
func (s Set) First(rel string) (Pattern, bool) {
	for _, p := range s {
		if p.Match(rel) {
			return p, true
		}
	}
	return Pattern{}, false
}

// MatchDir reports whether any pattern in the set covers the directory rel
// as a whole.
func (s Set) MatchDir(rel string) bool {
	for _, p := range s {
		if p.MatchDir(rel) {
			return true
		}
	}
	return false
}

// CleanRel validates a user-supplied path that must name something inside the
// repository and returns it cleaned and slash-separated. Absolute paths and
// paths that climb out with ".." are refused.
func CleanRel(p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", errors.New("empty path")
	}
	if _, r, found := textcheck.FirstBad(p, textcheck.Line); found {
		return "", fmt.Errorf("path %q holds %s: control characters are not allowed in paths", p, textcheck.Describe(r))
	}
	slashed := filepath.ToSlash(p)
	if path.IsAbs(slashed) || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
		return "", fmt.Errorf("path %q is absolute; paths are relative to the repository root", p)
	}
	clean := path.Clean(slashed)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("path %q escapes the repository root", p)
	}
	if clean == "." {
		return "", fmt.Errorf("path %q names the repository root, not a file", p)
	}
	return clean, nil
}

// ErrOutsideRoot is returned when a path resolves, through symlinks, to a
// location outside the repository root.
var ErrOutsideRoot = errors.New("resolves outside the repository root")

// Resolve follows symlinks in rel (a CleanRel path) and checks that the result
// stays inside root. A path that does not exist yet is checked up to its
// deepest existing directory, so a missing file is not an error here.
func Resolve(root, rel string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	full := filepath.Join(root, filepath.FromSlash(rel))
	probe := full
	var tail []string
	for {
		real, err := filepath.EvalSymlinks(probe)
		if err == nil {
			resolved := filepath.Join(append([]string{real}, tail...)...)
			if !within(realRoot, resolved) {
				return "", fmt.Errorf("path %q %w", rel, ErrOutsideRoot)
			}
			return resolved, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		// A dangling symlink points somewhere that does not exist; judge it
		// by where it points, not by the missing target.
		if target, lerr := os.Readlink(probe); lerr == nil {
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(probe), target)
			}
			if !within(realRoot, filepath.Clean(target)) && !within(root, filepath.Clean(target)) {
				return "", fmt.Errorf("path %q %w", rel, ErrOutsideRoot)
			}
		}
		parent := filepath.Dir(probe)
		if parent == probe || !within(root, parent) {
			return full, nil
		}
		tail = append([]string{filepath.Base(probe)}, tail...)
		probe = parent
	}
}

func within(root, p string) bool {
	if p == root {
		return true
	}
	return strings.HasPrefix(p, strings.TrimRight(root, string(filepath.Separator))+string(filepath.Separator))
}
