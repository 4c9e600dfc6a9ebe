package workflow

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// trustNow makes the stat cache trust files written just now, as it would
// once racyWindow has passed.
func trustNow(t *testing.T) {
	scanClock = func() time.Time { return time.Now().Add(time.Hour) }
	t.Cleanup(func() { scanClock = time.Now })
}

func writeFile(t *testing.T, svc *Service, rel, content string) {
	t.Helper()
	p := filepath.Join(svc.Worktree, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func storage(t *testing.T, svc *Service) []Resource {
	r, ok := svc.Config.Resource("storage")
	if !ok {
		t.Fatal("no storage resource")
	}
	return []Resource{r}
}

// TestStatCacheHashesOnlyChangedFiles: a second scan reads only the files
// whose stat key moved. Observed through the blob store: a blob removed
// after the first scan comes back only if its file was read again.
func TestStatCacheHashesOnlyChangedFiles(t *testing.T) {
	trustNow(t)
	svc := MustOpen(t)
	for _, f := range []string{"a", "b", "c"} {
		writeFile(t, svc, "backups/"+f+".sh", "echo "+f+"\n")
	}
	first, err := svc.scanHere(storage(t, svc))
	if err != nil {
		t.Fatal(err)
	}
	blob := func(snap *fingerprintSnapshot, path string) string {
		for _, e := range snap.manifests["storage"].Files {
			if e.Path == path {
				return e.Blob
			}
		}
		t.Fatalf("%s not in the manifest", path)
		return ""
	}
	unchanged := blob(first, "backups/a.sh")
	if err := os.Remove(svc.blobs().(*capsules.BlobStore).Path(unchanged)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, svc, "backups/b.sh", "echo b, changed\n")
	second, err := svc.scanHere(storage(t, svc))
	if err != nil {
		t.Fatal(err)
	}
	if blob(second, "backups/a.sh") != unchanged {
		t.Fatal("the unchanged file's entry moved")
	}
	if svc.blobs().Has(unchanged) {
		t.Fatal("the unchanged file was read again: its blob came back")
	}
	if b := blob(second, "backups/b.sh"); b == blob(first, "backups/b.sh") || !svc.blobs().Has(b) {
		t.Fatal("the changed file was not hashed again")
	}
	if first.hashes["storage"] == second.hashes["storage"] {
		t.Fatal("the fingerprint did not change")
	}
}

// TestStatCacheDistrustsRecentFiles: a file changed within racyWindow of a
// scan is not cached, since a second write in the same timestamp tick
// could leave its stat key as it was.
func TestStatCacheDistrustsRecentFiles(t *testing.T) {
	svc := MustOpen(t)
	writeFile(t, svc, "backups/a.sh", "echo a\n")
	first, err := svc.scanHere(storage(t, svc))
	if err != nil {
		t.Fatal(err)
	}
	h := first.manifests["storage"].Files[0].Blob
	if err := os.Remove(svc.blobs().(*capsules.BlobStore).Path(h)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.scanHere(storage(t, svc)); err != nil {
		t.Fatal(err)
	}
	if !svc.blobs().Has(h) {
		t.Fatal("a file written just now was trusted to the stat cache")
	}
}

// TestOneResourceScanMatchesTheWholeWalk: a claim walks only its resource's
// bases, the audit the whole worktree; both must describe a resource the
// same way, or every claim after an audit would find a change.
func TestOneResourceScanMatchesTheWholeWalk(t *testing.T) {
	svc := MustOpen(t)
	for _, f := range []string{"backups/x/y.sh", "store/blobs/ab", "deploy/install.sh", "scripts/install-a.sh", "scripts/other.sh",
		"tools/plan-registry/schema.yaml", "docs/agents/a.md", "elsewhere/store/blobs/cd"} {
		writeFile(t, svc, f, f+"\n")
	}
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(svc.Worktree, "images")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("install.sh", filepath.Join(svc.Worktree, "deploy", "current")); err != nil {
		t.Fatal(err)
	}
	all, err := svc.scanHere(svc.Config.Resources)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range svc.Config.Resources {
		one, err := svc.scanHere([]Resource{r})
		if err != nil {
			t.Fatal(err)
		}
		if one.hashes[r.ID] != all.hashes[r.ID] {
			t.Fatalf("%s: %v alone, %v in the whole walk", r.ID, one.manifests[r.ID].Files, all.manifests[r.ID].Files)
		}
	}
	if n := len(all.manifests["storage"].Files); n != 2 {
		t.Fatalf("storage has %d files, want 2 (backups/x/y.sh, store/blobs/ab; its globs are anchored)", n)
	}
}

// TestStaleScanGivesWayToANewerFingerprint: a scan taken before the write
// lock may be older than a fingerprint another command recorded while it
// waited. Comparing it would report the holder's last leased changes as
// made after the release; the newer observation is recorded instead.
func TestStaleScanGivesWayToANewerFingerprint(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	actor := Actor{Owner: "builder", Domain: "builder"}
	writeFile(t, svc, "backups/a.sh", "v0\n")
	if _, err := svc.Claim(ctx, ClaimRequest{Resource: "storage", Actor: actor}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, svc, "backups/a.sh", "v1, leased\n")
	stale, err := svc.scanHere(storage(t, svc))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, svc, "backups/a.sh", "v2, leased\n")
	if _, err := svc.Release(ctx, ReleaseRequest{Resource: "storage", Actor: actor}); err != nil {
		t.Fatal(err)
	}
	var edit *ShadowEdit
	err = svc.write(ctx, func(tx *Tx) error {
		r, _ := svc.Config.Resource("storage")
		edit, err = svc.markBoundary(ctx, tx, stale, r, boundary{reason: boundaryAudit, actor: "test"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		t.Fatalf("a stale scan reported %v as a shadow edit", edit.Paths)
	}
	var manifests []string
	rows, err := sqlstore.DBOf(svc.Store).QueryContext(ctx, `SELECT manifest FROM fingerprints WHERE resource = 'storage' ORDER BY id DESC LIMIT 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		manifests = append(manifests, m)
	}
	if len(manifests) != 2 || manifests[0] != manifests[1] || manifests[0] == stale.hashes["storage"] {
		t.Fatalf("the audit recorded %v; the release's fingerprint should stand", manifests)
	}
}
