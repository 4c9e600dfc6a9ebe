package workflow

import (
	"context"
	"fmt"

	"github.com/oxygen-tools/oxygen/capsules"
)

// Re-hashing the blobs that are present cannot notice one that was deleted.
// The rows that refer to blobs can: every capsule generation names its blob,
// and every fingerprint and shadow edit names a manifest whose files are the
// content a restore writes back.

// blobRef is a blob something refers to.
type blobRef struct {
	hash string
	by   string // what refers to it, for people
}

// storeBlobRefs lists the blobs the store's rows refer to: capsule
// generations, and separately the manifests of shadow edits (the content
// before and after) and of fingerprints, each once.
func (tx *Tx) storeBlobRefs(ctx context.Context) (blobs, manifests []blobRef, err error) {
	capsules, err := tx.st.BlobRefsCapsules(ctx)
	if err != nil {
		return nil, nil, storeErr("read capsules", err)
	}
	for _, c := range capsules {
		blobs = append(blobs, blobRef{c.Blob, fmt.Sprintf("capsule %s generation %d", c.ItemID, c.Generation)})
	}
	edits, err := tx.st.BlobRefsShadowEdits(ctx)
	if err != nil {
		return nil, nil, storeErr("read shadow edits", err)
	}
	for _, e := range edits {
		manifests = append(manifests, blobRef{e.OldBlob, fmt.Sprintf("shadow edit %d (the baseline a restore writes back)", e.ID)},
			blobRef{e.NewBlob, fmt.Sprintf("shadow edit %d (the content it found)", e.ID)})
	}
	prints, err := tx.st.BlobRefsFingerprints(ctx)
	if err != nil {
		return nil, nil, storeErr("read fingerprints", err)
	}
	for _, f := range prints {
		manifests = append(manifests, blobRef{f.Manifest, "a fingerprint of " + f.Resource})
	}
	return blobs, manifests, nil
}

// checkBlobStore re-hashes every blob, then looks up every blob the store
// refers to, including each file of each manifest. The rows are read in one
// snapshot; the files are read after it.
func (s *Service) checkBlobStore(ctx context.Context) (*StoreCheck, error) {
	var refs, manifests []blobRef
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		refs, manifests, err = tx.storeBlobRefs(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
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
