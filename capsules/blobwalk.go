package capsules

import (
	"errors"
	"io/fs"
	"sort"
	"strings"
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
	err = fs.WalkDir(r.FS(), b.Dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && name == b.Dir {
				return fs.SkipDir
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		rel := strings.TrimPrefix(name, b.Dir+"/")
		if h := strings.ReplaceAll(rel, "/", ""); ValidHash(h) && len(strings.Split(rel, "/")[0]) == 2 {
			out = append(out, h)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
