package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// unreachableStore is a server store URL nothing answers: a command that
// reaches the server build fails there, at the connection, exit 6.
const unreachableStore = "OXYGEN_STORE_URL=postgres://oxygen@127.0.0.1:1/none?connect_timeout=2"

// TestPlainBuildsCarryNoServerDriver: oxygen and orchestrate link no
// PostgreSQL driver (every command would pay its start-up), and their
// serverstore builds do.
func TestPlainBuildsCarryNoServerDriver(t *testing.T) {
	t.Parallel()
	deps := func(args ...string) string {
		cmd := exec.Command("go", append([]string{"list", "-deps"}, args...)...)
		cmd.Dir = ".."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %v: %v", args, err)
		}
		return string(out)
	}
	if plain := deps("./cmd/oxygen", "./cmd/orchestrate"); strings.Contains(plain, "github.com/jackc/") {
		t.Errorf("oxygen or orchestrate links the PostgreSQL driver:\n%s", grepLines(plain, "github.com/jackc/"))
	}
	if server := deps("-tags", "serverstore", "./cmd/oxygen", "./cmd/orchestrate"); !strings.Contains(server, "github.com/oxygen-tools/oxygen/store/postgres\n") {
		t.Errorf("the serverstore builds do not link store/postgres")
	}
}

func grepLines(s, sub string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// TestHandOffToServerBuild: on a server store, oxygen and orchestrate run
// the command in their -pg builds, with the same arguments and the same
// standard input; the server build is the one that then fails to reach
// this (unreachable) server.
func TestHandOffToServerBuild(t *testing.T) {
	r := newRepo(t)
	plain := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(plainDir, name), args...)
		cmd.Dir, cmd.Env = r.dir, append(append([]string{}, r.env...), unreachableStore)
		return cmd
	}
	for _, tool := range []string{"oxygen", "orchestrate"} {
		res := runCmd(t, plain(tool, "status"))
		if res.code != 6 || !strings.Contains(res.stderr, "cannot reach the store server 127.0.0.1:1") {
			t.Errorf("%s status on an unreachable server store: exit %d\n%s", tool, res.code, res.stderr)
		}
	}
	// The hook reads its JSON before it opens the store: the server build
	// gets the same bytes, finds the path under storage and only then
	// fails on the store (an unreadable store lets the edit through).
	hook := plain("oxygen", "hook", "pre-edit")
	hook.Env = append(hook.Env, "OXYGEN_OWNER=ada")
	hook.Stdin = strings.NewReader(`{"tool_name":"Write","tool_input":{"file_path":"backups/rotate.sh"}}`)
	if res := runCmd(t, hook); res.code != 0 || !strings.Contains(res.stderr, "cannot reach the store server 127.0.0.1:1") {
		t.Errorf("hook pre-edit on an unreachable server store: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestHandOffWithoutServerBuild: a plain build alone refuses a server
// store with one line that says what is missing, before writing anything;
// and a plain build installed under the server build's name is refused
// rather than run in a loop.
func TestHandOffWithoutServerBuild(t *testing.T) {
	r := newRepo(t)
	alone := t.TempDir()
	for _, tool := range []string{"oxygen", "orchestrate"} {
		data, err := os.ReadFile(filepath.Join(plainDir, tool))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(alone, tool), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(dir, tool string, args ...string) result {
		cmd := exec.Command(filepath.Join(alone, tool), args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + r.dir, "GOCOVERDIR=" + os.Getenv("GOCOVERDIR"), unreachableStore}
		return runCmd(t, cmd)
	}
	want := func(tool string) string {
		return tool + ": invalid: this repository's store is on a server, and " + tool + " carries no PostgreSQL driver; " + tool + "-pg, the build that does, is neither next to it nor on PATH: make install puts both in place\n"
	}
	before := dumpOf(t, r.dir)
	if res := run(r.dir, "oxygen", "claim", "storage", "--owner", "ada", "--domain", "builder"); res.code != 2 || res.stdout != "" || res.stderr != want("oxygen") {
		t.Errorf("claim without oxygen-pg: exit %d\n%s", res.code, res.stderr)
	}
	if after := dumpOf(t, r.dir); after != before {
		t.Errorf("the refused claim changed the store")
	}
	fresh := t.TempDir()
	if res := run(fresh, "orchestrate", "init"); res.code != 2 || res.stdout != "" || res.stderr != want("orchestrate") {
		t.Errorf("init without orchestrate-pg: exit %d\n%s", res.code, res.stderr)
	}
	if entries, _ := os.ReadDir(fresh); len(entries) != 0 {
		t.Errorf("the refused init wrote %v", entries)
	}

	// A plain build named oxygen-pg would hand the command to itself.
	data, _ := os.ReadFile(filepath.Join(alone, "oxygen"))
	if err := os.WriteFile(filepath.Join(alone, "oxygen-pg"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	if res := run(r.dir, "oxygen", "status"); res.code != 2 || !strings.Contains(res.stderr, "oxygen-pg carries no PostgreSQL driver although it is the server build") {
		t.Errorf("a plain build as oxygen-pg: exit %d\n%s", res.code, res.stderr)
	}
}

// dumpOf is every row of the store the tools find from dir.
func dumpOf(t *testing.T, dir string) string {
	t.Helper()
	dump, err := dumpStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dump
}

// TestServerStoreThroughThePlainBuild: with the plain builds installed
// (make install), every command on a server store goes through the
// hand-off; a claim, a second claimant and a release behave as they do
// when the server builds are called directly, on the same rows.
func TestServerStoreThroughThePlainBuild(t *testing.T) {
	serverOnly(t)
	r := newRepo(t)
	plain := func(args ...string) result {
		cmd := exec.Command(filepath.Join(plainDir, "oxygen"), args...)
		cmd.Dir, cmd.Env = r.dir, append([]string{}, r.env...)
		return runCmd(t, cmd)
	}
	if res := plain("claim", "storage", "--owner", "ada", "--domain", "builder", "--json"); res.code != 0 || parseLease(t, res).Owner != "ada" {
		t.Fatalf("claim through the plain build: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := plain("claim", "storage", "--owner", "bo", "--domain", "builder"); res.code != 3 || !strings.Contains(res.stderr, "storage is held by ada (builder)") {
		t.Fatalf("second claimant through the plain build: exit %d\n%s", res.code, res.stderr)
	}
	if got := r.activeOwner("storage"); got != "ada" {
		t.Fatalf("active owner in the store = %q, want ada", got)
	}
	if res := plain("release", "storage", "--owner", "ada", "--domain", "builder"); res.code != 0 {
		t.Fatalf("release through the plain build: exit %d\n%s", res.code, res.stderr)
	}
	if got := r.activeOwner("storage"); got != "" {
		t.Fatalf("active owner after the release = %q, want none", got)
	}
}
