package workflow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// BenchmarkClaimRelease measures one claim and one release through the
// Service, each its own BEGIN IMMEDIATE transaction with synchronous=FULL,
// against a repository made by Init (see MustOpen). It is the in-process
// half of the claim+release figure; scripts/ times whole processes.
func BenchmarkClaimRelease(b *testing.B) {
	ctx := context.Background()
	svc := MustOpen(b)
	actor := Actor{Owner: "builder", Domain: "builder"}
	var last int64 // tokens start from a seed taken at init, then go up
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := svc.Claim(ctx, ClaimRequest{Resource: "storage", Actor: actor})
		if err != nil {
			b.Fatal(err)
		}
		if res.Renewed || res.Lease.Token <= last {
			b.Fatalf("claim %d: got token %d after %d (renewed %v), want a fresh grant", i, res.Lease.Token, last, res.Renewed)
		}
		last = res.Lease.Token
		if _, err := svc.Release(ctx, ReleaseRequest{Resource: "storage", Actor: actor}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var active int
	if err := sqlstore.DBOf(svc.Store).QueryRowContext(ctx, `SELECT count(*) FROM leases WHERE state = 'active'`).Scan(&active); err != nil {
		b.Fatal(err)
	}
	if active != 0 {
		b.Fatalf("%d leases still active after the loop", active)
	}
}

// BenchmarkReadClock measures what every transaction adds to read its time:
// one lookup of the newest audit event (Tx.readClock).
func BenchmarkReadClock(b *testing.B) {
	ctx := context.Background()
	svc := MustOpen(b)
	b.ReportAllocs()
	err := svc.read(ctx, func(tx *Tx) error {
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := tx.readClock(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRunKeeper measures what `oxygen run` costs the store while its
// command runs: the read that checks the lease every second, and the write
// that renews it every third of the TTL.
func BenchmarkRunKeeper(b *testing.B) {
	ctx := context.Background()
	svc := MustOpen(b)
	ttl := time.Minute
	res, err := svc.Claim(ctx, ClaimRequest{Resource: "storage", Actor: Actor{Owner: "builder", Domain: "builder"}, TTL: &ttl})
	if err != nil {
		b.Fatal(err)
	}
	l := res.Lease
	b.Run("CheckLease", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := svc.CheckLease(ctx, l.Resource, l.Token); err != nil {
				b.Fatal(err)
			}
		}
	})
	step := 0 // across every run of the sub-benchmark
	b.Run("KeepLease", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			// Each call a millisecond later, so that every one extends the
			// lease and writes its audit event, as a renewal does.
			step++
			svc.Clock = FixedClock(testNow.Add(time.Duration(step) * time.Millisecond))
			if _, err := svc.KeepLease(ctx, l.Resource, l.Token, ttl); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReleaseWithBriefs measures what the stale-brief check adds to
// a claim and a release, with 1000 items in progress whose briefs watch
// the index resource: releasing storage, which no brief lists (one indexed
// read finds nothing), and releasing index, whose 1000 briefs are then read
// and compared with their (unchanged, empty) file lists after the commit.
func BenchmarkReleaseWithBriefs(b *testing.B) {
	ctx := context.Background()
	svc := MustOpen(b)
	db := sqlstore.DBOf(svc.Store)
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("I%04d", i)
		for _, q := range []string{
			`INSERT INTO items (id, title, kind, domain, priority, status, owner, objective, created_at, updated_at) VALUES ('` + id + `', 't', 'chore', 'builder', 'low', 'in_progress', 'builder', 'o', 0, 0)`,
			`INSERT INTO capsules (item_id, generation, blob, content_key, path, template, template_sha256, generated_at) VALUES ('` + id + `', 1, '` + strings.Repeat("0", 64) + `', 'k', 'p', 'builtin', 's', 0)`,
			`INSERT INTO capsule_watches (resource, item_id, capsule_id) VALUES ('index', '` + id + `', last_insert_rowid())`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	}
	actor := Actor{Owner: "builder", Domain: "builder"}
	for _, resource := range []string{"storage", "index"} {
		b.Run(resource, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := svc.Claim(ctx, ClaimRequest{Resource: resource, Actor: actor}); err != nil {
					b.Fatal(err)
				}
				if _, err := svc.Release(ctx, ReleaseRequest{Resource: resource, Actor: actor}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScanResource measures what a claim or a release adds for the
// files under the resource: the walk and the stat cache, files unchanged
// (the steady state), before any transaction.
func BenchmarkScanResource(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			svc := MustOpen(b)
			for i := 0; i < n; i++ {
				p := filepath.Join(svc.Worktree, "backups", "d"+strconv.Itoa(i/100), "f"+strconv.Itoa(i))
				if i%100 == 0 {
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						b.Fatal(err)
					}
				}
				if err := os.WriteFile(p, []byte("backup "+strconv.Itoa(i)+"\n"), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			scanClock = func() time.Time { return time.Now().Add(time.Hour) }
			b.Cleanup(func() { scanClock = time.Now })
			r, _ := svc.Config.Resource("storage")
			if _, err := svc.scanHere([]Resource{r}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := svc.scanHere([]Resource{r}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
