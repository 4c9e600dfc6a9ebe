package e2e

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/oxygen-tools/oxygen/workflow"
)

// Tampering with the store behind the tools' back (issue 9, point 10). Each
// test builds a git repository with the hooks installed and a little of
// everything in its store, tampers with it the way an attacker with write
// access to the store would, and checks that audit verify exits 4 naming
// what it found and that health turns red. Before the replay and the git
// anchors, every one of these passed both.

// tamperRepo is the scenario every tampering starts from. seq numbers are
// read from the store rather than assumed.
type tamperRepo struct {
	*repo
	verifiedSeq int64 // the head the last audit verify recorded
	bypassSeq   int64 // the first guard.bypass event of the last commit
	anchoredSeq int64 // the head the last commit anchored, the newest event
	commit      string
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(append([]string{}, r.env...), "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) write(rel, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *repo) int(q string) int64 {
	r.t.Helper()
	v, err := strconv.ParseInt(strings.TrimSpace(r.query(q)), 10, 64)
	if err != nil {
		r.t.Fatalf("%s: %v", q, err)
	}
	return v
}

func newTamperRepo(t *testing.T) *tamperRepo {
	t.Helper()
	r := &tamperRepo{repo: newRepo(t)}
	dmnSetJobs(t, r.repo, "", "") // no overdue jobs: health is green
	r.env = append(r.env, "OXYGEN_OWNER=builder")
	r.git("init", "-q")
	r.git("config", "user.name", "Tester")
	r.git("config", "user.email", "tester@example.com")
	r.git("config", "commit.gpgsign", "false")
	r.write("deploy/install.sh", "#!/bin/sh\necho install\n")
	r.write("README.md", "a repository\n")
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "start")
	r.mustRun("oxygen", "hook", "install")

	// Items, an assignment with its capsule, a council override used once.
	for _, id := range []string{"W1", "W2", "W3"} {
		r.mustRun("orchestrate", "add", id, "--title", "work "+id, "--kind", "chore", "--domain", "builder", "--priority", "low",
			"--objective", "o", "--file", "deploy/install.sh", "--by", "builder")
	}
	r.mustRun("orchestrate", "add", "S1", "--title", "notes", "--kind", "chore", "--domain", "scribe", "--priority", "low", "--objective", "o")
	r.mustRun("orchestrate", "assign", "W1", "--owner", "builder")
	r.mustRun("orchestrate", "assign", "W2", "--owner", "builder")
	call := r.mustRun("orchestrate", "council", "call", "--item", "W3", "--from", "builder", "--reason", "urgent", "--json")
	var sig struct{ ID int64 }
	if err := json.Unmarshal([]byte(call.stdout), &sig); err != nil {
		t.Fatal(err)
	}
	r.mustRun("orchestrate", "council", "approve", strconv.FormatInt(sig.ID, 10), "--by", "scribe")
	r.mustRun("orchestrate", "assign", "W3", "--owner", "builder", "--council", strconv.FormatInt(sig.ID, 10))
	// A second call stays pending: health is yellow for it, not red.
	r.mustRun("orchestrate", "council", "call", "--item", "S1", "--from", "scribe", "--reason", "later")

	// Leases: a handshake opens another domain's resource; one released.
	r.mustRun("orchestrate", "signal", "send", "--kind", "handshake", "--from", "builder", "--domain", "builder", "--to", "scribe",
		"--resource", "schema", "--body", "changing the schema")
	r.mustRun("oxygen", "claim", "schema", "--owner", "builder", "--ttl", "2h")
	r.mustRun("oxygen", "claim", "deployment", "--owner", "builder")
	r.mustRun("oxygen", "release", "deployment", "--owner", "builder", "--reason", "done early")

	// A report fingerprints deploy/ (the shadow-edit baseline) and records
	// its head in the store and in its files; a verify records one more.
	r.mustRun("orchestrate", "audit", "report")
	r.mustRun("orchestrate", "audit", "verify")
	r.verifiedSeq = r.int(`SELECT MAX(head_seq) FROM verifications`)

	// A commit the guard refuses, let through with OXYGEN_GUARD=warn: the
	// bypass is logged by pre-commit and anchored by commit-msg.
	r.write("deploy/install.sh", "#!/bin/sh\necho changed without a lease\n")
	r.git("add", "deploy/install.sh")
	r.env = append(r.env, "OXYGEN_OWNER=scribe", "OXYGEN_GUARD=warn")
	r.git("commit", "-q", "-m", "unleased change")
	r.env = r.env[:len(r.env)-2]
	// Both hooks record the bypass; the commit-msg hook anchors the head
	// after its own.
	r.bypassSeq = r.int(`SELECT MIN(seq) FROM audit_log WHERE action = 'guard.bypass'`)
	r.anchoredSeq = r.int(`SELECT MAX(seq) FROM audit_log`)
	r.commit = r.git("rev-parse", "HEAD")
	msg := r.git("log", "-1", "--format=%B")
	store := strings.TrimSpace(r.query(`SELECT hash FROM audit_log WHERE seq = 1`))
	head := strings.TrimSpace(r.query(`SELECT hash FROM audit_log WHERE seq = ` + strconv.FormatInt(r.anchoredSeq, 10)))
	want := "Oxygen-Audit-Head: " + store + " " + strconv.FormatInt(r.anchoredSeq, 10) + " " + head
	if !strings.HasSuffix(msg, "\n\n"+want) || r.int(`SELECT CASE WHEN action = 'guard.bypass' THEN 1 ELSE 0 END FROM audit_log WHERE seq = `+strconv.FormatInt(r.anchoredSeq, 10)) != 1 {
		t.Fatalf("the commit does not end with the anchor of the bypass:\n%s\nwant trailer %s", msg, want)
	}
	if r.bypassSeq <= r.verifiedSeq {
		t.Fatalf("the bypass (seq %d) should come after the last recorded head (seq %d)", r.bypassSeq, r.verifiedSeq)
	}

	// health verifies everything but records nothing, so the bypass stays
	// the newest event and the last recorded head stays before it.
	h := r.run("orchestrate", "health")
	if h.code != 1 || strings.Contains(h.stdout, "red") {
		t.Fatalf("health before tampering: exit %d, want 1 (yellow for the pending council call)\n%s", h.code, h.stdout)
	}
	return r
}

// wantCaught checks that audit verify exits 4 with want (a regular
// expression) among its findings, and that health is red with it too.
func (r *tamperRepo) wantCaught(want string) {
	r.t.Helper()
	// health first: it records nothing, while a failed verify appends its
	// own event, which after a truncation takes a vanished seq.
	h := r.run("orchestrate", "health")
	if h.code != 2 || !regexp.MustCompile(`(?m)^  red: .*`+want).MatchString(h.stdout) {
		r.t.Fatalf("health: exit %d, want 2 and a red line with %q\n%s", h.code, want, h.stdout)
	}
	v := r.run("orchestrate", "audit", "verify")
	if v.code != 4 || !regexp.MustCompile(want).MatchString(v.stdout+v.stderr) {
		r.t.Fatalf("audit verify: exit %d, want 4 and %q\nstdout: %s\nstderr: %s", v.code, want, v.stdout, v.stderr)
	}
}

// wantReplayCaught checks a tampered row, which only the replay of the log
// finds: health checks what came after the last intact check and does not
// replay (its cost must not grow with history), so it stays green until
// audit verify (or the daily full job) replays, finds it and records the
// failure; from then on health checks in full and is red with it too.
func (r *tamperRepo) wantReplayCaught(want string) {
	r.t.Helper()
	if h := r.run("orchestrate", "health"); h.code == 2 {
		r.t.Fatalf("health replayed the whole log:\n%s", h.stdout)
	}
	v := r.run("orchestrate", "audit", "verify")
	if v.code != 4 || !regexp.MustCompile(want).MatchString(v.stdout+v.stderr) {
		r.t.Fatalf("audit verify: exit %d, want 4 and %q\nstdout: %s\nstderr: %s", v.code, want, v.stdout, v.stderr)
	}
	h := r.run("orchestrate", "health")
	if h.code != 2 || !regexp.MustCompile(`(?m)^  red: .*`+want).MatchString(h.stdout) {
		r.t.Fatalf("health after the failed verify: exit %d, want 2 and a red line with %q\n%s", h.code, want, h.stdout)
	}
}

// Deleting the events after the last recorded head (here the guard bypass)
// leaves a chain that re-hashes and holds every head the store and the
// reports recorded. The head git anchored is gone.
// Moving HEAD to a new orphan branch does not hide the anchors: every ref
// is read.
func TestTamperTruncationAfterLastRecordedHead(t *testing.T) {
	for _, orphan := range []bool{false, true} {
		t.Run(map[bool]string{false: "on the branch", true: "HEAD moved to an orphan branch"}[orphan], func(t *testing.T) {
			r := newTamperRepo(t)
			r.sqlExec(`DROP TRIGGER audit_log_no_delete`)
			r.sqlExec(`DELETE FROM audit_log WHERE seq >= ` + strconv.FormatInt(r.bypassSeq, 10))
			if orphan {
				r.git("checkout", "-q", "--orphan", "elsewhere")
			}
			r.wantCaught(regexp.QuoteMeta("audit chain broken at seq "+strconv.FormatInt(r.anchoredSeq, 10)+": the head anchored in git commit "+r.commit[:12]) +
				` \(seq \d+\) is gone: events were cut from the end of the log`)
		})
	}
}

// In a repository whose store lives under .git, a git that cannot read the
// history stops verification instead of skipping the anchors.
func TestAnchorsNeedAWorkingGit(t *testing.T) {
	r := newTamperRepo(t)
	if err := os.WriteFile(filepath.Join(r.dir, ".git/HEAD"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := r.oxWant(3, "orchestrate", "health")
	if !strings.Contains(h.stderr, "orchestrate: unknown: read the audit heads anchored in git: git log --all") {
		t.Fatalf("health with a broken git:\n%s%s", h.stdout, h.stderr)
	}
	r.oxWant(1, "orchestrate", "audit", "verify")
}

// Deleting a handshake's signal row leaves its signal.send event without a
// row: the cross-check now runs from the log to the tables too.
func TestTamperDeletedHandshakeSignal(t *testing.T) {
	r := newTamperRepo(t)
	id := r.int(`SELECT id FROM signals WHERE kind = 'handshake'`)
	seq := r.int(`SELECT seq FROM audit_log WHERE action = 'signal.send' AND subject = 'signal:` + strconv.FormatInt(id, 10) + `'`)
	r.sqlExec(`DROP TRIGGER signals_no_delete`)
	r.sqlExec(`DELETE FROM signals WHERE kind = 'handshake'`)
	r.wantReplayCaught(regexp.QuoteMeta("the store disagrees with the audit log: signal " + strconv.FormatInt(id, 10) +
		" is in the audit log (seq " + strconv.FormatInt(seq, 10) + ") but missing from signals"))
}

// rechain recomputes every hash from seq on, as an attacker who edited an
// event would: written from the formula in DESIGN.md, not with the tools'
// code, which is what an attacker has too.
func rechain(t *testing.T, db *sql.DB, from int64) {
	t.Helper()
	type canonical struct {
		Seq     int64           `json:"seq"`
		At      int64           `json:"at"`
		Actor   string          `json:"actor"`
		Action  string          `json:"action"`
		Subject string          `json:"subject"`
		Payload json.RawMessage `json:"payload"`
	}
	var prev string
	if err := db.QueryRow(bind(`SELECT hash FROM audit_log WHERE seq = ?`), from-1).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(bind(`SELECT seq, at, actor, action, subject, payload FROM audit_log WHERE seq >= ? ORDER BY seq`), from)
	if err != nil {
		t.Fatal(err)
	}
	var events []canonical
	for rows.Next() {
		var c canonical
		var payload string
		if err := rows.Scan(&c.Seq, &c.At, &c.Actor, &c.Action, &c.Subject, &payload); err != nil {
			t.Fatal(err)
		}
		c.Payload = json.RawMessage(payload)
		events = append(events, c)
	}
	rows.Close()
	for _, c := range events {
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(append([]byte(prev+"\n"), data...))
		hash := hex.EncodeToString(sum[:])
		if _, err := db.Exec(bind(`UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?`), prev, hash, c.Seq); err != nil {
			t.Fatal(err)
		}
		prev = hash
	}
}

// Editing an event and recomputing the whole chain, the recorded heads in
// verifications and reports, and the heads in the report files, leaves a
// store that agrees with itself everywhere. The head git anchored does not.
func TestTamperRewrittenChain(t *testing.T) {
	r := newTamperRepo(t)
	db, err := openStore(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	oldHashes := map[int64]string{}
	rows, err := db.Query(`SELECT seq, hash FROM audit_log`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var seq int64
		var hash string
		if err := rows.Scan(&seq, &hash); err != nil {
			t.Fatal(err)
		}
		oldHashes[seq] = hash
	}
	rows.Close()
	// The schema lease gets a reason it never had, in its row and in the
	// event that granted it (before every recorded head), so the replay
	// agrees; then the chain is recomputed from that event on.
	var grant int64
	if err := db.QueryRow(`SELECT seq FROM audit_log WHERE action = 'lease.grant' AND subject = 'resource:schema'`).Scan(&grant); err != nil {
		t.Fatal(err)
	}
	if grant >= r.verifiedSeq {
		t.Fatalf("the edited event (seq %d) should come before the last recorded head (seq %d)", grant, r.verifiedSeq)
	}
	setReason := `json_set(payload, '$.reason', 'approved by scribe')`
	if onServer() {
		setReason = `jsonb_set(payload::jsonb, '{reason}', '"approved by scribe"')::text`
	}
	for _, q := range []string{
		`DROP TRIGGER audit_log_no_update`,
		`UPDATE audit_log SET payload = ` + setReason + ` WHERE seq = ` + strconv.FormatInt(grant, 10),
		`UPDATE leases SET reason = 'approved by scribe' WHERE resource = 'schema'`,
	} {
		if err := storeExec(r.dir, q); err != nil {
			t.Fatal(err)
		}
	}
	rechain(t, db, grant)
	// Every head recorded in the store and in report files follows.
	newHash := func(seq int64) string {
		var h string
		if err := db.QueryRow(bind(`SELECT hash FROM audit_log WHERE seq = ?`), seq).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	for seq, old := range oldHashes {
		if seq < grant {
			continue
		}
		now := newHash(seq)
		for _, q := range []string{`UPDATE verifications SET head_hash = ? WHERE head_hash = ?`, `UPDATE reports SET head_hash = ? WHERE head_hash = ?`} {
			if _, err := db.Exec(bind(q), now, old); err != nil {
				t.Fatal(err)
			}
		}
		files, _ := filepath.Glob(r.statePath(".substrate/reports/audit-*"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, []byte(strings.ReplaceAll(string(data), old, now)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The store agrees with itself: only git still holds the old head.
	r.wantCaught(regexp.QuoteMeta("audit chain broken at seq " + strconv.FormatInt(r.anchoredSeq, 10) + ": the head anchored in git commit " +
		r.commit[:12] + " (seq " + strconv.FormatInt(r.anchoredSeq, 10) + ") had another hash: the log was rewritten, or cut and written again"))
}

// Rows edited directly, with or without the triggers, no longer match the
// rows the log replays to.
func TestTamperEditedRows(t *testing.T) {
	for _, c := range []struct {
		name    string
		prepare []string // an orchestrate command to run before tampering
		sql     []string
		found   string // a regular expression
	}{
		{"lease extended", nil, []string{`UPDATE leases SET expires_at = expires_at + 36000000 WHERE resource = 'schema'`},
			`lease token T1: expires_at is \S+ in leases, but the audit log \(seq \d+\) says \S+`},
		{"hold clock restarted", nil, []string{`UPDATE leases SET hold_since = hold_since + 3600000 WHERE resource = 'schema'`},
			`lease token T1: hold_since is \S+ in leases, but the audit log \(seq \d+\) says \S+`},
		{"lease given to another owner", nil, []string{`DROP TRIGGER leases_identity_fixed`, `UPDATE leases SET owner = 'mallory' WHERE resource = 'schema'`},
			`lease token T1: owner is "mallory" in leases, but the audit log \(seq \d+\) says "builder"`},
		{"ended lease revived", nil, []string{`DROP TRIGGER leases_ended_are_final`,
			`UPDATE leases SET state = 'active', ended_at = NULL, end_reason = NULL, ended_by = NULL WHERE resource = 'deployment'`},
			`lease token T2: state is "active" in leases, but the audit log \(seq \d+\) says "released"`},
		{"forged lease", nil, []string{`INSERT INTO leases (resource, owner, domain, token, reason, created_at, expires_at, state) SELECT 'policy', 'mallory', 'guardian', 99, '', created_at, expires_at, 'active' FROM leases WHERE resource = 'schema'`},
			`lease token 99 is in leases but no audit event records it`},
		{"fencing counter lowered", nil, []string{`DROP TRIGGER counters_only_increase`, `UPDATE counters SET value = 0 WHERE name = 'lease_token'`},
			`counter lease_token: value is "0" in counters, but the audit log \(seq \d+\) says "T2"`},
		{"item owner changed", nil, []string{`UPDATE items SET owner = 'mallory' WHERE id = 'W1'`},
			`item W1: owner is "mallory" in items, but the audit log \(seq \d+\) says "builder"`},
		{"item completed behind the log", nil, []string{`UPDATE items SET status = 'done' WHERE id = 'W2'`},
			`item W2: status is "done" in items, but the audit log \(seq \d+\) says "in_progress"`},
		{"item moved to another domain", nil, []string{`UPDATE items SET domain = 'builder' WHERE id = 'S1'`},
			`item S1: domain is "builder" in items, but the audit log \(seq \d+\) says "scribe"`},
		{"item objective rewritten", nil, []string{`UPDATE items SET objective = 'something else' WHERE id = 'W3'`},
			`item W3: objective is "something else" in items`},
		{"dependency added", nil, []string{`INSERT INTO item_deps (item_id, depends_on, pos) VALUES ('W1', 'S1', 0)`},
			`item W1: depends_on is "\[\\"S1\\"\]" in items`},
		{"item history row deleted", nil, []string{`DROP TRIGGER item_transitions_no_delete`, `DELETE FROM item_transitions WHERE item_id = 'W3'`},
			`item transition 3 is in the audit log \(seq \d+\) but missing from item_transitions`},
		{"council use undone", nil, []string{`DROP TRIGGER council_approvals_single_use`,
			`UPDATE council_approvals SET consumed_at = NULL, consumed_by = NULL, consumed_action = NULL WHERE consumed_at IS NOT NULL`},
			`council approval of signal \d+: consumed_at is "" in council_approvals, but the audit log \(seq \d+\) says \S+`},
		{"council approval forged", nil, []string{`INSERT INTO council_approvals (signal_id, item_id, approved_by, approver_domain, approved_at) SELECT id, 'S1', 'mallory', 'gems', created_at FROM signals WHERE item_id = 'S1' AND kind = 'council_call'`},
			`council approval of signal \d+ is in council_approvals but no audit event records it`},
		{"council approver changed", nil, []string{`DROP TRIGGER council_approvals_single_use`, `UPDATE council_approvals SET approved_by = 'mallory' WHERE item_id = 'W3'`},
			`council approval of signal \d+: approved_by is "mallory" in council_approvals, but the audit log \(seq \d+\) says "scribe"`},
		{"attestation forged", nil, []string{`INSERT INTO lease_attestations (token, path, blob, attested_at) SELECT token, 'deploy/install.sh', 'f00d', created_at FROM leases WHERE resource = 'schema'`},
			`attestation T1 deploy/install.sh f00d is in lease_attestations but no audit event records it`},
		{"signal body rewritten", nil, []string{`DROP TRIGGER signals_no_update`, `UPDATE signals SET body = 'nothing to see' WHERE kind = 'handshake'`},
			`signal \d+: body is "nothing to see" in signals, but the audit log \(seq \d+\) says "changing the schema"`},
		// The report finds the unleased change to deploy/ as a shadow edit,
		// which then is quietly marked accepted.
		{"shadow edit resolved behind the log", []string{"audit", "report"},
			[]string{`UPDATE shadow_edits SET status = 'accepted', resolved_at = detected_at, resolved_by = 'mallory', reason = 'fine'`},
			`shadow edit 1: status is "accepted" in shadow_edits, but the audit log \(seq \d+\) says "open"`},
		{"signal forged", nil, []string{`INSERT INTO signals (kind, topic, from_owner, from_domain, to_target, resource, created_at, file) VALUES ('handshake', 'policy', 'mallory', 'builder', 'guardian', 'policy', 0, 'x.json')`},
			`signal \d+ is in signals but no audit event records it`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newTamperRepo(t)
			if c.prepare != nil {
				r.mustRun("orchestrate", c.prepare...)
			}
			for _, q := range c.sql {
				r.sqlExec(q)
			}
			// Tokens are seeded from the store's creation time: T1 and T2
			// stand for the first two it issued.
			found := strings.NewReplacer("T1", r.tok(1), "T2", r.tok(2)).Replace(c.found)
			r.wantReplayCaught(`the store disagrees with the audit log: ` + found)
		})
	}
}

// statePath is where the tools keep a logical .substrate/ path such as
// .substrate/reports: under the git common directory in a git repository.
func (r *repo) statePath(logical string) string {
	r.t.Helper()
	l, err := workflow.Discover(r.dir)
	if err != nil {
		r.t.Fatalf("discover %s: %v", r.dir, err)
	}
	return l.StatePath(logical)
}

// blobOf is the blob named hash: its logical path, as findings show it,
// and the file.
func (r *repo) blobOf(hash string) (logical, file string) {
	logical = ".substrate/store/blobs/sha256/" + hash[:2] + "/" + hash[2:]
	return logical, r.statePath(logical)
}

// Deleting the blob of a capsule generation, or a file of a shadow-edit
// baseline: store verify re-hashed what was there and said "intact".
func TestTamperDeletedBlobs(t *testing.T) {
	sqliteOnly(t, "deletes blob files; a server store keeps blobs in the database (TestServerTamperDeletedBlob)")
	t.Run("capsule", func(t *testing.T) {
		r := newTamperRepo(t)
		rel, file := r.blobOf(strings.TrimSpace(r.query(`SELECT blob FROM capsules WHERE item_id = 'W1' AND generation = 1`)))
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		s := r.oxWant(4, "orchestrate", "store", "verify")
		if !strings.Contains(s.stdout, "missing blob "+rel+": capsule W1 generation 1 refers to it\n") {
			t.Fatalf("store verify does not name the missing capsule blob:\n%s%s", s.stdout, s.stderr)
		}
		h := r.oxWant(2, "orchestrate", "health")
		if !strings.Contains(h.stdout, "  red: missing blob "+rel+": capsule W1 generation 1 refers to it\n") {
			t.Fatalf("health does not name the missing capsule blob:\n%s", h.stdout)
		}
		v := r.oxWant(4, "orchestrate", "audit", "verify")
		if !regexp.MustCompile(regexp.QuoteMeta("the store disagrees with the audit log: blob "+rel+" is missing from the blob store: capsule W1 generation 1 (audit seq ") + `\d+\) refers to it`).MatchString(v.stdout + v.stderr) {
			t.Fatalf("audit verify does not name the missing capsule blob:\n%s%s", v.stdout, v.stderr)
		}
	})
	t.Run("shadow-edit baseline", func(t *testing.T) {
		r := newTamperRepo(t)
		// The report fingerprinted deploy/install.sh as first committed.
		sum := sha256.Sum256([]byte("#!/bin/sh\necho install\n"))
		rel, file := r.blobOf(hex.EncodeToString(sum[:]))
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		s := r.oxWant(4, "orchestrate", "store", "verify")
		if !strings.Contains(s.stdout, "missing blob "+rel+": deploy/install.sh in a fingerprint of deployment refers to it\n") {
			t.Fatalf("store verify does not name the missing baseline file:\n%s%s", s.stdout, s.stderr)
		}
		h := r.oxWant(2, "orchestrate", "health")
		if !strings.Contains(h.stdout, "  red: missing blob "+rel+": deploy/install.sh in a fingerprint of deployment refers to it\n") {
			t.Fatalf("health does not name the missing baseline file:\n%s", h.stdout)
		}
	})
}

// A store initialised again starts a new chain with a new identity: the
// heads git holds for the old one are reported once, not as tampering, and
// the next commit anchors the new store.
func TestAnchorsFromPreviousStore(t *testing.T) {
	r := newTamperRepo(t)
	if onServer() {
		r.sqlExec(`DROP SCHEMA oxygen_` + repositoryID(r.dir) + ` CASCADE`)
	} else if err := os.RemoveAll(filepath.Dir(r.dbPath())); err != nil {
		t.Fatal(err)
	}
	r.mustRun("orchestrate", "init")
	v := r.oxWant(0, "orchestrate", "audit", "verify")
	if !strings.Contains(v.stdout, "git anchors: 1 head(s) in the history are from a previous store (or another clone's) and were not checked\n") ||
		!strings.Contains(v.stdout, "reports: 1 report file(s) are from a previous store and were not checked\n") ||
		strings.Contains(v.stdout, "of this store checked") {
		t.Fatalf("verify after a re-init:\n%s", v.stdout)
	}
	r.write("README.md", "a repository, again\n")
	r.git("commit", "-q", "-am", "after re-init")
	v = r.oxWant(0, "orchestrate", "audit", "verify")
	if !strings.Contains(v.stdout, "git anchors: 1 head(s) of this store checked") || !strings.Contains(v.stdout, "1 head(s) in the history are from a previous store") {
		t.Fatalf("verify after the next commit:\n%s", v.stdout)
	}
}
