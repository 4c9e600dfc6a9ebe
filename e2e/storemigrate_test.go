package e2e

import (
	"database/sql"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/oxygen-tools/oxygen/workflow"
)

// TestStoreMigrateRoundTrip copies a SQLite store with every kind of
// history (items, dependencies, leases, signals, a consumed council
// approval, capsules, fingerprints and a shadow edit) into a PostgreSQL
// schema of its own, and checks that the copy is the store: the same rows
// per table, the same chain head, the same audit verification; that a
// second run changes nothing; that the server store then carries on
// numbering where the SQLite one stopped; and that a target holding
// another history is refused and left as it was.
func TestStoreMigrateRoundTrip(t *testing.T) {
	base := os.Getenv("OXYGEN_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("OXYGEN_TEST_POSTGRES_URL not set: skipping the store migration round trip")
	}
	sqliteOnly(t, "copies a SQLite store to the server, so it starts on SQLite")
	r := newRepo(t)
	add := func(id string, extra ...string) {
		r.mustRun("orchestrate", append([]string{"add", id, "--title", "t " + id, "--kind", "chore", "--domain", "builder", "--priority", "high", "--objective", "o"}, extra...)...)
	}
	add("A1")
	add("A2", "--depends-on", "A1")
	add("A3")
	add("A4")
	r.mustRun("orchestrate", "assign", "A1", "--owner", "builder")
	r.mustRun("orchestrate", "assign", "A3", "--owner", "builder")
	r.mustRun("oxygen", "claim", "deployment", "--owner", "builder", "--item", "A1", "--ttl", "1h")
	r.mustRun("oxygen", "release", "deployment", "--owner", "builder")
	r.mustRun("oxygen", "claim", "storage", "--owner", "builder", "--ttl", "1h")
	policy := filepath.Join(r.dir, "policy", "rules.md")
	if err := os.MkdirAll(filepath.Dir(policy), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policy, []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.mustRun("orchestrate", "audit", "report") // the baseline fingerprints
	if err := os.WriteFile(policy, []byte("v2: changed without a lease\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.mustRun("orchestrate", "audit", "report") // finds the shadow edit
	call := r.mustRun("orchestrate", "council", "call", "--item", "A4", "--from", "builder", "--reason", "over the cap", "--json")
	var council struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(call.stdout), &council); err != nil {
		t.Fatalf("council call: %v\n%s", err, call.stdout)
	}
	r.mustRun("orchestrate", "council", "approve", strconv.FormatInt(council.ID, 10), "--by", "watcher")
	r.mustRun("orchestrate", "assign", "A4", "--owner", "builder", "--council", strconv.FormatInt(council.ID, 10))
	before := verifyFull(r, nil)
	for table, want := range map[string]string{"shadow_edits": "1\n", "council_approvals": "1\n", "capsules": "3\n", "leases": "2\n"} {
		if got := r.query(`SELECT count(*) FROM ` + table); got != want {
			t.Fatalf("the SQLite store's %s has %q rows, want %q: the history to copy is not what the test meant", table, got, want)
		}
	}
	tables := strings.Fields(r.query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`))
	sqliteCounts := func() map[string]string {
		out := map[string]string{}
		for _, tb := range tables {
			out[tb] = r.query(`SELECT count(*) FROM ` + tb)
		}
		return out
	}
	want := sqliteCounts()
	wantHead := r.query(`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`)

	db, schema := migrationTarget(t, r, base)
	pgQuery := func(q string) string {
		out, err := queryRowsDB(db, strings.ReplaceAll(q, "$S", schema))
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	pgCounts := func() map[string]string {
		out := map[string]string{}
		for _, tb := range tables {
			out[tb] = pgQuery(`SELECT count(*) FROM $S.` + tb)
		}
		return out
	}

	// The URL carries a password (the test server trusts every client and
	// ignores it): it must never be printed.
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "s3cret-pw")
	to := u.String()

	res := r.mustRun("orchestrate", "store", "migrate", "--to", to, "--json")
	if strings.Contains(res.stdout+res.stderr, "s3cret-pw") {
		t.Fatalf("the password was printed:\n%s%s", res.stdout, res.stderr)
	}
	var out struct {
		Unchanged bool   `json:"unchanged"`
		StoreURL  string `json:"store_url"`
		Schema    string `json:"schema"`
		Blobs     int    `json:"blobs"`
		Head      struct {
			Seq int64 `json:"seq"`
		} `json:"head"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("migrate --json: %v\n%s", err, res.stdout)
	}
	if out.Unchanged || out.Schema != schema || out.Blobs == 0 || strings.Contains(out.StoreURL, "s3cret") || out.StoreURL == "" {
		t.Fatalf("migrate --json: %s", res.stdout)
	}
	if got := pgCounts(); !sameMap(got, want) {
		t.Fatalf("row counts after the copy:\n%v\nwant\n%v", got, want)
	}
	if got := pgQuery(`SELECT seq, hash FROM $S.audit_log ORDER BY seq DESC LIMIT 1`); got != wantHead {
		t.Fatalf("chain head after the copy %q, want %q", got, wantHead)
	}
	if got := pgQuery(`SELECT count(*) FROM $S.blobs`); strings.TrimSpace(got) != strconv.Itoa(out.Blobs) {
		t.Fatalf("blobs table holds %s, the copy reported %d", got, out.Blobs)
	}
	if _, err := os.Stat(r.dbPath()); err != nil {
		t.Fatalf("the SQLite store is gone: %v", err)
	}
	if got := sqliteCounts(); !sameMap(got, want) {
		t.Fatalf("the SQLite store changed: %v, was %v", got, want)
	}

	// A second run finds the same store there and writes nothing.
	again := r.mustRun("orchestrate", "store", "migrate", "--to", to)
	if !strings.Contains(again.stdout, "nothing changed") {
		t.Fatalf("second run: %s", again.stdout)
	}
	if got := pgCounts(); !sameMap(got, want) {
		t.Fatalf("the second run changed the target: %v", got)
	}

	// The server store is the same store: audit verify agrees, and new
	// rows continue the numbering.
	server := []string{workflow.StoreURLEnv + "=" + out.StoreURL}
	after := verifyFull(r, server)
	if after.Store != before.Store || string(after.Replayed) != string(before.Replayed) || after.Events != before.Events+1 {
		t.Fatalf("audit verify on the server store: %+v\nbefore the copy: %+v", after, before)
	}
	lastLease := strings.TrimSpace(pgQuery(`SELECT max(id) FROM $S.leases`))
	lastToken := strings.TrimSpace(pgQuery(`SELECT max(token) FROM $S.leases`))
	claim := r.runEnv(server, "oxygen", "claim", "deployment", "--owner", "builder", "--item", "A1", "--ttl", "1h")
	if claim.code != 0 {
		t.Fatalf("claim on the server store: exit %d: %s", claim.code, claim.stderr)
	}
	if rel := r.runEnv(server, "oxygen", "release", "deployment", "--owner", "builder"); rel.code != 0 {
		t.Fatalf("release on the server store: exit %d: %s", rel.code, rel.stderr)
	}
	if got := pgQuery(`SELECT id, token > ` + lastToken + ` FROM $S.leases WHERE resource = 'deployment' ORDER BY id DESC LIMIT 1`); got != nextID(t, lastLease)+"\ttrue\n" {
		t.Fatalf("the new lease is %q; want id %s+1 with a token past %s", got, lastLease, lastToken)
	}
	if v := r.runEnv(server, "orchestrate", "audit", "verify", "--full"); v.code != 0 {
		t.Fatalf("audit verify after new writes on the server store: exit %d: %s%s", v.code, v.stdout, v.stderr)
	}

	// Now the target holds a history the SQLite store lacks: refused, one
	// line naming the server, and the target left as it was.
	held := pgCounts()
	refused := r.run("orchestrate", "store", "migrate", "--to", to)
	if refused.code != 3 || strings.Count(refused.stderr, "\n") != 1 || !strings.Contains(refused.stderr, u.Host) || strings.Contains(refused.stderr, "s3cret") {
		t.Fatalf("migrate onto another history: exit %d: %q", refused.code, refused.stderr)
	}
	if got := pgCounts(); !sameMap(got, held) {
		t.Fatalf("the refused run changed the target: %v, was %v", got, held)
	}
}

// chainReport is the part of `audit verify --json` the round trip compares.
type chainReport struct {
	OK       bool            `json:"ok"`
	Events   int64           `json:"events"`
	Store    string          `json:"store"`
	Replayed json.RawMessage `json:"replayed"`
}

func verifyFull(r *repo, env []string) chainReport {
	r.t.Helper()
	res := r.runEnv(env, "orchestrate", "audit", "verify", "--full", "--json")
	var c chainReport
	if err := json.Unmarshal([]byte(res.stdout), &c); err != nil || res.code != 0 || !c.OK {
		r.t.Fatalf("audit verify --full: exit %d: %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	return c
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// nextID is the id after id.
func nextID(t *testing.T, id string) string {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	return strconv.FormatInt(n+1, 10)
}

// TestStoreMigrateRefusesAStoreThatFailsVerification: a row changed
// behind the log's back is copied, the verification inside the copy's
// transaction finds it, and nothing is committed: exit 4, one line naming
// the server, which is left as it was.
func TestStoreMigrateRefusesAStoreThatFailsVerification(t *testing.T) {
	base := os.Getenv("OXYGEN_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("OXYGEN_TEST_POSTGRES_URL not set: skipping the store migration refusal")
	}
	sqliteOnly(t, "copies a SQLite store to the server, so it starts on SQLite")
	r := newRepo(t)
	r.mustRun("orchestrate", "add", "W1", "--title", "t", "--kind", "chore", "--domain", "builder", "--priority", "high", "--objective", "o")
	r.sqlExec(`UPDATE items SET objective = 'something else' WHERE id = 'W1'`)
	db, schema := migrationTarget(t, r, base)

	res := r.run("orchestrate", "store", "migrate", "--to", base)
	u, _ := url.Parse(base)
	if res.code != 4 || strings.Count(res.stderr, "\n") != 1 || !strings.Contains(res.stderr, u.Host) || !strings.Contains(res.stderr, "audit verification") {
		t.Fatalf("migrate a tampered store: exit %d: %q", res.code, res.stderr)
	}
	// The schema the run created for the copy is gone again: an empty one
	// would open as an empty store.
	var left int
	if err := db.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&left); err != nil || left != 0 {
		t.Fatalf("schema %s after a refused copy: %d (%v), want none", schema, left, err)
	}
}

// migrationTarget is a handle on the server at base and the schema r's
// store migrates to (named by its repository id), dropped when the test
// ends.
func migrationTarget(t *testing.T, r *repo, base string) (*sql.DB, string) {
	t.Helper()
	cfg, err := workflow.LoadConfig(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	schema := "oxygen_" + cfg.Store.RepositoryID
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		db.Close()
	})
	return db, schema
}
