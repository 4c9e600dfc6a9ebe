-- Shadow edits are judged at every lease boundary, not only at audits: a
-- claim, a release, an expiry or a revocation fingerprints the resource in
-- the worktree where it runs, so a change between the end of one lease and
-- the next claim is known to be unleased and cannot be covered by claiming
-- afterwards.
--
-- fingerprints gains the boundary kinds, the lease each one concerns and
-- when its scan began. SQLite cannot change a CHECK, so the table is
-- rebuilt (no other table refers to it).
--
--   lease_id: for claim, the lease granted; for release, expire and revoke,
--             the lease that ended; for audit and restore, the lease live on
--             the resource at that moment. NULL when there is none.
--   scanned_at: when the scan of the files began, in nanoseconds of the
--             host's wall clock (0 before this migration). A scan taken
--             before the write lock may be older than a fingerprint another
--             command recorded meanwhile; this tells which observation is
--             newer.

-- +goose Up
CREATE TABLE fingerprints_boundaries (
    id         INTEGER PRIMARY KEY,
    resource   TEXT    NOT NULL,
    worktree   TEXT    NOT NULL DEFAULT '',
    manifest   TEXT    NOT NULL CHECK (length(manifest) = 64),
    files      INTEGER NOT NULL,
    taken_at   BIGINT  NOT NULL,
    reason     TEXT    NOT NULL CHECK (reason IN ('audit', 'restore', 'accept', 'claim', 'release', 'expire', 'revoke')),
    lease_id   BIGINT  REFERENCES leases (id),
    scanned_at BIGINT  NOT NULL DEFAULT 0
);
INSERT INTO fingerprints_boundaries (id, resource, worktree, manifest, files, taken_at, reason)
    SELECT id, resource, worktree, manifest, files, taken_at, reason FROM fingerprints;
DROP TABLE fingerprints;
ALTER TABLE fingerprints_boundaries RENAME TO fingerprints;
CREATE INDEX fingerprints_resource ON fingerprints (resource, worktree, id);
-- Capsule drift asks which fingerprints a lease for an item left.
CREATE INDEX fingerprints_lease ON fingerprints (lease_id) WHERE lease_id IS NOT NULL;

-- Where a shadow edit was found (the boundary: audit, claim, release,
-- expire or revoke) and since when the resource had been unleased: the
-- change happened between since_at and detected_at.
ALTER TABLE shadow_edits ADD COLUMN found_at TEXT NOT NULL DEFAULT 'audit';
ALTER TABLE shadow_edits ADD COLUMN since_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE shadow_edits DROP COLUMN since_at;
ALTER TABLE shadow_edits DROP COLUMN found_at;
CREATE TABLE fingerprints_audit (
    id       INTEGER PRIMARY KEY,
    resource TEXT    NOT NULL,
    worktree TEXT    NOT NULL DEFAULT '',
    manifest TEXT    NOT NULL CHECK (length(manifest) = 64),
    files    INTEGER NOT NULL,
    taken_at BIGINT  NOT NULL,
    reason   TEXT    NOT NULL CHECK (reason IN ('audit', 'restore', 'accept'))
);
INSERT INTO fingerprints_audit (id, resource, worktree, manifest, files, taken_at, reason)
    SELECT id, resource, worktree, manifest, files, taken_at, reason FROM fingerprints WHERE reason IN ('audit', 'restore', 'accept');
DROP TABLE fingerprints;
ALTER TABLE fingerprints_audit RENAME TO fingerprints;
CREATE INDEX fingerprints_resource ON fingerprints (resource, worktree, id);
