package workflow

import (
	"context"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// BenchmarkVerifyFull measures audit verify --full on a chain of 1M events
// (the figure docs/PERFORMANCE.md quotes): after a small replayed workload,
// job.run-style events appended straight to a test store with
// synchronous=OFF. events/s counts the
// events of one whole check (the re-hash, the recorded heads, the replay
// and its comparison with the tables) per second; rehash-events/s the chain
// pass alone (read, canonical JSON, sha256, compare).
func BenchmarkVerifyFull(b *testing.B) {
	const size = 1_000_000
	ctx := context.Background()
	svc := MustOpen(b)
	if _, err := sqlstore.DBOf(svc.Store).ExecContext(ctx, `PRAGMA synchronous=OFF`); err != nil {
		b.Fatal(err)
	}
	replayWorkload(b, svc, 10)
	appendJobRuns(b, svc, size)
	b.ResetTimer()
	var full, rehash time.Duration
	var events int64
	for i := 0; i < b.N; i++ {
		start := time.Now()
		err := svc.read(ctx, func(tx *Tx) error {
			res, err := tx.verifyChain(ctx, nil, svc.chainReaders(), false, func(*chainEvent) {})
			if err == nil && (!res.OK || res.Rehashed != size) {
				b.Fatalf("chain pass: %+v", res)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		rehash += time.Since(start)
		start = time.Now()
		res, err := svc.verifyAuditLog(ctx, true, true)
		if err != nil || !res.OK || !res.Full {
			b.Fatalf("%v %q", err, res.Failures())
		}
		full += time.Since(start)
		events = res.Events
	}
	n := float64(b.N)
	b.ReportMetric(float64(events)*n/full.Seconds(), "events/s")
	b.ReportMetric(float64(events)*n/rehash.Seconds(), "rehash-events/s")
}
