package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 9, point 6: embedding reads and hashes a linked file before the
// write transaction, so a claim made while a 2 GB file is being assigned
// does not wait for it. The proof is an order, not a duration: the claim
// returns while the assign is still reading the file and has not committed.
func TestClaimWhileAssigningAHugeFile(t *testing.T) {
	r := newRepo(t)
	r.mustRun("orchestrate", "add", "BIG-1", "--title", "huge", "--kind", "chore", "--domain", "builder",
		"--priority", "low", "--objective", "o", "--file", "big.bin")
	big, err := os.Create(filepath.Join(r.dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	const size = 2 << 30
	if err := big.Truncate(size); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	big.Close()

	assign := r.command("orchestrate", "assign", "BIG-1", "--owner", "builder")
	var assignErr bytes.Buffer
	assign.Stderr = &assignErr
	if err := assign.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- assign.Wait() }()
	if !waitForOpenFile(assign.Process.Pid, filepath.Join(r.dir, "big.bin"), done) {
		t.Fatalf("assign exited before it was seen reading big.bin: %s", assignErr.String())
	}

	claim := r.run("oxygen", "claim", "schema", "--owner", "scribe")
	if claim.code != 0 {
		t.Fatalf("claim during the assign: exit %d: %s", claim.code, claim.stderr)
	}
	if got := r.query(`SELECT status FROM items WHERE id = 'BIG-1'`); got != "open\n" {
		t.Errorf("when the claim returned, BIG-1 was %q: the claim waited for the assign's transaction", got)
	}

	if err := <-done; err != nil {
		t.Fatalf("assign: %v: %s", err, assignErr.String())
	}
	if got := r.query(`SELECT status FROM items WHERE id = 'BIG-1'`); got != "in_progress\n" {
		t.Errorf("after the assign, BIG-1 is %q", got)
	}
	if got := r.query(`SELECT state FROM leases WHERE resource = 'schema'`); got != "active\n" {
		t.Errorf("schema lease: %q", got)
	}
	// The whole file is described, though only max_file_bytes was read.
	if got, want := r.query(`SELECT status, size FROM capsule_files WHERE path = 'big.bin'`), fmt.Sprintf("binary\t%d\n", size); got != want {
		t.Errorf("capsule_files = %q, want %q", got, want)
	}
}

// waitForOpenFile polls /proc until process pid has file open, or until
// the process is done.
func waitForOpenFile(pid int, file string, done chan error) bool {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	for {
		select {
		case err := <-done:
			done <- err
			return false
		default:
		}
		entries, _ := os.ReadDir(fdDir)
		for _, e := range entries {
			if target, err := os.Readlink(filepath.Join(fdDir, e.Name())); err == nil && target == file {
				return true
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Issue 9, point 9: SIGKILL at random moments of signal send, assign and
// audit report never leaves a file that claims a row that does not exist,
// and after one more command every row has its file, byte for byte.
func TestKilledCommandsLeaveNoPhantomExports(t *testing.T) {
	r := newRepo(t)
	cfg := filepath.Join(r.dir, ".substrate/oxygen.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, bytes.ReplaceAll(data, []byte("max_in_progress: 2"), []byte("max_in_progress: 100")), 0o644); err != nil {
		t.Fatal(err)
	}
	const iterations = 45
	for i := range iterations / 3 {
		r.mustRun("orchestrate", "add", fmt.Sprintf("K-%d", i), "--title", "k", "--kind", "chore", "--domain", "builder",
			"--priority", "low", "--objective", "o", "--file", "README.md")
	}
	if err := os.WriteFile(filepath.Join(r.dir, "README.md"), []byte("readme\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range iterations {
		// Kill anywhere in a command's life: from start-up to exit.
		cmd, life := r.command("orchestrate", "signal", "send", "--kind", "missive", "--from", "builder", "--body", fmt.Sprintf("message %d", i)), 80
		switch i % 3 {
		case 1:
			cmd, life = r.command("orchestrate", "assign", fmt.Sprintf("K-%d", i/3), "--owner", "builder"), 100
		case 2:
			cmd, life = r.command("orchestrate", "audit", "report"), 250
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(life*1000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	t.Logf("after %d kills: %s", iterations, strings.TrimSpace(r.query(`SELECT (SELECT count(*) FROM signals) || ' signals, ' || (SELECT count(*) FROM reports) || ' reports, ' || (SELECT count(*) FROM capsules) || ' capsules, ' || (SELECT count(*) FROM pending_exports) || ' exports pending'`)))
	r.mustRun("orchestrate", "signal", "send", "--kind", "missive", "--from", "builder", "--body", "after the kills")

	// Signals: each row's file is the row as JSON; no other file, no two
	// files with one id.
	var sigs []json.RawMessage
	if err := json.Unmarshal([]byte(r.mustRun("orchestrate", "signal", "list", "--json").stdout), &sigs); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, raw := range sigs {
		var s struct {
			ID   int64  `json:"id"`
			File string `json:"file"`
		}
		json.Unmarshal(raw, &s)
		var row bytes.Buffer
		json.Indent(&row, raw, "", "  ")
		row.WriteByte('\n')
		got, err := os.ReadFile(filepath.Join(r.dir, s.File))
		if err != nil {
			t.Errorf("signal %d has no file: %v", s.ID, err)
			continue
		}
		if !bytes.Equal(got, row.Bytes()) {
			t.Errorf("signal %d: %s differs from its row:\n%s\nrow:\n%s", s.ID, s.File, got, row.Bytes())
		}
		want[filepath.Base(s.File)] = true
	}
	expectOnly(t, filepath.Join(r.dir, ".bridges/signals"), want)

	// Reports: each row's two files are the blobs it names; nothing else.
	want = map[string]bool{}
	for _, line := range rows(r.query(`SELECT path, md_blob, json_blob FROM reports`)) {
		md, js := line[0], strings.TrimSuffix(line[0], ".md")+".json"
		for _, f := range [][2]string{{md, line[1]}, {js, line[2]}} {
			if got := sha256File(t, filepath.Join(r.dir, f[0])); got != f[1] {
				t.Errorf("report file %s: sha256 %q, the row says %s", f[0], got, f[1])
			}
			want[filepath.Base(f[0])] = true
		}
	}
	expectOnly(t, filepath.Join(r.dir, ".substrate/reports"), want)

	// Capsules: each working copy is its latest generation; nothing else.
	want = map[string]bool{}
	for _, line := range rows(r.query(`SELECT c.path, c.blob FROM capsules c WHERE c.generation = (SELECT MAX(generation) FROM capsules d WHERE d.item_id = c.item_id)`)) {
		if got := sha256File(t, filepath.Join(r.dir, line[0])); got != line[1] {
			t.Errorf("capsule %s: sha256 %q, the row says %s", line[0], got, line[1])
		}
		want[filepath.Base(line[0])] = true
	}
	expectOnly(t, filepath.Join(r.dir, ".substrate/capsules"), want)
	if got := r.query(`SELECT count(*) FROM items WHERE status = 'in_progress' AND id NOT IN (SELECT item_id FROM capsules)`); got != "0\n" {
		t.Errorf("items in progress without a capsule: %s", got)
	}
}

// expectOnly fails unless dir holds exactly the files named in want.
func expectOnly(t *testing.T, dir string, want map[string]bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var extra []string
	for _, e := range entries {
		if !want[e.Name()] {
			extra = append(extra, e.Name())
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("%s holds files no row accounts for: %s", dir, strings.Join(extra, ", "))
	}
}

func rows(out string) [][]string {
	var res [][]string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" {
			res = append(res, strings.Split(line, "\t"))
		}
	}
	return res
}

func sha256File(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
