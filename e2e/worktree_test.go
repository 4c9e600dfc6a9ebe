package e2e

// One store per repository (issue 8): agents work in git worktrees of one
// repository, in subdirectories, and in clones sharing a store path; every
// guarantee must hold across all of them. These tests use real git.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// gitRepo is a git repository with oxygen initialised and committed, and
// two linked worktrees.
type gitRepo struct {
	main, wt1, wt2 *repo
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// at is a repo handle for another directory of the same repository.
func (r *repo) at(dir string) *repo {
	return &repo{t: r.t, dir: dir, env: r.env}
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIP: git is not installed")
	}
	base := t.TempDir()
	mainDir := filepath.Join(base, "main")
	if err := os.MkdirAll(filepath.Join(mainDir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, mainDir, "init", "-q", "-b", "main")
	r := &repo{t: t, dir: mainDir, env: toolEnv(base)}
	r.mustRun("orchestrate", "init")
	if err := os.WriteFile(filepath.Join(mainDir, "src", "keep"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, mainDir, "add", "-A")
	git(t, mainDir, "commit", "-q", "-m", "oxygen")
	g := &gitRepo{main: r}
	for i, name := range []string{"wt1", "wt2"} {
		dir := filepath.Join(base, name)
		git(t, mainDir, "worktree", "add", "-q", "-b", fmt.Sprintf("b%d", i), dir)
		if i == 0 {
			g.wt1 = r.at(dir)
		} else {
			g.wt2 = r.at(dir)
		}
	}
	return g
}

func TestWorktreesShareOneStore(t *testing.T) {
	g := newGitRepo(t)
	sub := g.main.at(filepath.Join(g.main.dir, "src"))
	var want string
	if onServer() {
		// A server store is found by the committed id, the same from every
		// checkout: the main worktree names it.
		var w struct{ Store string }
		if err := json.Unmarshal([]byte(g.main.mustRun("orchestrate", "where", "--json").stdout), &w); err != nil {
			t.Fatal(err)
		}
		want = w.Store
	} else if want = g.main.dbPath(); filepath.Dir(filepath.Dir(want)) != filepath.Join(g.main.dir, ".git", "oxygen") {
		t.Fatalf("store at %s, want it under the git common directory", want)
	}
	for _, r := range []*repo{g.wt1, g.wt2, sub} {
		var w struct {
			Root, Worktree, Store string
		}
		if err := json.Unmarshal([]byte(r.mustRun("orchestrate", "where", "--json").stdout), &w); err != nil {
			t.Fatal(err)
		}
		if w.Store != want || w.Root != g.main.dir {
			t.Fatalf("from %s: where = %+v, want store %s and root %s", r.dir, w, want, g.main.dir)
		}
		if r != sub && w.Worktree != r.dir {
			t.Fatalf("from %s: worktree %s", r.dir, w.Worktree)
		}
	}
	// One holder whichever checkout claims first.
	g.wt1.mustRun("oxygen", "claim", "storage", "--owner", "ada", "--domain", "builder")
	for _, r := range []*repo{g.main, g.wt2, sub} {
		res := r.run("oxygen", "claim", "storage", "--owner", "bo", "--domain", "builder")
		if res.code != 3 || !strings.Contains(res.stderr, "storage is held by ada") {
			t.Fatalf("claim from %s: exit %d: %s", r.dir, res.code, res.stderr)
		}
	}
	// init anywhere in the repository changes nothing and names the store.
	for _, r := range []*repo{g.wt1, sub} {
		res := r.mustRun("orchestrate", "init")
		if !strings.HasPrefix(res.stdout, "already initialised at ") || !strings.Contains(res.stdout, want) {
			t.Fatalf("init in %s: %q", r.dir, res.stdout)
		}
	}
	for _, p := range []string{filepath.Join(sub.dir, ".substrate"), filepath.Join(g.wt1.dir, ".substrate", "state")} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s was created", p)
		}
	}
	if got := g.main.query(`SELECT count(*) FROM audit_log WHERE action = 'store.init'`); got != "1\n" {
		t.Fatalf("store.init events: %q", got)
	}
}

func TestWorktreeClaimRace(t *testing.T) {
	g := newGitRepo(t)
	dirs := []*repo{g.main, g.wt1, g.wt2}
	results := make([]result, 32)
	var ready, wg sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(32)
	wg.Add(32)
	for i := 0; i < 32; i++ {
		go func(i int) {
			defer wg.Done()
			ready.Done()
			<-gate
			results[i] = dirs[i%3].run("oxygen", "claim", "schema", "--owner", fmt.Sprintf("agent-%02d", i), "--domain", "scribe")
		}(i)
	}
	ready.Wait()
	close(gate)
	wg.Wait()
	winners, conflicts := 0, 0
	for i, res := range results {
		switch res.code {
		case 0:
			winners++
		case 3:
			conflicts++
		default:
			t.Errorf("process %d: exit %d: %s", i, res.code, res.stderr)
		}
	}
	if winners != 1 || conflicts != 31 {
		t.Fatalf("%d winners and %d conflicts, want 1 and 31", winners, conflicts)
	}
	if got := g.main.query(`SELECT count(*) FROM leases`); got != "1\n" {
		t.Fatalf("leases: %q", got)
	}
}

// TestStoreLossKeepsFencing: after the store is deleted every command but
// init refuses and creates nothing; a new store never verifies an old token.
func TestStoreLossKeepsFencing(t *testing.T) {
	sqliteOnly(t, "deletes the store's directory under .git")
	g := newGitRepo(t)
	r := g.wt1
	r.mustRun("orchestrate", "add", "--title", "t", "--kind", "chore", "--domain", "builder", "--priority", "low", "--objective", "o")
	r.mustRun("orchestrate", "assign", "WORK-001", "--owner", "builder")
	old := parseLease(t, r.mustRun("oxygen", "claim", "storage", "--owner", "builder", "--json"))
	home := filepath.Join(g.main.dir, ".git", "oxygen")
	if err := os.RemoveAll(home); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{
		{"oxygen", "status"}, {"oxygen", "verify", "storage", "--token", fmt.Sprint(old.Token)},
		{"oxygen", "claim", "storage", "--owner", "builder"}, {"orchestrate", "list"}, {"orchestrate", "health"},
	} {
		res := r.run(argv[0], argv[1:]...)
		want := 2
		if argv[1] == "health" {
			want = 3 // health's own convention: 3 is "unknown"
		}
		if res.code != want || strings.Count(res.stderr, "\n") != 1 || !strings.Contains(res.stderr, "is missing, though this repository has been used") ||
			!strings.Contains(res.stderr, filepath.Join(home, "state", "oxygen.db")) {
			t.Fatalf("%v with no store: exit %d: %q", argv, res.code, res.stderr)
		}
		if _, err := os.Stat(home); err == nil {
			t.Fatalf("%v created %s", argv, home)
		}
	}
	r.mustRun("orchestrate", "init")
	res := r.run("oxygen", "verify", "storage", "--token", fmt.Sprint(old.Token))
	if res.code != 3 {
		t.Fatalf("old token verified against a new store: exit %d %s%s", res.code, res.stdout, res.stderr)
	}
	fresh := parseLease(t, r.mustRun("oxygen", "claim", "storage", "--owner", "builder", "--json"))
	if fresh.Token <= old.Token {
		t.Fatalf("new store's token %d is not above the lost store's %d", fresh.Token, old.Token)
	}
	if res := r.run("oxygen", "verify", "storage", "--token", fmt.Sprint(old.Token)); res.code != 3 || !strings.Contains(res.stderr, "is not current") {
		t.Fatalf("old token against the new lease: exit %d %s", res.code, res.stderr)
	}
}

// TestClonesShareAStorePath: two clones on one machine sharing OXYGEN_STORE
// see each other's leases.
func TestClonesShareAStorePath(t *testing.T) {
	sqliteOnly(t, "OXYGEN_STORE shares a SQLite file; on a server the committed id does (server_test.go)")
	g := newGitRepo(t)
	store := filepath.Join(t.TempDir(), "team-store")
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, filepath.Dir(clone), "clone", "-q", g.main.dir, clone)
	a := g.main.at(g.main.dir)
	a.env = append(append([]string{}, a.env...), "OXYGEN_STORE="+store)
	b := a.at(clone)
	a.mustRun("orchestrate", "init")
	if res := b.mustRun("orchestrate", "init"); !strings.HasPrefix(res.stdout, "already initialised") {
		t.Fatalf("second clone's init: %q", res.stdout)
	}
	a.mustRun("oxygen", "claim", "deployment", "--owner", "builder")
	res := b.run("oxygen", "claim", "deployment", "--owner", "ada", "--domain", "builder")
	if res.code != 3 || !strings.Contains(res.stderr, "deployment is held by builder") {
		t.Fatalf("claim from the other clone: exit %d %s", res.code, res.stderr)
	}
	// Without the variable each clone has its own store.
	if res := g.main.at(clone).run("oxygen", "status"); res.code != 2 {
		t.Fatalf("clone without OXYGEN_STORE: exit %d %s", res.code, res.stderr)
	}
}

// TestLegacyStoreMigrates: a store of the previous layout (.substrate/state
// in the working tree) is moved under the git common directory by the next
// command, keeping every row and a verifying chain.
func TestLegacyStoreMigrates(t *testing.T) {
	sqliteOnly(t, "moves the SQLite file of the previous layout")
	r := newRepo(t) // outside git: the previous layout
	r.mustRun("oxygen", "claim", "storage", "--owner", "builder")
	r.mustRun("orchestrate", "add", "--title", "t", "--kind", "chore", "--domain", "builder", "--priority", "low", "--objective", "o")
	r.mustRun("orchestrate", "assign", "WORK-001", "--owner", "builder")
	before := r.snapshot()
	events := r.query(`SELECT count(*), max(seq), (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1) FROM audit_log`)
	git(t, r.dir, "init", "-q")
	status := r.mustRun("oxygen", "status")
	if !strings.Contains(status.stdout, "storage") {
		t.Fatalf("status after the move: %s", status.stdout)
	}
	if _, err := os.Stat(filepath.Join(r.dir, ".substrate", "state", "oxygen.db")); err == nil {
		t.Fatalf("the old store is still in the working tree")
	}
	if got := r.dbPath(); got != filepath.Join(r.dir, ".git", "oxygen", "state", "oxygen.db") {
		t.Fatalf("store now at %s", got)
	}
	if got := r.query(`SELECT count(*), max(seq), (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1) FROM audit_log`); got != events {
		t.Fatalf("audit log after the move: %q, before %q", got, events)
	}
	if after := r.snapshot(); after != before {
		t.Fatalf("rows changed in the move")
	}
	r.mustRun("orchestrate", "audit", "verify")
	capsule := r.mustRun("orchestrate", "capsule", "show", "WORK-001")
	if !strings.Contains(capsule.stdout, "WORK-001") {
		t.Fatalf("capsule after the move: %s", capsule.stdout)
	}
}

// TestWorktreePolicyAndFiles: the main worktree's config governs and a
// differing one in a linked worktree is warned about; shadow edits are
// found per worktree and name it; a restore runs where the edit was made.
func TestWorktreePolicyAndFiles(t *testing.T) {
	g := newGitRepo(t)
	cfg := filepath.Join(g.wt1.dir, ".substrate", "oxygen.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), `builder: {description: "runtime substrate, deploy, backups, ops automation", max_in_progress: 2, max_leases: 2}`,
		`builder: {description: "runtime substrate, deploy, backups, ops automation", max_in_progress: 2, max_leases: 5}`, 1)
	if changed == string(data) {
		t.Fatal("could not edit the config")
	}
	if err := os.WriteFile(cfg, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	res := g.wt1.mustRun("oxygen", "status")
	if !strings.Contains(res.stderr, "differs in domains or budgets from "+filepath.Join(g.main.dir, ".substrate", "oxygen.yaml")) || strings.Count(res.stderr, "\n") != 1 {
		t.Fatalf("no one-line policy warning: %q", res.stderr)
	}
	if res := g.main.mustRun("oxygen", "status"); res.stderr != "" {
		t.Fatalf("main worktree warned: %q", res.stderr)
	}
	h := g.wt1.run("orchestrate", "health")
	if h.code != 1 || !strings.Contains(h.stdout, "differs in domains or budgets") {
		t.Fatalf("health in the worktree: exit %d %s", h.code, h.stdout)
	}
	// The worktree's first fingerprint of storage, at the claim below, holds
	// this file: what changes it later without a lease is a shadow edit.
	if err := os.MkdirAll(filepath.Join(g.wt1.dir, "backups"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(g.wt1.dir, "backups", "rotate.sh")
	if err := os.WriteFile(file, []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The main worktree's budget applies: builder may hold 2 leases.
	for _, res := range []string{"storage", "index"} {
		g.wt1.mustRun("oxygen", "claim", res, "--owner", "builder")
	}
	if res := g.wt1.run("oxygen", "claim", "deployment", "--owner", "builder"); res.code != 4 {
		t.Fatalf("a third lease under the main worktree's budget of 2: exit %d %s", res.code, res.stderr)
	}
	for _, res := range []string{"storage", "index"} {
		g.wt1.mustRun("oxygen", "release", res, "--owner", "builder")
	}
	// Shadow edits per worktree.
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	g.main.mustRun("orchestrate", "audit", "report")
	if err := os.WriteFile(file, []byte("v2 unleased\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.main.mustRun("orchestrate", "audit", "report")
	if got := g.main.query(`SELECT resource, worktree FROM shadow_edits`); got != "storage\t"+g.wt1.dir+"\n" {
		t.Fatalf("shadow edits: %q", got)
	}
	if body := g.main.query(`SELECT body FROM signals WHERE kind = 'dead_end'`); !strings.Contains(body, "in the worktree "+g.wt1.dir) {
		t.Fatalf("the finding does not name the worktree: %s", body)
	}
	g.main.mustRun("oxygen", "claim", "storage", "--owner", "builder")
	res = g.main.run("oxygen", "shadow", "restore", "1", "--owner", "builder")
	if res.code != 2 || !strings.Contains(res.stderr, "cd "+g.wt1.dir+" && oxygen shadow restore 1") {
		t.Fatalf("restore from another worktree: exit %d %s", res.code, res.stderr)
	}
	g.wt1.mustRun("oxygen", "shadow", "restore", "1", "--owner", "builder")
	if got, _ := os.ReadFile(file); string(got) != "v1\n" {
		t.Fatalf("restored content %q", got)
	}
}
