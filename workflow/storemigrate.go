package workflow

import (
	"context"
	"net/url"
	"os"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/internal/safefs"
	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlite"
)

// StoreMigration is what `orchestrate store migrate` did.
type StoreMigration struct {
	// Source is the SQLite store copied; it is left in place, untouched.
	Source string `json:"source"`
	// Target is the server, without its password, and Schema the schema
	// that holds this repository's rows there.
	Target       string `json:"target"`
	Host         string `json:"host"`
	Schema       string `json:"schema"`
	RepositoryID string `json:"repository_id"`
	// AddedRepositoryID reports that oxygen.yaml had no store.repository_id
	// and got one, which must be committed.
	AddedRepositoryID bool `json:"added_repository_id"`
	// StoreURL is what to set as store.url (or OXYGEN_STORE_URL): the
	// target without any password.
	StoreURL string `json:"store_url"`
	store.ImportResult
}

// MigrateStore copies the repository's SQLite store, whole, into the
// server store at target: every row with its id, every blob, the audit
// chain as it is. The copy commits only once it has the source's row
// counts and chain head and passes the full audit verification (chain,
// recorded heads, git anchors, replay against the tables and blobs), run
// inside the copy's transaction; a target that already holds another
// history is refused, and one that holds this very store is left alone.
// The SQLite store is only read.
func MigrateStore(ctx context.Context, l *Layout, target string, clock Clock) (*StoreMigration, error) {
	if !store.IsServerURL(target) {
		return nil, Errorf(EINVALID, "--to %s is not a postgres:// URL", store.RedactURL(target))
	}
	srv, err := serverDriver()
	if err != nil {
		return nil, err
	}
	if clock == nil {
		clock = SystemClock
	}
	root, err := safefs.Open(l.Root)
	if err != nil {
		return nil, Errorf(EINVALID, "%s: %v", l.Root, err)
	}
	added, err := ensureRepositoryID(root)
	root.Close()
	if err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(l.Root)
	if err != nil {
		return nil, err
	}
	if !store.ValidRepositoryID(cfg.Store.RepositoryID) {
		return nil, Errorf(EINVALID, "store.repository_id %q in %s is not a repository id (8 to 40 lower-case letters and digits): remove the line and run orchestrate store migrate again to get one", cfg.Store.RepositoryID, ConfigFile)
	}
	l.UseStore(os.Getenv("OXYGEN_STORE"), cfg.Store.Path)
	if _, err := l.MigrateLegacy(); err != nil {
		return nil, err
	}
	if err := l.CheckStore(cfg.Signals.Dir); err != nil {
		return nil, err
	}
	src, err := sqlite.OpenReadOnly(ctx, l.DBPath())
	if err != nil {
		return nil, storeErr("open store", err)
	}
	defer src.Close()
	dst, err := srv.Create(ctx, target, cfg.Store.RepositoryID)
	if err != nil {
		return nil, storeErr("open the target store", err)
	}
	defer dst.Close()
	res := &StoreMigration{
		Source: l.DBPath(), Target: store.RedactURL(target), Host: dst.Host(), Schema: dst.SchemaName(),
		RepositoryID: cfg.Store.RepositoryID, AddedRepositoryID: added != "", StoreURL: withoutPassword(target),
	}
	blobs, ok := NewService(l, cfg, src, clock).blobs().(*capsules.BlobStore)
	if !ok {
		return nil, Errorf(EINTERNAL, "the SQLite store's blobs are not files")
	}
	verify := func(ctx context.Context, copied store.Store) error {
		check, err := NewService(l, cfg, copied, clock).verifyAuditLog(ctx, true, true)
		if err != nil {
			return err
		}
		if !check.OK {
			return Errorf(EDENIED, "the copy fails audit verification (%s); nothing was committed to %s: run orchestrate audit verify --full on the SQLite store", check.Failures()[0], dst.Host())
		}
		return nil
	}
	imported, err := dst.Import(ctx, store.ImportSource{Store: src, Blobs: blobs}, verify)
	if err != nil {
		return nil, storeErr("copy the store", err)
	}
	res.ImportResult = *imported
	return res, nil
}

// withoutPassword is a store URL fit to commit: the password, wherever it
// was given, removed (it belongs in PGPASSWORD or ~/.pgpass).
func withoutPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return store.RedactURL(raw)
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if q.Has("password") {
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
