// Package migrations holds the store's schema as goose SQL migrations,
// embedded so that every binary carries the schema it needs and upgrades an
// older store on first use.
package migrations

import "embed"

// FS holds the numbered migration files.
//
//go:embed *.sql
var FS embed.FS
