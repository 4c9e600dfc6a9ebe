package store

import (
	"context"
	"net/url"
	"strings"
	"sync"
)

// A server store is reached through a driver that registers itself
// (store/postgres does, when imported) instead of one the rules import.
// That keeps the driver's code, and the start-up its packages cost every
// process, out of the binaries people run most: oxygen and orchestrate
// carry SQLite alone, and hand a command over to their -pg siblings when
// a repository's store is on a server (internal/cli's handoff).

// Server opens repositories' stores on a database server.
type Server interface {
	// Open opens a repository's existing store and brings its schema up
	// to date; a repository with no store on the server is an error.
	Open(ctx context.Context, url, repository string) (Store, error)
	// OpenReadOnly opens an existing store for reading only; it never
	// migrates.
	OpenReadOnly(ctx context.Context, url, repository string) (Store, error)
	// Create opens a repository's store, creating it if need be.
	Create(ctx context.Context, url, repository string) (ServerStore, error)
}

// ServerStore is a repository's store on a server, as Create returns it:
// one that can also take a whole store copied in.
type ServerStore interface {
	Store
	// Host is the server, host:port; SchemaName is where the repository's
	// rows are.
	Host() string
	SchemaName() string
	// Import copies a whole store into this one in one write transaction,
	// and commits only once the copy has the source's row counts and chain
	// head and verify, handed the uncommitted copy, has passed it. A
	// target that already holds exactly this store is left alone
	// (Unchanged); one that holds anything else is refused.
	Import(ctx context.Context, src ImportSource, verify func(context.Context, Store) error) (*ImportResult, error)
}

// ImportSource is the store Import copies from.
type ImportSource struct {
	// Store is the source; Import reads it in one read transaction, so
	// every table comes from the same snapshot. It must be at the
	// binary's schema version.
	Store Store
	// Blobs is the source's blob store.
	Blobs BlobSource
}

// BlobSource lists and reads a store's blobs.
type BlobSource interface {
	// Hashes names every blob.
	Hashes() ([]string, error)
	// Get returns a blob, refusing one whose bytes no longer match its
	// name.
	Get(hash string) ([]byte, error)
}

// ChainHead is the newest audit event: its seq and hash. Two stores with
// the same head hold the same history, the chain hashes guaranteeing it.
type ChainHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// ImportResult is what Import copied, or found already copied.
type ImportResult struct {
	// Unchanged reports that the target already held exactly this store
	// (the same rows per table and the same chain head): nothing was
	// written.
	Unchanged bool             `json:"unchanged"`
	Tables    map[string]int64 `json:"tables"`
	Blobs     int              `json:"blobs"`
	Head      ChainHead        `json:"head"`
}

var (
	serverMu sync.Mutex
	server   Server
)

// RegisterServer makes a server driver available to this process; a
// driver package calls it from its init.
func RegisterServer(s Server) {
	serverMu.Lock()
	defer serverMu.Unlock()
	server = s
}

// RegisteredServer is the server driver this binary carries, or nil.
func RegisteredServer() Server {
	serverMu.Lock()
	defer serverMu.Unlock()
	return server
}

// IsServerURL reports whether u names a server store (postgres://).
func IsServerURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// ValidRepositoryID reports whether id can name a repository: 8 to 40
// lower-case letters and digits, so a schema named after it needs no
// quoting. (A loop, not a regular expression: every command pays for
// package initialisation.)
func ValidRepositoryID(id string) bool {
	if len(id) < 8 || len(id) > 40 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// RedactURL is a store URL fit to print: the password, wherever it was
// given, replaced by ***.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(a store URL that does not parse)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "***")
		u.RawQuery = q.Encode()
	}
	return strings.Replace(u.String(), "%2A%2A%2A", "***", -1)
}

// URLHasPassword reports whether a store URL carries a password itself.
func URLHasPassword(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	_, has := u.User.Password()
	return has || u.Query().Has("password")
}
