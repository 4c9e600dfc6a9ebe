package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/store"
)

// Re-hashing the blobs that are present cannot notice one that was deleted.
// The rows that refer to blobs can: every capsule generation names its blob,
// every report its two files, and every fingerprint and shadow edit names a
// manifest whose files are the content a restore writes back.
//
// A full check re-hashes every blob in the store and looks up every blob
// the rows refer to. An incremental one reads only the rows after the marks
// an earlier intact check recorded, and re-hashes each blob they name that
// is not yet in verified_blobs: every blob is read once after it is first
// referred to, however many manifests list it.

// blobRef is a blob something refers to.
type blobRef struct {
	hash string
	by   string // what refers to it, for people
}

// blobProgress is what an intact blob check lets the next incremental one
// skip: the marks of the rows it read, and the blobs it re-hashed.
type blobProgress struct {
	marks    map[store.VerifyMark]int64
	verified []string
}

// storeBlobRefs lists the blobs the rows after marks refer to (every row's,
// with no marks): capsule generations and reports, and separately the
// manifests of shadow edits (the content before and after) and of
// fingerprints, each once. It returns the marks the rows reach.
func (tx *Tx) storeBlobRefs(ctx context.Context, marks map[store.VerifyMark]int64) (blobs, manifests []blobRef, reached map[store.VerifyMark]int64, err error) {
	reached = map[store.VerifyMark]int64{}
	for m, v := range marks {
		reached[m] = v
	}
	capsules, err := tx.st.BlobRefsCapsules(ctx, marks[store.MarkCapsuleBlobs])
	if err != nil {
		return nil, nil, nil, storeErr("read capsules", err)
	}
	for _, c := range capsules {
		blobs = append(blobs, blobRef{c.Blob, fmt.Sprintf("capsule %s generation %d", c.ItemID, c.Generation)})
		reached[store.MarkCapsuleBlobs] = c.ID
	}
	reports, err := tx.st.BlobRefsReports(ctx, marks[store.MarkReportBlobs])
	if err != nil {
		return nil, nil, nil, storeErr("read reports", err)
	}
	for _, r := range reports {
		blobs = append(blobs, blobRef{r.MDBlob, "report " + r.Path}, blobRef{r.JSONBlob, "report " + r.Path})
		reached[store.MarkReportBlobs] = r.ID
	}
	edits, err := tx.st.BlobRefsShadowEdits(ctx, marks[store.MarkShadowEditBlobs])
	if err != nil {
		return nil, nil, nil, storeErr("read shadow edits", err)
	}
	for _, e := range edits {
		manifests = append(manifests, blobRef{e.OldBlob, fmt.Sprintf("shadow edit %d (the baseline a restore writes back)", e.ID)},
			blobRef{e.NewBlob, fmt.Sprintf("shadow edit %d (the content it found)", e.ID)})
		reached[store.MarkShadowEditBlobs] = e.ID
	}
	prints, err := tx.st.BlobRefsFingerprints(ctx, marks[store.MarkFingerprintBlob])
	if err != nil {
		return nil, nil, nil, storeErr("read fingerprints", err)
	}
	for _, f := range prints {
		manifests = append(manifests, blobRef{f.Manifest, "a fingerprint of " + f.Resource})
		reached[store.MarkFingerprintBlob] = max(reached[store.MarkFingerprintBlob], f.ID)
	}
	return blobs, manifests, reached, nil
}

// checkBlobStore re-hashes every blob, then looks up every blob the store
// refers to, including each file of each manifest (store verify).
func (s *Service) checkBlobStore(ctx context.Context) (*StoreCheck, error) {
	check, _, err := s.checkBlobs(ctx, true)
	return check, err
}

// checkBlobs checks the blob store, in full or incrementally (full anyway
// when the latest recorded blob-store check failed: a failure stands until
// a check that covers what it covered clears it). The rows are read in one
// snapshot; the blobs after it.
func (s *Service) checkBlobs(ctx context.Context, full bool) (*StoreCheck, *blobProgress, error) {
	var refs, manifests []blobRef
	progress := &blobProgress{}
	known := map[string]bool{}
	err := s.read(ctx, func(tx *Tx) error {
		var marks map[store.VerifyMark]int64
		if !full {
			last, err := tx.latestVerification(ctx, string(store.VerificationBlobStore))
			if err != nil {
				return err
			}
			full = last != nil && !last.OK
		}
		if !full {
			var err error
			if marks, err = tx.st.VerifyMarks(ctx); err != nil {
				return storeErr("read verify marks", err)
			}
		}
		var err error
		refs, manifests, progress.marks, err = tx.storeBlobRefs(ctx, marks)
		if err != nil || full {
			return err
		}
		for _, r := range append(append([]blobRef{}, refs...), manifests...) {
			if known[r.hash], err = tx.st.VerifiedBlob(ctx, r.hash); err != nil {
				return storeErr("read verified blobs", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if full {
		check, err := s.checkAllBlobs(refs, manifests)
		return check, progress, err
	}
	check := &StoreCheck{VerifyResult: capsules.VerifyResult{Problems: []capsules.Problem{}}, Missing: []capsules.Problem{}}
	rehash := func(r blobRef) []byte {
		if known[r.hash] {
			return nil
		}
		known[r.hash] = true
		data, err := s.blobs().Get(r.hash)
		var corrupt *capsules.CorruptError
		switch {
		case !capsules.ValidHash(r.hash):
			check.Missing = append(check.Missing, capsules.Problem{Path: r.hash, Problem: r.by + " refers to it, and it is not a blob name"})
		case errors.As(err, &corrupt):
			check.Problems = append(check.Problems, capsules.Problem{Path: capsules.RelPath(r.hash), Problem: "content hashes to " + corrupt.Got})
		case err != nil && !s.blobs().Has(r.hash):
			check.Missing = append(check.Missing, capsules.Problem{Path: capsules.RelPath(r.hash), Problem: r.by + " refers to it"})
		case err != nil:
			check.Problems = append(check.Problems, capsules.Problem{Path: capsules.RelPath(r.hash), Problem: err.Error()})
		default:
			check.Blobs++
			progress.verified = append(progress.verified, r.hash)
			return data
		}
		return nil
	}
	for _, r := range refs {
		rehash(r)
	}
	for _, m := range manifests {
		if rehash(m) == nil {
			continue // verified before, or missing or corrupted: reported as such
		}
		man, err := s.loadManifest(m.hash)
		if err != nil {
			continue
		}
		for _, f := range man.Files {
			rehash(blobRef{f.Blob, fmt.Sprintf("%s in %s", f.Path, m.by)})
		}
	}
	check.OK = len(check.Problems) == 0 && len(check.Missing) == 0
	return check, progress, nil
}

// checkAllBlobs re-hashes every blob, then looks up every blob refs and
// manifests name, including each file of each manifest.
func (s *Service) checkAllBlobs(refs, manifests []blobRef) (*StoreCheck, error) {
	res, err := s.blobs().Verify()
	if err != nil {
		return nil, Errorf(EINTERNAL, "verify blob store: %v", err)
	}
	loaded := map[string]bool{}
	for _, m := range manifests {
		refs = append(refs, m)
		if loaded[m.hash] {
			continue
		}
		loaded[m.hash] = true
		man, err := s.loadManifest(m.hash)
		if err != nil {
			continue // missing or corrupted: reported as such
		}
		for _, f := range man.Files {
			refs = append(refs, blobRef{f.Blob, fmt.Sprintf("%s in %s", f.Path, m.by)})
		}
	}
	check := &StoreCheck{VerifyResult: res, Missing: s.missingBlobs(refs)}
	check.OK = len(check.Problems) == 0 && len(check.Missing) == 0
	return check, nil
}

// recordBlobProgress records, after an intact blob check, the marks it
// reached and the blobs it re-hashed.
func (tx *Tx) recordBlobProgress(ctx context.Context, check *StoreCheck, p *blobProgress) error {
	if !check.OK {
		return nil
	}
	if err := tx.advanceMarks(ctx, true, p.marks); err != nil {
		return err
	}
	for _, h := range p.verified {
		if err := tx.st.VerifiedBlobAdd(ctx, h, tx.now); err != nil {
			return storeErr("record verified blob", err)
		}
	}
	return nil
}

// missingBlobs lists each referenced blob that is not in the blob store,
// once, naming the first thing that refers to it.
func (s *Service) missingBlobs(refs []blobRef) []capsules.Problem {
	store := s.blobs()
	out := []capsules.Problem{}
	seen := map[string]bool{}
	for _, r := range refs {
		if seen[r.hash] {
			continue
		}
		seen[r.hash] = true
		switch {
		case !capsules.ValidHash(r.hash):
			out = append(out, capsules.Problem{Path: r.hash, Problem: r.by + " refers to it, and it is not a blob name"})
		case !store.Has(r.hash):
			out = append(out, capsules.Problem{Path: capsules.RelPath(r.hash), Problem: r.by + " refers to it"})
		}
	}
	return out
}
