package workflow

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/internal/safefs"
	"github.com/oxygen-tools/oxygen/store"
)

// Exports are the files that mirror committed rows: a signal's JSON, a
// report's .md and .json, a capsule's working copy. A file never claims a
// row that does not exist, and a row does not stay without its file:
//
//   - Inside the transaction, a command only decides the file's name and
//     content, refuses (exit 2, nothing changed) a destination that a
//     symlink leads out of the repository, and records the export in
//     pending_exports, in the same commit as the row.
//   - After the commit it writes a temporary file, fsyncs it and renames it
//     into place, so a final name only ever holds complete content.
//   - A process killed between the commit and the rename leaves a pending
//     row (and perhaps its temporary file). The next transaction that
//     exports anything finishes the job: for each pending row whose process
//     is gone, it removes that process's temporary file, and either finds
//     the file intact and drops the row, or takes the export over and
//     writes it after its own commit.
//
// A final name with no row cannot arise this way: names are written only
// after their row commits, and rows are never deleted. One found anyway was
// put there by hand and is left alone.
type export struct {
	path    string // logical, e.g. .bridges/signals/X.json or .substrate/capsules/ID.md
	source  string // "signal:<id>", or the blob holding the content
	content []byte // nil: read from the blob after commit
}

// export schedules a file to be written once tx commits.
func (tx *Tx) export(logical, source string, content []byte) {
	tx.exports = append(tx.exports, export{path: logical, source: source, content: content})
}

// signalSource names a signal as the source of its export.
func signalSource(id int64) string { return "signal:" + itoa(id) }

// exporting counts the exports this process has committed but not yet
// written: the daemon runs jobs side by side in one process, and one job
// must not take over another's export while it is being written.
var exporting = struct {
	sync.Mutex
	paths map[string]int
}{paths: map[string]int{}}

func markExporting(exports []export) {
	exporting.Lock()
	defer exporting.Unlock()
	for _, e := range exports {
		exporting.paths[e.path]++
	}
}

func doneExporting(exports []export) {
	exporting.Lock()
	defer exporting.Unlock()
	for _, e := range exports {
		if exporting.paths[e.path]--; exporting.paths[e.path] <= 0 {
			delete(exporting.paths, e.path)
		}
	}
}

func isExporting(logical string) bool {
	exporting.Lock()
	defer exporting.Unlock()
	return exporting.paths[logical] > 0
}

// tempTag marks the temporary files of one process.
func tempTag(pid int) string { return "oxygen-" + strconv.Itoa(pid) }

// roots opens each directory exports go to at most once per command.
type roots map[string]*safefs.Root

func (rs roots) open(dir string) (*safefs.Root, error) {
	if r := rs[dir]; r != nil {
		return r, nil
	}
	r, err := safefs.Open(dir)
	if err != nil {
		return nil, err
	}
	rs[dir] = r
	return r, nil
}

func (rs roots) close() {
	for _, r := range rs {
		r.Close()
	}
}

// stageExports runs at the end of a transaction that exports: it refuses a
// destination that leads out of its root, finishes the exports of
// processes that died after their commit, and records this transaction's
// exports as pending. It returns everything to write after the commit.
func (s *Service) stageExports(ctx context.Context, tx *Tx) ([]export, error) {
	rs := roots{}
	defer rs.close()
	own := map[string]bool{}
	for _, e := range tx.exports {
		own[e.path] = true
		dir, rel := s.Layout.stateRoot(e.path)
		r, err := rs.open(dir)
		if err != nil {
			return nil, Errorf(EINTERNAL, "write %s: %v", e.path, err)
		}
		if err := r.CheckDir(path.Dir(rel)); err != nil {
			return nil, refusedExport(e.path, err)
		}
	}
	out := append([]export{}, tx.exports...)
	taken, err := s.takeOverExports(ctx, tx, rs, own)
	if err != nil {
		return nil, err
	}
	out = append(out, taken...)
	for _, e := range tx.exports {
		if err := tx.st.PendingExportUpsert(ctx, store.PendingExport{Path: e.path, Source: e.source, PID: os.Getpid(), Host: hostname()}); err != nil {
			return nil, storeErr("record pending export", err)
		}
	}
	return out, nil
}

// refusedExport is the one-line refusal of a destination that leads out.
func refusedExport(logical string, err error) error {
	if safefs.IsEscape(err) {
		return Errorf(EINVALID, "refusing to write %s: %v (remove the symlink)", logical, err)
	}
	return Errorf(EINTERNAL, "write %s: %v", logical, err)
}

// takeOverExports handles the pending exports of processes that are gone:
// their temporary file is removed, then an intact file drops the row and a
// missing or damaged one becomes this process's to write. Exports of live
// processes are theirs to finish.
func (s *Service) takeOverExports(ctx context.Context, tx *Tx, rs roots, own map[string]bool) ([]export, error) {
	pending, err := tx.st.PendingExportsList(ctx)
	if err != nil {
		return nil, storeErr("read pending exports", err)
	}
	var taken []export
	for _, p := range pending {
		if p.Host != hostname() {
			continue
		}
		if p.PID == os.Getpid() {
			if isExporting(p.Path) {
				continue
			}
		} else if processAlive(p.PID) {
			continue
		}
		dir, rel := s.Layout.stateRoot(p.Path)
		r, err := rs.open(dir)
		if err != nil {
			continue
		}
		r.Remove(safefs.TempName(rel, tempTag(p.PID)))
		if own[p.Path] {
			continue // this transaction's export replaces it
		}
		e, err := tx.exportOf(ctx, p.Path, p.Source)
		if err != nil {
			continue
		}
		if s.exportIntact(r, rel, e) {
			if err := tx.st.PendingExportDelete(ctx, p.Path); err != nil {
				return nil, storeErr("drop pending export", err)
			}
			continue
		}
		if err := tx.st.PendingExportSetWriter(ctx, p.Path, os.Getpid(), hostname()); err != nil {
			return nil, storeErr("take over pending export", err)
		}
		taken = append(taken, e)
	}
	return taken, nil
}

// exportOf is the export of path from source: a signal's JSON is rendered
// from its row; a blob is read after the commit.
func (tx *Tx) exportOf(ctx context.Context, logical, source string) (export, error) {
	e := export{path: logical, source: source}
	if id, ok := strings.CutPrefix(source, "signal:"); ok {
		n, _ := strconv.ParseInt(id, 10, 64)
		sig, err := tx.getSignal(ctx, n)
		if err != nil {
			return e, err
		}
		e.content = sig.exportJSON()
	}
	return e, nil
}

// missingExports lists the signal and report files that are absent though
// their row exists (deleted by hand, or lost with the disk cache before a
// later command saw them). The audit job writes them again. Only the store
// and directory entries are read, outside any lock.
func (s *Service) missingExports(ctx context.Context) ([]export, error) {
	var all []export
	err := s.read(ctx, func(tx *Tx) error {
		files, err := tx.st.SignalFiles(ctx)
		if err != nil {
			return storeErr("read signals", err)
		}
		for _, f := range files {
			all = append(all, export{path: f.File, source: signalSource(f.ID)})
		}
		reports, err := tx.st.ExportReportFiles(ctx)
		if err != nil {
			return storeErr("read reports", err)
		}
		for _, r := range reports {
			all = append(all, export{path: r.MDPath, source: r.MDBlob}, export{path: strings.TrimSuffix(r.MDPath, ".md") + ".json", source: r.JSONBlob})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rs := roots{}
	defer rs.close()
	var missing []export
	for _, e := range all {
		dir, rel := s.Layout.stateRoot(e.path)
		r, err := rs.open(dir)
		if err != nil {
			continue
		}
		if _, err := r.Lstat(rel); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, e)
		}
	}
	return missing, nil
}

// exportIntact reports whether the file already holds the export's
// content. Only as many bytes as the content has are read.
func (s *Service) exportIntact(r *safefs.Root, rel string, e export) bool {
	f, err := r.Open(rel)
	if err != nil {
		return false
	}
	defer f.Close()
	if e.content != nil {
		got, err := io.ReadAll(io.LimitReader(f, int64(len(e.content))+1))
		return err == nil && bytes.Equal(got, e.content)
	}
	fi, err := f.Stat()
	size, berr := s.blobs().Size(e.source)
	if err != nil || berr != nil || fi.Size() != size {
		return false
	}
	got, err := capsules.HashReader(f)
	return err == nil && got == e.source
}

// writeExports writes, after the commit, each export to a temporary file,
// fsyncs it and renames it into place. A failure of this command's own
// export is reported (the row stands, and the next exporting command
// writes the file); one taken over from a dead process stays pending.
func (s *Service) writeExports(exports []export, own int) error {
	rs := roots{}
	defer rs.close()
	var errs []error
	for i, e := range exports {
		err := s.writeExport(rs, e)
		if err != nil && i < own {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) writeExport(rs roots, e export) error {
	content := e.content
	if content == nil {
		data, err := s.blobs().Get(e.source)
		if err != nil {
			return Errorf(EINTERNAL, "%s is recorded, but its content could not be read: %v", e.path, err)
		}
		content = data
	}
	dir, rel := s.Layout.stateRoot(e.path)
	r, err := rs.open(dir)
	if err == nil {
		err = r.WriteAtomic(rel, content, 0o644, tempTag(os.Getpid()))
	}
	if err != nil {
		code := EINTERNAL
		if safefs.IsEscape(err) {
			code = EINVALID
		}
		return Errorf(code, "%s is recorded, but writing it failed: %v (the next command that exports writes it)", e.path, err)
	}
	return nil
}
