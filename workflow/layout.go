package workflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/oxygen-tools/oxygen/internal/flock"
)

// Layout says where one command finds each part of a repository. Agents work
// in several git worktrees of one repository at once, so "the repository"
// is three places, not one:
//
//   - Root is the oxygen root of the main worktree: its .substrate/oxygen.yaml
//     is the one policy that governs the shared store, and signal exports go
//     under it.
//   - Worktree is the oxygen root of the worktree the command runs in: the
//     files a claim, a capsule or a guard looks at, and the git index a
//     pre-commit check reads, are always this worktree's.
//   - Home holds the machine-local state every worktree shares: the
//     database, the blob store, capsules and reports. In a git repository it
//     is under the git common directory (<common>/oxygen), which every linked
//     worktree shares, which `git clean -fdX` never touches, and which no
//     worktree's `git status` shows. Outside git it is today's .substrate/.
//
// Discovery reads .git, gitdir and commondir files by hand: spawning git on
// every command would cost more than the transaction it runs.
type Layout struct {
	Root     string `json:"root"`
	Worktree string `json:"worktree"`
	Home     string `json:"home"`
	// GitCommon is the git common directory, "" outside git.
	GitCommon string `json:"git_common_dir,omitempty"`
	// GitTop is the top directory of the worktree the command runs in, ""
	// outside git. Worktree is at or below it: an oxygen root may sit in a
	// subdirectory of the repository (svc/ holding .substrate/), while git
	// runs at the top and names every path from there.
	GitTop string `json:"git_top,omitempty"`
	// GitDir is that worktree's own git directory, where git keeps the
	// state of a merge being concluded.
	GitDir string `json:"git_dir,omitempty"`
	// Explicit is set when Home came from OXYGEN_STORE or store.path.
	Explicit string `json:"explicit,omitempty"`
	// legacyHome is Root/.substrate, where stores lived before Home moved
	// under the git common directory; see MigrateLegacy.
	legacyHome string
}

// The machine-local directories, by their logical (root-relative) names.
// Home has the same four below it wherever it is, and rows store logical
// paths, so a store keeps working when Home moves; StatePath maps them.
var machineLocal = []string{"state", "store", "capsules", "reports"}

// DBPath is the database file.
func (l *Layout) DBPath() string { return filepath.Join(l.Home, "state", "oxygen.db") }

// StatePath maps a logical path such as .substrate/capsules/WORK-1.md onto
// Home; any other root-relative path is under Root.
func (l *Layout) StatePath(logical string) string {
	dir, rel := l.stateRoot(logical)
	return filepath.Join(dir, filepath.FromSlash(rel))
}

// stateRoot splits a logical path into the directory no access to it may
// leave (Home for machine-local state, else Root) and its path below that.
func (l *Layout) stateRoot(logical string) (dir, rel string) {
	if rest, ok := strings.CutPrefix(logical, SubstrateDir+"/"); ok {
		top, _, _ := strings.Cut(rest, "/")
		for _, d := range machineLocal {
			if top == d {
				return l.Home, rest
			}
		}
	}
	return l.Root, logical
}

// Found reports whether Home holds a database file.
func (l *Layout) Found() bool {
	_, err := os.Stat(l.DBPath())
	return err == nil
}

// gitRepo is what the .git entry of a worktree top says.
type gitRepo struct {
	top    string // the worktree's top directory
	dir    string // the worktree's own git directory (index, HEAD, MERGE_HEAD)
	common string // the common directory shared by every worktree
	linked bool   // top is a linked worktree (git worktree add)
}

// findUp walks from dir towards / and returns the nearest directory holding
// .substrate/ and the nearest worktree top (a directory holding .git).
func findUp(dir string) (cfgDir string, repo *gitRepo) {
	for {
		if cfgDir == "" {
			if fi, err := os.Stat(filepath.Join(dir, SubstrateDir)); err == nil && fi.IsDir() {
				cfgDir = dir
			}
		}
		if repo == nil {
			repo = readGitEntry(dir)
		}
		if cfgDir != "" && repo != nil {
			return cfgDir, repo
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return cfgDir, repo
		}
		dir = parent
	}
}

// readGitEntry reads dir/.git: a directory in a main worktree, a file
// "gitdir: PATH" in a linked worktree, whose gitdir names the common
// directory in its commondir file.
func readGitEntry(dir string) *gitRepo {
	entry := filepath.Join(dir, ".git")
	fi, err := os.Lstat(entry)
	if err != nil {
		return nil
	}
	if fi.IsDir() {
		return &gitRepo{top: dir, dir: entry, common: entry}
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	data, err := os.ReadFile(entry)
	if err != nil {
		return nil
	}
	gitdir, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
	if !ok {
		return nil
	}
	gitdir = strings.TrimSpace(gitdir)
	if !filepath.IsAbs(gitdir) {
		gitdir = filepath.Join(dir, gitdir)
	}
	common := gitdir
	if data, err := os.ReadFile(filepath.Join(gitdir, "commondir")); err == nil {
		c := strings.TrimSpace(string(data))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitdir, c)
		}
		common = filepath.Clean(c)
	}
	return &gitRepo{top: dir, dir: filepath.Clean(gitdir), common: common, linked: common != filepath.Clean(gitdir)}
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// Discover finds the layout for a command started in dir. A directory
// holding .substrate/ above dir makes the oxygen root; in a linked worktree
// without one, the main worktree's is used.
func Discover(dir string) (*Layout, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, Errorf(EINTERNAL, "resolve %s: %v", dir, err)
	}
	cfgDir, repo := findUp(abs)
	// A git repository only counts when the oxygen root is inside it; a
	// .substrate/ above the repository's top belongs to something else.
	if repo != nil && cfgDir != "" && !within(repo.top, cfgDir) {
		repo = nil
	}
	if repo == nil {
		if cfgDir == "" {
			return nil, ErrNotRepository
		}
		home := filepath.Join(cfgDir, SubstrateDir)
		return &Layout{Root: cfgDir, Worktree: cfgDir, Home: home, legacyHome: home}, nil
	}
	prefix := ""
	if cfgDir != "" {
		prefix, _ = filepath.Rel(repo.top, cfgDir)
	}
	l := &Layout{GitCommon: repo.common, GitTop: repo.top, GitDir: repo.dir}
	l.Home = filepath.Join(repo.common, "oxygen")
	if prefix != "" && prefix != "." {
		// Two oxygen roots in one repository keep two stores.
		l.Home += "-" + strings.ReplaceAll(filepath.ToSlash(prefix), "/", "-")
	} else {
		prefix = ""
	}
	main := ""
	if filepath.Base(repo.common) == ".git" {
		main = filepath.Dir(repo.common)
	}
	if cfgDir != "" {
		l.Worktree = cfgDir
	} else {
		l.Worktree = filepath.Join(repo.top, prefix)
	}
	l.Root = l.Worktree
	if main != "" {
		mainRoot := filepath.Join(main, prefix)
		if _, err := os.Stat(filepath.Join(mainRoot, ConfigFile)); err == nil {
			l.Root = mainRoot
		}
	}
	if _, err := os.Stat(filepath.Join(l.Root, ConfigFile)); err != nil && cfgDir == "" {
		// No config in this worktree nor in the main one: only a store
		// already made for the repository makes this an oxygen repository.
		if !l.Found() {
			return nil, ErrNotRepository
		}
	}
	l.legacyHome = filepath.Join(l.Root, SubstrateDir)
	return l, nil
}

// DiscoverRoot is Discover for an explicit --root or OXYGEN_ROOT: it names
// the repository, which must be initialised, while the worktree stays the
// one the command runs in (cwd) when cwd is a worktree of that repository.
func DiscoverRoot(root, cwd string) (*Layout, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, Errorf(EINTERNAL, "resolve %s: %v", root, err)
	}
	if fi, err := os.Stat(filepath.Join(abs, SubstrateDir)); err != nil || !fi.IsDir() {
		return nil, Errorf(EINVALID, "%s: not an oxygen repository (run orchestrate init)", abs)
	}
	l, err := Discover(abs)
	if err != nil {
		return nil, err
	}
	if cwd == "" || l.GitCommon == "" {
		return l, nil
	}
	if here, err := Discover(cwd); err == nil && here.GitCommon == l.GitCommon && here.Home == l.Home {
		l.Worktree, l.GitTop, l.GitDir = here.Worktree, here.GitTop, here.GitDir
	}
	return l, nil
}

// UseStore points Home at an explicit store directory: OXYGEN_STORE, else
// the config's store.path (relative to Root). Several clones on one machine
// share a store this way.
func (l *Layout) UseStore(env, configured string) {
	dir := env
	if dir == "" {
		dir = configured
	}
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(l.Root, dir)
	}
	l.Home, l.Explicit = filepath.Clean(dir), filepath.Clean(dir)
}

// CheckStore refuses, with exit 2 and nothing created, a command that finds
// no usable store: only init creates one. When the repository shows earlier
// use, the message says the store is missing rather than not yet made.
func (l *Layout) CheckStore(signalsDir string) error {
	db := l.DBPath()
	fi, err := os.Stat(db)
	switch {
	case err == nil && fi.Mode().IsRegular() && fi.Size() > 0:
		f, err := os.Open(db)
		if err != nil {
			return Errorf(EINVALID, "store %s is unreadable: %v", db, unwrapPathError(err))
		}
		header := make([]byte, 16)
		_, rerr := f.ReadAt(header, 0)
		f.Close()
		if rerr != nil || !bytes.Equal(header, []byte("SQLite format 3\x00")) {
			return Errorf(EINVALID, "store %s is not an oxygen database: restore it from a backup, or move it away and run orchestrate init", db)
		}
		return nil
	case err == nil && fi.Mode().IsRegular():
		return Errorf(EINVALID, "store %s is empty: restore it from a backup, or remove it and run orchestrate init", db)
	case err == nil:
		return Errorf(EINVALID, "store %s is not a file", db)
	case !errors.Is(err, os.ErrNotExist):
		return Errorf(EINVALID, "store %s is unreadable: %v", db, unwrapPathError(err))
	}
	if l.Explicit != "" {
		return Errorf(EINVALID, "no store at %s (set by OXYGEN_STORE or store.path): check the path, or run orchestrate init to create it", db)
	}
	if used := l.earlierUse(signalsDir); used != "" {
		return Errorf(EINVALID, "the store %s is missing, though this repository has been used (%s): restore it from a backup, or run orchestrate init to start a new one", db, used)
	}
	return Errorf(EINVALID, "no store at %s: run orchestrate init", db)
}

// earlierUse names evidence that a store existed here: exported signals,
// capsules or reports.
func (l *Layout) earlierUse(signalsDir string) string {
	for _, c := range []struct{ dir, what string }{
		{filepath.Join(l.Root, filepath.FromSlash(signalsDir)), "signal files"},
		{filepath.Join(l.Home, "capsules"), "capsules"},
		{filepath.Join(l.Home, "reports"), "audit reports"},
	} {
		if entries, err := os.ReadDir(c.dir); err == nil && len(entries) > 0 {
			return c.what + " in " + c.dir
		}
	}
	return ""
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// MigrateLegacy moves a store of the previous layout (Root/.substrate) to
// Home under the git common directory, so that every worktree shares it.
// It runs without being asked, at most once, under a file lock; the
// database directory moves last, so a crash midway leaves the old store in
// use and the next command finishes the move. Where a rename cannot be
// done (another file system), the old store simply stays in use. It reports
// whether it moved anything.
func (l *Layout) MigrateLegacy() (bool, error) {
	if l.GitCommon == "" || l.Explicit != "" || l.Found() {
		return false, nil
	}
	legacyDB := filepath.Join(l.legacyHome, "state", "oxygen.db")
	if _, err := os.Stat(legacyDB); err != nil {
		return false, nil
	}
	if err := os.MkdirAll(l.Home, 0o755); err != nil {
		return false, Errorf(EINTERNAL, "create %s: %v", l.Home, err)
	}
	unlock, err := flock.Lock(filepath.Join(l.Home, ".migrate.lock"))
	if err != nil {
		return false, Errorf(EINTERNAL, "%v", err)
	}
	defer unlock()
	if l.Found() {
		return false, nil // another process moved it while we waited
	}
	for _, d := range []string{"store", "capsules", "reports", "state"} {
		from, to := filepath.Join(l.legacyHome, d), filepath.Join(l.Home, d)
		if _, err := os.Stat(from); err != nil {
			continue
		}
		if err := os.Rename(from, to); err != nil {
			if d == "state" {
				// Keep using the old store where it is.
				l.Home = l.legacyHome
				return false, nil
			}
			continue
		}
	}
	return true, nil
}

// Shown is how a command prints a logical path (a capsule, a report, a
// signal export): as it is when it opens from the worktree the command runs
// in, else absolute, so that it opens from any worktree.
func (s *Service) Shown(logical string) string {
	if logical == "" {
		return ""
	}
	abs := s.Layout.StatePath(logical)
	if abs == filepath.Join(s.Worktree, filepath.FromSlash(logical)) {
		return logical
	}
	return abs
}

// PolicyDrift explains, in one line, how the oxygen.yaml of the worktree a
// command runs in differs from the one that governs the shared store (the
// main worktree's) in domains, budgets or resources; "" when it does not.
// Worktrees on other branches may hold other committed versions, and
// agents should know which one their claims are judged by.
func PolicyDrift(l *Layout, governing *Config) string {
	if l.Worktree == l.Root {
		return ""
	}
	here := filepath.Join(l.Worktree, ConfigFile)
	src, err := readConfigFile(l.Worktree)
	if err != nil {
		return ""
	}
	if main, err := readConfigFile(l.Root); err == nil && bytes.Equal(src, main) {
		return ""
	}
	local, err := ParseConfig(here, src)
	if err != nil {
		return fmt.Sprintf("%s does not load (%s); the store is governed by %s", here, ErrorMessage(err), filepath.Join(l.Root, ConfigFile))
	}
	var differ []string
	if !reflect.DeepEqual(local.Domains, governing.Domains) {
		differ = append(differ, "domains or budgets")
	}
	if len(local.Resources) != len(governing.Resources) {
		differ = append(differ, "resources")
	} else {
		for i, r := range local.Resources {
			g := governing.Resources[i]
			if r.ID != g.ID || r.Domain != g.Domain || !slices.Equal(r.Paths, g.Paths) {
				differ = append(differ, "resources")
				break
			}
		}
	}
	if len(differ) == 0 {
		return ""
	}
	return fmt.Sprintf("this worktree's %s differs in %s from %s, which governs the shared store and applies", ConfigFile, strings.Join(differ, " and "), filepath.Join(l.Root, ConfigFile))
}

// Where is what `orchestrate where` prints.
type Where struct {
	Root          string `json:"root"`
	Worktree      string `json:"worktree"`
	Config        string `json:"config"`
	Store         string `json:"store"`
	StoreID       string `json:"store_id"`
	SchemaVersion int64  `json:"schema_version"`
}

// Where describes the layout and the store it opened. The store's identity
// is the hash of its first audit event: unique to each store, so a store
// re-initialised after a loss is told apart from the one before.
func (s *Service) Where(ctx context.Context) (*Where, error) {
	info := s.Store.Info()
	w := &Where{Root: s.Root, Worktree: s.Worktree, Config: filepath.Join(s.Root, ConfigFile), Store: info.Location, SchemaVersion: info.Schema}
	var err error
	err = s.read(ctx, func(tx *Tx) error {
		w.StoreID, err = tx.storeIdentity(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// StrayStore names a store of the previous layout left in a linked
// worktree (each worktree used to get its own): it is no longer read, and
// its rows are not in the shared store. "" when there is none.
func StrayStore(l *Layout) string {
	if l.Worktree == l.Root || l.GitCommon == "" {
		return ""
	}
	stray := filepath.Join(l.Worktree, SubstrateDir, "state", "oxygen.db")
	if _, err := os.Stat(stray); err != nil {
		return ""
	}
	return fmt.Sprintf("%s is a store of the previous layout and is no longer used; the shared store is %s (copy what you need, then remove it)", stray, l.DBPath())
}
