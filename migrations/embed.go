// Package migrations holds the store's schema as goose SQL migrations, one
// set per database, embedded so that every binary carries the schema it
// needs and upgrades an older store on first use.
//
// The two sets describe the same schema and enforce the same rules (the
// append-only audit triggers, the item state machine, the one-active-lease
// index, immutable blobs); store/storetest runs one conformance suite
// against both to keep them so. Numbers are shared: a change lands in both
// directories under the same number.
package migrations

import (
	"embed"
	"io/fs"
	"strconv"
	"strings"
)

//go:embed sqlite/*.sql
var sqliteFS embed.FS

//go:embed postgres/*.sql
var postgresFS embed.FS

// SQLite holds the numbered migration files of the embedded SQLite store.
var SQLite = sub(sqliteFS, "sqlite")

// Postgres holds the numbered migration files of the PostgreSQL store: the
// SQLite set's numbers and schema, plus 00022_blobs, since a server store
// keeps its content-addressed blobs in the database rather than as files.
var Postgres = sub(postgresFS, "postgres")

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return s
}

// Describe reads a migration set: its highest number and how many files it
// has (a stamp that also changes when a lower number lands late).
func Describe(set fs.FS) (highest, count int64, err error) {
	entries, err := fs.ReadDir(set, ".")
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			continue
		}
		count++
		highest = max(highest, n)
	}
	return highest, count, nil
}
