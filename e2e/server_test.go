package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The server store's own tests: two clones of one repository, in separate
// directories, stand for two machines sharing one PostgreSQL store. They run
// in the PostgreSQL pass only.

// newServerClones makes a repository on the run's server store, commits its
// oxygen.yaml (with the repository id init wrote) and clones it twice: the
// clones find the same schema through the committed id, as two machines
// would.
func newServerClones(t *testing.T) (a, b *repo) {
	t.Helper()
	serverOnly(t)
	base := t.TempDir()
	origin := filepath.Join(base, "origin")
	if err := os.Mkdir(origin, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, origin, "init", "-q", "-b", "main")
	o := &repo{t: t, dir: origin, env: toolEnv(base)}
	o.mustRun("orchestrate", "init")
	git(t, origin, "add", "-A")
	git(t, origin, "commit", "-q", "-m", "oxygen")
	clone := func(name string) *repo {
		dir := filepath.Join(base, name)
		git(t, base, "clone", "-q", origin, dir)
		return &repo{t: t, dir: dir, env: toolEnv(base)}
	}
	a, b = clone("machine-a"), clone("machine-b")
	if ida, idb := repositoryID(a.dir), repositoryID(b.dir); ida == "" || ida != idb || ida != repositoryID(origin) {
		t.Fatalf("clones carry repository ids %q and %q, want the origin's %q", ida, idb, repositoryID(origin))
	}
	return a, b
}

// TestServerClaimRaceAcrossClones: 32 claims of one resource, half from
// each machine: exactly one wins and the rest are told who holds it.
func TestServerClaimRaceAcrossClones(t *testing.T) {
	a, b := newServerClones(t)
	results := startTogetherOn([]*repo{a, b}, 32, func(i int) (string, []string) {
		return "oxygen", []string{"claim", "schema", "--owner", fmt.Sprintf("agent-%02d", i), "--domain", "scribe", "--json"}
	})
	// One store behind both clones: either reads the one lease.
	wantOneClaimWinner(t, b, results)
}

// TestServerAssignRaceAcrossClones: ten owners of one domain assign ten
// items from two machines at once: the domain's attention cap (2) holds
// across machines, and the rest are refused.
func TestServerAssignRaceAcrossClones(t *testing.T) {
	a, b := newServerClones(t)
	for i := 0; i < 10; i++ {
		a.mustRun("orchestrate", "add", fmt.Sprintf("RACE-%02d", i), "--title", "race item", "--kind", "chore",
			"--domain", "builder", "--priority", "medium", "--objective", "be assigned")
	}
	results := startTogetherOn([]*repo{a, b}, 10, func(i int) (string, []string) {
		return "orchestrate", []string{"assign", fmt.Sprintf("RACE-%02d", i), "--owner", fmt.Sprintf("builder-%d", i), "--domain", "builder"}
	})
	wantAttentionCap(t, b, results)
}

// TestServerDeadWaiterOnOtherMachine: machine B holds a resource; a waiter
// on A queues, a second waiter on B queues behind it; A's waiter is killed
// outright (its session ends with it). When the holder releases, B's waiter
// gets the lease: a dead waiter on another machine holds no one up.
func TestServerDeadWaiterOnOtherMachine(t *testing.T) {
	a, b := newServerClones(t)
	b.mustRun("oxygen", "claim", "storage", "--owner", "holder", "--domain", "builder")
	waitA := a.oxStart("oxygen", "claim", "storage", "--owner", "wait-a", "--domain", "builder", "--wait", "60s")
	pollUntil(t, "the waiter on A is queued", func() bool { return queued(t, waitA) && b.waiters("storage") == "wait-a\n" })
	waitB := b.oxStart("oxygen", "claim", "storage", "--owner", "wait-b", "--domain", "builder", "--wait", "60s", "--json")
	pollUntil(t, "the waiter on B is queued behind A's", func() bool { return queued(t, waitB) && a.waiters("storage") == "wait-a\nwait-b\n" })
	if err := waitA.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if res := waitA.wait(); res.code != 128+int(syscall.SIGKILL) {
		t.Fatalf("killed waiter ended with %d", res.code)
	}
	b.mustRun("oxygen", "release", "storage", "--owner", "holder", "--domain", "builder")
	res := waitB.wait()
	if res.code != 0 {
		t.Fatalf("the waiter on B behind a dead waiter on A: exit %d: %s", res.code, res.stderr)
	}
	if l := parseLease(t, res); l.Owner != "wait-b" || l.State != "active" {
		t.Fatalf("the waiter on B got %+v", l)
	}
	if got := a.activeOwner("storage"); got != "wait-b" {
		t.Fatalf("active owner seen from A = %q, want wait-b", got)
	}
}

// queued fails the test if a waiter ended instead of queueing.
func queued(t *testing.T, p *oxProc) bool {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s ended with %d instead of queueing: %s", p.name, p.res.code, p.res.stderr)
	}
	return true
}

// TestServerClockSkewDoesNotMoveExpiry: a machine whose clock runs 15
// minutes ahead (OXYGEN_TEST_MACHINE_SKEW, no OXYGEN_NOW) tries to take a
// 10-minute lease another machine just took. On the server store expiry is
// judged by the server's clock, so the lease is held and B's status shows
// it active, expiring when the server said. On SQLite each process judges
// by its own clock, so the same skew makes the lease look expired and B
// takes it: the server's clock is what makes the machines agree.
func TestServerClockSkewDoesNotMoveExpiry(t *testing.T) {
	a, b := newServerClones(t)
	skewed := []string{"OXYGEN_TEST_MACHINE_SKEW=+15m"}
	held := parseLease(t, a.mustRun("oxygen", "claim", "deployment", "--owner", "ada", "--domain", "builder", "--ttl", "10m", "--json"))
	res := b.runEnv(skewed, "oxygen", "claim", "deployment", "--owner", "bob", "--domain", "builder", "--json")
	if res.code != 3 {
		t.Fatalf("claim from the skewed machine on the server store: exit %d, want 3 (held)\n%s%s", res.code, res.stdout, res.stderr)
	}
	st := b.runEnv(skewed, "oxygen", "status", "--json")
	if st.code != 0 {
		t.Fatalf("status on the skewed machine: exit %d: %s", st.code, st.stderr)
	}
	var status struct {
		Leases []oxLease `json:"leases"`
	}
	if err := json.Unmarshal([]byte(st.stdout), &status); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, st.stdout)
	}
	if len(status.Leases) != 1 || status.Leases[0].Owner != "ada" || status.Leases[0].State != "active" || !status.Leases[0].ExpiresAt.Equal(held.ExpiresAt) {
		t.Fatalf("the skewed machine's status shows %+v, want ada's lease active until %s", status.Leases, held.ExpiresAt)
	}

	// The same scenario on the embedded store.
	dir := t.TempDir()
	local := &repo{t: t, dir: dir, env: sqliteEnv(dir)}
	local.mustRun("orchestrate", "init")
	local.mustRun("oxygen", "claim", "deployment", "--owner", "ada", "--domain", "builder", "--ttl", "10m")
	res = local.runEnv(skewed, "oxygen", "claim", "deployment", "--owner", "bob", "--domain", "builder", "--json")
	if res.code != 0 || parseLease(t, res).Owner != "bob" {
		t.Fatalf("claim with a clock past expiry on SQLite: exit %d, want 0 (the lease looks expired)\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// sqliteEnv is toolEnv without the server store: the embedded one.
func sqliteEnv(dir string) []string {
	var env []string
	for _, kv := range toolEnv(dir) {
		if !strings.HasPrefix(kv, "OXYGEN_STORE_URL=") {
			env = append(env, kv)
		}
	}
	return env
}

// TestServerRepositoriesAreIsolated: two repositories initialised apart get
// different ids, so on one server database each sees only its own leases,
// even on a resource of the same name.
func TestServerRepositoriesAreIsolated(t *testing.T) {
	serverOnly(t)
	one, two := newRepo(t), newRepo(t)
	if repositoryID(one.dir) == repositoryID(two.dir) {
		t.Fatalf("two inits wrote the same repository id %s", repositoryID(one.dir))
	}
	one.mustRun("oxygen", "claim", "schema", "--owner", "ada", "--domain", "scribe")
	two.mustRun("oxygen", "claim", "schema", "--owner", "bob", "--domain", "scribe")
	for _, c := range []struct {
		r     *repo
		owner string
	}{{one, "ada"}, {two, "bob"}} {
		var status struct {
			Leases []oxLease `json:"leases"`
		}
		if err := json.Unmarshal([]byte(c.r.mustRun("oxygen", "status", "--json").stdout), &status); err != nil {
			t.Fatal(err)
		}
		if len(status.Leases) != 1 || status.Leases[0].Owner != c.owner || status.Leases[0].Resource != "schema" {
			t.Fatalf("status of %s's repository shows %+v, want only its own schema lease", c.owner, status.Leases)
		}
	}
}

// TestServerTamperDeletedBlob: a server store keeps blobs in the database
// (TestTamperDeletedBlobs deletes the files of the embedded one). Deleting
// a capsule's blob row, past its trigger, is found by store verify and by
// the audit.
func TestServerTamperDeletedBlob(t *testing.T) {
	serverOnly(t)
	r := newTamperRepo(t)
	hash := strings.TrimSpace(r.query(`SELECT blob FROM capsules WHERE item_id = 'W1' AND generation = 1`))
	r.sqlExec(`DROP TRIGGER blobs_no_delete`)
	r.sqlExec(`DELETE FROM blobs WHERE sha256 = '` + hash + `'`)
	s := r.oxWant(4, "orchestrate", "store", "verify")
	if !strings.Contains(s.stdout, "missing blob ") || !strings.Contains(s.stdout, hash[2:]) || !strings.Contains(s.stdout, "capsule W1 generation 1 refers to it") {
		t.Fatalf("store verify does not name the missing capsule blob:\n%s%s", s.stdout, s.stderr)
	}
	h := r.oxWant(2, "orchestrate", "health")
	if !strings.Contains(h.stdout, "red: missing blob ") || !strings.Contains(h.stdout, hash[2:]) {
		t.Fatalf("health does not name the missing capsule blob:\n%s", h.stdout)
	}
	v := r.oxWant(4, "orchestrate", "audit", "verify")
	if !regexp.MustCompile(`the store disagrees with the audit log: blob \S+` + hash[2:] + ` is missing`).MatchString(v.stdout + v.stderr) {
		t.Fatalf("audit verify does not name the missing capsule blob:\n%s%s", v.stdout, v.stderr)
	}
}
