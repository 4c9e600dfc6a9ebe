package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The state machine as issue 2 writes it down, independent of the code: the
// five statuses and the ten allowed edges.
var smStatuses = []string{"open", "in_progress", "blocked", "done", "dead_end"}

var specEdges = map[[2]string]bool{
	{"open", "in_progress"}:     true, // assign
	{"in_progress", "open"}:     true, // unassign
	{"in_progress", "blocked"}:  true, // block
	{"in_progress", "done"}:     true, // done
	{"in_progress", "dead_end"}: true, // dead-end
	{"blocked", "in_progress"}:  true, // unblock
	{"blocked", "dead_end"}:     true, // dead-end
	{"open", "dead_end"}:        true, // dead-end
	{"done", "open"}:            true, // reopen
	{"dead_end", "open"}:        true, // reopen
}

// smCommand is one transition command: the status it targets, the statuses
// the spec lets it start from, and its arguments for an item.
type smCommand struct {
	name string
	to   string
	from []string
	args []string // after the item id
}

var smCommands = []smCommand{
	{"assign", "in_progress", []string{"open"}, []string{"--owner", "builder"}},
	{"unassign", "open", []string{"in_progress"}, []string{"--by", "builder"}},
	{"block", "blocked", []string{"in_progress"}, []string{"--reason", "waiting for review", "--by", "builder"}},
	{"unblock", "in_progress", []string{"blocked"}, []string{"--by", "builder"}},
	{"done", "done", []string{"in_progress"}, []string{"--by", "builder"}},
	{"dead-end", "dead_end", []string{"open", "in_progress", "blocked"}, []string{"--reason", "no way through", "--by", "builder"}},
	{"reopen", "open", []string{"done", "dead_end"}, []string{"--reason", "try again", "--by", "builder"}},
}

// smReach is how a new (open) item gets into each status, using only
// allowed commands.
var smReach = map[string][][]string{
	"open":        nil,
	"in_progress": {{"assign", "--owner", "builder"}},
	"blocked":     {{"assign", "--owner", "builder"}, {"block", "--reason", "parked", "--by", "builder"}},
	"done":        {{"assign", "--owner", "builder"}, {"done", "--by", "builder"}},
	"dead_end":    {{"dead-end", "--reason", "abandoned", "--by", "builder"}},
}

const smItem = "SM-1"

func (c smCommand) startsFrom(status string) bool {
	for _, f := range c.from {
		if f == status {
			return true
		}
	}
	return false
}

// canonicalCommand picks the command that targets to: the one the spec names
// for the edge from -> to, else the first command that targets to.
func canonicalCommand(from, to string) smCommand {
	var first *smCommand
	for i, c := range smCommands {
		if c.to != to {
			continue
		}
		if c.startsFrom(from) {
			return c
		}
		if first == nil {
			first = &smCommands[i]
		}
	}
	return *first
}

// smSetup makes a repository with one builder item in status from.
func smSetup(t *testing.T, from string) *repo {
	t.Helper()
	r := newRepo(t)
	r.mustRun("orchestrate", "add", smItem, "--title", "state machine", "--kind", "chore", "--domain", "builder",
		"--priority", "medium", "--objective", "move around")
	for _, step := range smReach[from] {
		r.mustRun("orchestrate", append([]string{step[0], smItem}, step[1:]...)...)
	}
	if got := r.itemStatus(smItem); got != from {
		t.Fatalf("setup: %s is %s, want %s", smItem, got, from)
	}
	return r
}

func (r *repo) itemStatus(id string) string {
	r.t.Helper()
	return strings.TrimSpace(r.query(`SELECT status FROM items WHERE id = '` + id + `'`))
}

// snapshot is everything a refused command must leave alone: every row of
// the store and the exported signal files.
func (r *repo) snapshot() string {
	r.t.Helper()
	dump, err := dumpStore(r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	var files []string
	filepath.Walk(filepath.Join(r.dir, ".bridges"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return dump + "== files\n" + strings.Join(files, "\n")
}

// checkMove runs cmd on an item in status from and checks the outcome: an
// allowed move exits 0, lands in cmd.to and is recorded with its actor; a
// refused one exits 3 with a conflict and changes nothing.
func checkMove(t *testing.T, r *repo, from string, cmd smCommand, allowed bool) {
	t.Helper()
	before := r.snapshot()
	res := r.run("orchestrate", append([]string{cmd.name, smItem}, cmd.args...)...)
	if allowed {
		if res.code != 0 {
			t.Fatalf("%s from %s: exit %d, want 0\n%s", cmd.name, from, res.code, res.stderr)
		}
		if got := r.itemStatus(smItem); got != cmd.to {
			t.Fatalf("%s from %s: status %s, want %s", cmd.name, from, got, cmd.to)
		}
		last := r.query(`SELECT from_status, to_status, actor FROM item_transitions WHERE item_id = '` + smItem + `' ORDER BY id DESC LIMIT 1`)
		if want := from + "\t" + cmd.to + "\tbuilder\n"; last != want {
			t.Fatalf("%s from %s: last transition %q, want %q", cmd.name, from, last, want)
		}
		if v := r.run("orchestrate", "audit", "verify"); v.code != 0 {
			t.Fatalf("audit verify after %s: exit %d: %s", cmd.name, v.code, v.stderr)
		}
		return
	}
	if res.code != 3 {
		t.Fatalf("%s from %s: exit %d, want 3 (conflict)\n%s", cmd.name, from, res.code, res.stderr)
	}
	if !strings.HasPrefix(res.stderr, "orchestrate: conflict: ") || strings.Count(res.stderr, "\n") != 1 {
		t.Fatalf("%s from %s: stderr is not one conflict line: %q", cmd.name, from, res.stderr)
	}
	if res.stdout != "" {
		t.Fatalf("%s from %s: refusal printed on stdout: %q", cmd.name, from, res.stdout)
	}
	if after := r.snapshot(); after != before {
		t.Fatalf("%s from %s was refused but changed the store or the signal files:\nbefore:\n%s\nafter:\n%s", cmd.name, from, before, after)
	}
}

// TestStateMachineEdges drives every (from, to) pair of the five statuses
// through the real binary, with the command that targets to, and checks
// that exactly the spec's ten edges are allowed.
func TestStateMachineEdges(t *testing.T) {
	for _, from := range smStatuses {
		for _, to := range smStatuses {
			from, to := from, to
			allowed := specEdges[[2]string{from, to}]
			cmd := canonicalCommand(from, to)
			t.Run(from+"->"+to+"/"+cmd.name, func(t *testing.T) {
				t.Parallel()
				r := smSetup(t, from)
				checkMove(t, r, from, cmd, allowed)
			})
		}
	}
}

// TestTransitionCommands tries every command on an item in every status: a
// command may only take the edges the spec gives it (assign: open ->
// in_progress, reopen: done/dead_end -> open, ...); anything else is a
// conflict that changes nothing.
func TestTransitionCommands(t *testing.T) {
	for _, from := range smStatuses {
		for _, cmd := range smCommands {
			from, cmd := from, cmd
			t.Run(cmd.name+"/from-"+from, func(t *testing.T) {
				t.Parallel()
				r := smSetup(t, from)
				checkMove(t, r, from, cmd, cmd.startsFrom(from))
			})
		}
	}
}

// TestStateMachineSpecTable keeps this file's tables in step with the spec:
// each command's own edges are exactly the spec's ten.
func TestStateMachineSpecTable(t *testing.T) {
	got := map[[2]string]bool{}
	for _, c := range smCommands {
		for _, f := range c.from {
			got[[2]string{f, c.to}] = true
		}
	}
	if len(got) != len(specEdges) {
		t.Fatalf("commands cover %d edges, spec has %d", len(got), len(specEdges))
	}
	for e := range specEdges {
		if !got[e] {
			t.Errorf("no command for edge %s -> %s", e[0], e[1])
		}
	}
}
