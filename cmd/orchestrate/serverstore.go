//go:build serverstore

package main

// The serverstore build (orchestrate-pg) carries the PostgreSQL driver, which the
// plain build leaves out to keep every command's start-up short; the plain
// build hands a command over to this one when the repository's store is on
// a server (internal/cli's handOff).
import _ "github.com/oxygen-tools/oxygen/store/postgres"
