package workflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/store"
)

// FileCheck is the check of the files that mirror rows: each signal's JSON
// and each report's two files must hold what the row records (the signal
// rendered again, the report's blobs). An incremental check reads only the
// files of rows after the marks an earlier intact check recorded; a full
// one reads them all. A file that is absent is not a finding here: its
// export may still be pending, and the audit report writes a missing one
// again; the marks stop before it, so it is read once it is there.
type FileCheck struct {
	Signals int      `json:"signals"` // signal files read
	Reports int      `json:"reports"` // report files read
	Altered []string `json:"altered,omitempty"`
}

// failures lists each altered file, one line each.
func (c *FileCheck) failures() []string {
	var out []string
	for _, p := range c.Altered {
		out = append(out, fmt.Sprintf("the file %s no longer holds what its row records", p))
	}
	return out
}

// checkFiles reads the signal and report files of the rows after marks
// (all of them when full) and sets res.marks to where the next incremental
// check starts. Each report's head must still be in the chain.
func (s *Service) checkFiles(ctx context.Context, tx *Tx, res *ChainCheck, full bool, marks map[store.VerifyMark]int64) error {
	if full {
		marks = map[store.VerifyMark]int64{}
	}
	res.marks = map[store.VerifyMark]int64{}
	rs := roots{}
	defer rs.close()
	signals, err := tx.st.VerifySignalFilesAfter(ctx, marks[store.MarkSignalFiles])
	if err != nil {
		return storeErr("read signals", err)
	}
	mark, stopped := marks[store.MarkSignalFiles], false
	for _, f := range signals {
		if f.File != "" {
			sig, err := tx.getSignal(ctx, f.ID)
			if err != nil {
				return err
			}
			present, same := s.fileHolds(rs, f.File, func(r io.Reader) bool {
				want := sig.exportJSON()
				got, err := io.ReadAll(io.LimitReader(r, int64(len(want))+1))
				return err == nil && bytes.Equal(got, want)
			})
			stopped = stopped || !present
			if present {
				res.Files.Signals++
				if !same {
					res.Files.Altered = append(res.Files.Altered, f.File)
				}
			}
		}
		if !stopped {
			mark = f.ID
		}
	}
	res.marks[store.MarkSignalFiles] = mark
	reports, err := tx.st.BlobRefsReports(ctx, marks[store.MarkReportFiles])
	if err != nil {
		return storeErr("read reports", err)
	}
	mark, stopped = marks[store.MarkReportFiles], false
	for _, r := range reports {
		for _, f := range [][2]string{{r.Path, r.MDBlob}, {strings.TrimSuffix(r.Path, ".md") + ".json", r.JSONBlob}} {
			present, same := s.fileHolds(rs, f[0], func(rd io.Reader) bool {
				got, err := capsules.HashReader(rd)
				return err == nil && got == f[1]
			})
			stopped = stopped || !present
			if present {
				res.Files.Reports++
				if !same {
					res.Files.Altered = append(res.Files.Altered, f[0])
				}
			}
		}
		if !stopped {
			mark = r.ID
		}
		if !res.OK {
			continue
		}
		hash, ok, err := tx.st.AuditHashAt(ctx, r.HeadSeq)
		if err != nil {
			return storeErr("read audit log", err)
		}
		if !ok || hash != r.HeadHash {
			res.OK, res.BrokenSeq = false, r.HeadSeq
			res.Problem = fmt.Sprintf("the head recorded with %s (seq %d) is gone or altered: events were cut or rewritten", path.Base(r.Path), r.HeadSeq)
		}
	}
	res.marks[store.MarkReportFiles] = mark
	if len(res.Files.Altered) > 0 {
		res.OK = false
	}
	return nil
}

// fileHolds opens a logical file and hands it to same; present is false
// when there is no such file.
func (s *Service) fileHolds(rs roots, logical string, same func(io.Reader) bool) (present, ok bool) {
	dir, rel := s.Layout.stateRoot(logical)
	r, err := rs.open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false
	}
	if err != nil {
		return true, false
	}
	f, err := r.Open(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false
	}
	if err != nil {
		return true, false
	}
	defer f.Close()
	return true, same(f)
}
