package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// complete runs a tool as a shell's `complete -C` does: COMP_LINE holds the
// line so far, and the candidates come back one a line.
func (r *repo) complete(dir, line string) []string {
	r.t.Helper()
	name := strings.Fields(line)[0]
	cmd := r.command(name)
	cmd.Dir = dir
	cmd.Env = append(cmd.Env, "COMP_LINE="+line, "COMP_POINT="+strconv.Itoa(len(line)))
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("completing %q: %v", line, err)
	}
	got := strings.Fields(string(out))
	sort.Strings(got)
	return got
}

// TestShellCompletion: commands, flags and enums come from the grammar;
// resource, item, signal and council ids come from the repository's config
// and store, which completion opens read-only.
func TestShellCompletion(t *testing.T) {
	r := newRepo(t)
	r.mustRun("orchestrate", "add", "WORK-001", "--title", "t", "--kind", "chore", "--domain", "builder", "--priority", "low", "--objective", "o")
	r.mustRun("orchestrate", "add", "WORK-002", "--title", "t", "--kind", "chore", "--domain", "builder", "--priority", "low", "--objective", "o")
	r.mustRun("orchestrate", "add", "OPS-1", "--title", "t", "--kind", "chore", "--domain", "scribe", "--priority", "low", "--objective", "o")
	r.mustRun("orchestrate", "signal", "send", "--kind", "missive", "--from", "builder", "--body", "b")
	r.mustRun("orchestrate", "council", "call", "--item", "WORK-002", "--from", "builder", "--reason", "r")
	before, err := dumpStore(r.dir)
	if err != nil {
		t.Fatal(err)
	}

	for line, want := range map[string]string{
		"oxygen cl":                           "claim",
		"oxygen claim ":                       "coordination deployment execution identity index policy schema storage",
		"oxygen claim st":                     "storage",
		"oxygen release de":                   "deployment",
		"oxygen status --domain b":            "builder",
		"oxygen claim storage --item WO":      "WORK-001 WORK-002",
		"orchestrate show ":                   "OPS-1 WORK-001 WORK-002",
		"orchestrate assign WORK-00":          "WORK-001 WORK-002",
		"orchestrate signal show ":            "1 2",
		"orchestrate council approve ":        "2",
		"orchestrate completion ":             "bash fish zsh",
		"orchestrate se":                      "serve",
		"orchestrate serve --a":               "--addr",
		"oxygen --root " + r.dir + " claim i": "identity index",
	} {
		if got := strings.Join(r.complete(r.dir, line), " "); got != want {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
	// Outside a repository ids complete to nothing, and nothing is created.
	outside := t.TempDir()
	if got := r.complete(outside, "oxygen claim "); len(got) != 0 {
		t.Errorf("outside a repository: %q", got)
	}
	if got := r.complete(outside, "orchestrate show "); len(got) != 0 {
		t.Errorf("outside a repository: %q", got)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("completion wrote %v", entries)
	}
	after, err := dumpStore(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Error("completion changed the store")
	}

	// The shell side names the binary by its absolute path.
	exe := filepath.Join(binDir, "oxygen")
	for shell, want := range map[string]string{
		"bash": "complete -C " + exe + " oxygen\n",
		"zsh":  "autoload -U +X bashcompinit && bashcompinit\ncomplete -C " + exe + " oxygen\n",
		"fish": "    " + exe + "\nend\ncomplete -f -c oxygen -a \"(__complete_oxygen)\"\n",
	} {
		out := r.mustRun("oxygen", "completion", shell).stdout
		if !strings.HasSuffix(out, want) {
			t.Errorf("oxygen completion %s:\n%s\nwant it to end with\n%s", shell, out, want)
		}
	}
	res := r.run("oxygen", "completion", "tcsh")
	if res.code != 2 || !strings.Contains(res.stderr, `must be one of "bash","zsh","fish" but got "tcsh"`) {
		t.Errorf("completion tcsh: exit %d %s", res.code, res.stderr)
	}
}
