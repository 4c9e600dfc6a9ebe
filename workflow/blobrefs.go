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
	rows, err := tx.query(ctx, `SELECT item_id, generation, blob FROM capsules ORDER BY id`)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var item, hash string
		var gen int
		if err := rows.Scan(&item, &gen, &hash); err != nil {
			rows.Close()
			return nil, nil, storeErr("read capsules", err)
		}
		blobs = append(blobs, blobRef{hash, fmt.Sprintf("capsule %s generation %d", item, gen)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, storeErr("read capsules", err)
	}
	rows, err = tx.query(ctx, `SELECT id, old_blob, new_blob FROM shadow_edits ORDER BY id`)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var id int64
		var old, cur string
		if err := rows.Scan(&id, &old, &cur); err != nil {
			rows.Close()
			return nil, nil, storeErr("read shadow edits", err)
		}
		manifests = append(manifests, blobRef{old, fmt.Sprintf("shadow edit %d (the baseline a restore writes back)", id)},
			blobRef{cur, fmt.Sprintf("shadow edit %d (the content it found)", id)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, storeErr("read shadow edits", err)
	}
	rows, err = tx.query(ctx, `SELECT manifest, resource FROM fingerprints GROUP BY manifest, resource ORDER BY MIN(id)`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var hash, resource string
		if err := rows.Scan(&hash, &resource); err != nil {
			return nil, nil, storeErr("read fingerprints", err)
		}
		manifests = append(manifests, blobRef{hash, "a fingerprint of " + resource})
	}
	return blobs, manifests, rows.Err()
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
