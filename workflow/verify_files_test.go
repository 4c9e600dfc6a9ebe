package workflow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/store"
)

// verifiedFixture is a store with signals, capsules, fingerprints and a
// report, checked once by audit verify: every file and blob is behind the
// marks.
func verifiedFixture(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	svc := MustOpen(t)
	replayWorkload(t, svc, 2)
	if _, err := svc.AuditReport(ctx, "tester"); err != nil {
		t.Fatal(err)
	}
	res, err := svc.VerifyAudit(ctx, "tester", "test", false)
	if err != nil || !res.OK || res.Files.Signals == 0 || res.Files.Reports != 2 || res.BlobStore == nil || res.BlobStore.Blobs == 0 {
		t.Fatalf("first check: %+v, %v; want every file and blob read", res, err)
	}
	return svc
}

// overwrite replaces a file's content, as someone with write access to the
// repository would.
func overwrite(t *testing.T, file, content string) {
	t.Helper()
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Tampering with a file or blob an intact check already read is not seen by
// the incremental checks, which read nothing of it again (the counts of
// files read and blobs re-hashed are zero, and the altered content would
// fail them if they did); audit verify --full and the daily audit-full job
// read everything and name it. A health check after the failed full check
// stays red: a failure is cleared only by a check that covers it.
func TestIncrementalChecksSkipVerifiedFilesFullCatchesTampering(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, svc *Service) string // returns the finding
	}{
		{"signal file", func(t *testing.T, svc *Service) string {
			var file string
			err := svc.read(context.Background(), func(tx *Tx) error {
				files, err := tx.st.VerifySignalFilesAfter(context.Background(), 0)
				file = files[0].File
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			overwrite(t, svc.Layout.StatePath(file), `{"body":"nothing to see"}`+"\n")
			return "the file " + file + " no longer holds what its row records"
		}},
		{"report file", func(t *testing.T, svc *Service) string {
			files, _ := filepath.Glob(svc.Layout.StatePath(ReportsDir + "/audit-*.md"))
			overwrite(t, files[0], "# nothing found\n")
			return "the file " + ReportsDir + "/" + filepath.Base(files[0]) + " no longer holds what its row records"
		}},
		{"capsule blob", func(t *testing.T, svc *Service) string {
			var blob string
			err := svc.read(context.Background(), func(tx *Tx) error {
				rows, err := tx.st.BlobRefsCapsules(context.Background(), 0)
				blob = rows[0].Blob
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			overwrite(t, svc.Layout.StatePath(capsules.RelPath(blob)), "forged capsule\n")
			return "corrupted blob " + capsules.RelPath(blob) + ": content hashes to " + capsules.Hash([]byte("forged capsule\n"))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			svc := verifiedFixture(t)
			want := c.tamper(t, svc)
			inc, err := svc.VerifyAudit(ctx, "tester", "test", false)
			if err != nil || !inc.OK || inc.Files.Signals+inc.Files.Reports != 0 || inc.BlobStore.Blobs != 0 {
				t.Fatalf("incremental check: %+v %+v, %v; want it to pass reading nothing", inc.Files, inc.BlobStore, err)
			}
			h, err := svc.Health(ctx, "tester")
			if err != nil || h.Status == HealthRed {
				t.Fatalf("health before the full check: %s %q, %v; want it to read nothing old", h.Status, h.Lines(), err)
			}
			full, err := svc.VerifyAudit(ctx, "tester", "test", true)
			if err != nil || full.OK || !strings.Contains(strings.Join(full.Failures(), "\n"), want) {
				t.Fatalf("full check: %q, %v; want %q", full.Failures(), err, want)
			}
			h, err = svc.Health(ctx, "tester")
			if err != nil || h.Status != HealthRed || !strings.Contains(strings.Join(h.Lines(), "\n"), want) {
				t.Fatalf("health after the full check: %s %q, %v; want red with %q", h.Status, h.Lines(), err, want)
			}
			run, err := svc.RunJob(ctx, JobAuditFull, "manual", svc.JobFuncs()[JobAuditFull])
			if err == nil || run.Outcome != JobError || !strings.Contains(strings.Join(full.Failures(), "\n"), run.Summary) {
				t.Fatalf("audit-full job: %+v, %v; want outcome error with %q", run, err, want)
			}
		})
	}
}

// addReports records n reports with their files and blobs, as n hourly audit
// jobs would have, without running them.
func addReports(tb testing.TB, svc *Service, n int) {
	tb.Helper()
	ctx := context.Background()
	dir := svc.Layout.StatePath(ReportsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	err := svc.write(ctx, func(tx *Tx) error {
		head, _, err := tx.st.AuditHead(ctx)
		if err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("audit-20250101-%06d", i)
			md := []byte("# Audit report " + name + "\n")
			js := []byte(fmt.Sprintf(`{"chain_head":{"seq":%d,"hash":%q}}`+"\n", head.Seq, head.Hash))
			mdBlob, err := svc.blobs().Put(md)
			if err != nil {
				return err
			}
			jsBlob, err := svc.blobs().Put(js)
			if err != nil {
				return err
			}
			for f, data := range map[string][]byte{name + ".md": md, name + ".json": js} {
				if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
					return err
				}
			}
			if err := tx.st.ReportInsert(ctx, store.Report{Path: ReportsDir + "/" + name + ".md", GeneratedAt: tx.now, HeadSeq: head.Seq, HeadHash: head.Hash,
				MDBlob: mdBlob, JSONBlob: jsBlob}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// health's checks after an intact one read no report file and re-hash no
// blob, however many reports there are: a year of hourly reports costs it
// what none do. The first check after they were written reads them all.
func TestHealthReadsNoOldReportFiles(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	replayWorkload(t, svc, 1)
	addReports(t, svc, 300)
	if _, err := svc.Health(ctx, "tester"); err != nil {
		t.Fatal(err)
	}
	chain, err := svc.verifyAuditLog(ctx, true, true)
	if err != nil || !chain.OK || chain.Files.Reports != 600 {
		t.Fatalf("full check: %+v, %v; want 600 report files read", chain.Files, err)
	}
	chain, err = svc.verifyAuditLog(ctx, false, true)
	if err != nil || !chain.OK || chain.Files.Reports != 0 || chain.Files.Signals != 0 {
		t.Fatalf("health's check after a health: %+v, %v; want no file read", chain.Files, err)
	}
	blobs, _, err := svc.checkBlobs(ctx, false)
	if err != nil || !blobs.OK || blobs.Blobs != 0 {
		t.Fatalf("health's blob check after a health: %+v, %v; want no blob re-hashed", blobs, err)
	}
	h, err := svc.Health(ctx, "tester")
	if err != nil || h.Status == HealthRed {
		t.Fatalf("health: %+v, %v", h, err)
	}
}

// BenchmarkHealthReports measures health with no report and with 10,000 of
// them (more than a year of hourly reports), each after one health has read
// what was new.
func BenchmarkHealthReports(b *testing.B) {
	for _, n := range []int{0, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			svc := MustOpen(b)
			replayWorkload(b, svc, 10)
			addReports(b, svc, n)
			if _, err := svc.Health(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := svc.Health(ctx, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A file written after the marks is the incremental check's to read: one
// altered before any check read it is found by the next health.
func TestIncrementalCheckReadsNewFiles(t *testing.T) {
	ctx := context.Background()
	svc := verifiedFixture(t)
	sig, err := svc.SendSignal(ctx, SignalSpec{Kind: KindMissive, From: "builder", FromDomain: "builder", To: "scribe", Body: "new"})
	if err != nil {
		t.Fatal(err)
	}
	overwrite(t, svc.Layout.StatePath(sig.File), "{}\n")
	want := "the file " + sig.File + " no longer holds what its row records"
	h, err := svc.Health(ctx, "tester")
	if err != nil || h.Status != HealthRed || !strings.Contains(strings.Join(h.Lines(), "\n"), want) {
		t.Fatalf("health: %s %q, %v; want red with %q", h.Status, h.Lines(), err, want)
	}
	inc, err := svc.VerifyAudit(ctx, "tester", "test", false)
	if err != nil || inc.OK || inc.Files.Signals == 0 || !strings.Contains(strings.Join(inc.Failures(), "\n"), want) {
		t.Fatalf("audit verify: %+v %q, %v; want %q", inc.Files, inc.Failures(), err, want)
	}
}
