package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/store"
)

// Blobs is the store's blob store: the blobs table, whose triggers refuse
// any UPDATE, DELETE or TRUNCATE. Writes run in their own short
// transactions outside the rules' write transaction (a blob is written
// before the rows that name it, as the file store does): content-addressed
// and immutable, a blob whose rows were then rolled back is harmless.
func (s *Store) Blobs() capsules.Blobs { return &blobs{q: s.DB(), drv: s.drv} }

// blobs reads and writes the blobs table through q: the store's own
// connections, or (Import) the one transaction a copy runs in, so that
// verifying a copy before it commits sees the blobs it has added.
type blobs struct {
	q   store.SQL
	drv *driver
}

// maxBlobBytes bounds a blob read into memory to send to the server:
// bytea values are at most 1 GB, and callers cap what they embed or
// fingerprint well below that (capsules.max_file_bytes).
const maxBlobBytes = 1 << 30

func (b *blobs) Put(data []byte) (string, error) {
	h := capsules.Hash(data)
	_, err := b.q.ExecContext(context.Background(),
		`INSERT INTO blobs (sha256, size, data, created_at) VALUES ($1, $2, $3, (extract(epoch from clock_timestamp()) * 1000)::bigint) ON CONFLICT (sha256) DO NOTHING`,
		h, len(data), data)
	if err != nil {
		return "", b.drv.Classify("store blob "+h, err)
	}
	return h, nil
}

func (b *blobs) PutStream(src io.ReadSeeker) (string, error) {
	data, err := io.ReadAll(io.LimitReader(src, maxBlobBytes+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxBlobBytes {
		return "", fmt.Errorf("blob larger than %d bytes", maxBlobBytes)
	}
	return b.Put(data)
}

func (b *blobs) Get(h string) ([]byte, error) {
	var data []byte
	err := b.q.QueryRowContext(context.Background(), `SELECT data FROM blobs WHERE sha256 = $1`, h).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("blob %s: %w", h, errNoBlob)
	}
	if err != nil {
		return nil, b.drv.Classify("read blob "+h, err)
	}
	if got := capsules.Hash(data); got != h {
		return nil, &capsules.CorruptError{Hash: h, Got: got}
	}
	return data, nil
}

var errNoBlob = errors.New("no such blob in the store")

func (b *blobs) Has(h string) bool {
	_, err := b.Size(h)
	return err == nil
}

func (b *blobs) Size(h string) (int64, error) {
	var n int64
	err := b.q.QueryRowContext(context.Background(), `SELECT size FROM blobs WHERE sha256 = $1`, h).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("blob %s: %w", h, errNoBlob)
	}
	if err != nil {
		return 0, b.drv.Classify("read blob "+h, err)
	}
	return n, nil
}

// Verify re-hashes every blob on the client, a row at a time: the server
// could compute sha256() itself, but then a server that lies would vouch
// for itself.
func (b *blobs) Verify() (capsules.VerifyResult, error) {
	res := capsules.VerifyResult{Problems: []capsules.Problem{}}
	rows, err := b.q.QueryContext(context.Background(), `SELECT sha256, size, data FROM blobs ORDER BY sha256`)
	if err != nil {
		return res, b.drv.Classify("verify blobs", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var size int64
		var data []byte
		if err := rows.Scan(&h, &size, &data); err != nil {
			return res, b.drv.Classify("verify blobs", err)
		}
		res.Blobs++
		shown := "blobs/" + h
		switch got := capsules.Hash(data); {
		case got != h:
			res.Problems = append(res.Problems, capsules.Problem{Path: shown, Problem: "content hashes to " + got})
		case int64(len(data)) != size:
			res.Problems = append(res.Problems, capsules.Problem{Path: shown, Problem: fmt.Sprintf("recorded size %d, holds %d bytes", size, len(data))})
		}
	}
	if err := rows.Err(); err != nil {
		return res, b.drv.Classify("verify blobs", err)
	}
	return res, nil
}
