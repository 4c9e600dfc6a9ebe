package capsules

import (
	"sort"
)

// Hashes lists the name of every blob in the store, sorted, skipping the
// temporary files of writes in progress and anything not at a blob's path
// (Verify reports those). Copying a store elsewhere needs the list: blobs
// are found by name, and nothing else enumerates them.
func (b *BlobStore) Hashes() ([]string, error) {
	r, err := b.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := []string{}
	err = b.walk(r, func(_, rel string) {
		if h, ok := blobAt(rel); ok {
			out = append(out, h)
		}
	})
	sort.Strings(out)
	return out, err
}
