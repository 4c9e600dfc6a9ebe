package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestClaimQueuedBehindAWriterGetsItsWholeTTL: a claim that waits for the
// write lock reads its time once it has the lock. While this process holds
// the lock (BEGIN IMMEDIATE on the store) for longer than the TTL, a claim
// for 2s waits; when it is granted, its lease starts after the lock was
// released and runs for the whole 2s, so the next claimant is refused.
// Before the fix the lease started when the command did and had run out
// by the time it was granted.
func TestClaimQueuedBehindAWriterGetsItsWholeTTL(t *testing.T) {
	t.Parallel() // it mostly sleeps
	r := newRepo(t)
	db, lock, err := beginWriter(r.dir) // the write lock is held from here
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	claim := r.command("oxygen", "claim", "storage", "--owner", "builder", "--ttl", "2s", "--json")
	var out, errb bytes.Buffer
	claim.Stdout, claim.Stderr = &out, &errb
	if err := claim.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond) // longer than the TTL; nothing is timed against it
	unlockedAt := time.Now().UTC().Truncate(time.Millisecond)
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := claim.Wait(); err != nil {
		t.Fatalf("claim: %v\n%s", err, errb.String())
	}
	l := parseLease(t, result{stdout: out.String(), stderr: errb.String()})
	if l.CreatedAt.Before(unlockedAt) {
		t.Fatalf("lease granted at %s, before the write lock was released at %s: the time was read before the lock was held",
			l.CreatedAt.Format(time.RFC3339Nano), unlockedAt.Format(time.RFC3339Nano))
	}
	if want := l.CreatedAt.Add(2 * time.Second); !l.ExpiresAt.Equal(want) {
		t.Fatalf("expires_at %s, want granted-at + 2s = %s", l.ExpiresAt, want)
	}
	stored := r.query(`SELECT created_at, expires_at, state FROM leases WHERE resource = 'storage'`)
	if want := strconv.FormatInt(l.CreatedAt.UnixMilli(), 10) + "\t" + strconv.FormatInt(l.ExpiresAt.UnixMilli(), 10) + "\tactive\n"; stored != want {
		t.Fatalf("stored lease %q, want %q", stored, want)
	}
	// The next claimant is refused, unless the lease has honestly run out
	// by the time its claim is granted.
	next := r.run("oxygen", "claim", "storage", "--owner", "cy", "--domain", "builder", "--json")
	switch {
	case next.code == 3:
	case next.code == 0 && !parseLease(t, next).CreatedAt.Before(l.ExpiresAt):
	default:
		t.Fatalf("next claimant: exit %d while the lease (to %s) was live\n%s%s", next.code, l.ExpiresAt, next.stdout, next.stderr)
	}
}

// TestInstalledBuildIgnoresOXYGEN_NOW builds the binaries as make build does
// (no oxygentest tag): they contain no clock override at all, and a claim
// under OXYGEN_NOW far in the future gets a lease in real time.
func TestInstalledBuildIgnoresOXYGEN_NOW(t *testing.T) {
	t.Parallel() // it mostly builds
	dir := t.TempDir()
	if err := buildTools(dir, "", "-trimpath"); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"orchestrate", "oxygen", "orchestrate-pg", "oxygen-pg", "oxygen-mcp", "orchestrate-dashboard"} {
		bin, err := os.ReadFile(filepath.Join(dir, tool))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(bin, []byte("OXYGEN_NOW")) {
			t.Errorf("the installed %s mentions OXYGEN_NOW: it must not read a clock override", tool)
		}
	}
	r := newRepo(t)
	before := time.Now().UTC().Truncate(time.Millisecond)
	cmd := exec.Command(filepath.Join(dir, "oxygen"), "claim", "deployment", "--owner", "builder", "--ttl", "4h", "--json")
	cmd.Dir, cmd.Env = r.dir, append(append([]string{}, r.env...), "OXYGEN_NOW=2099-01-01T00:00:00Z")
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	after := time.Now().UTC()
	l := parseLease(t, result{stdout: string(stdout)})
	if l.CreatedAt.Before(before) || l.CreatedAt.After(after) || !l.ExpiresAt.Equal(l.CreatedAt.Add(4*time.Hour)) {
		t.Fatalf("lease %s to %s, want it granted between %s and %s for 4h: OXYGEN_NOW moved the clock",
			l.CreatedAt, l.ExpiresAt, before, after)
	}
}
