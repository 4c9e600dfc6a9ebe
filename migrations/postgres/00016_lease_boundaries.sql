-- Shadow edits are judged at every lease boundary, not only at audits: a
-- claim, a release, an expiry or a revocation fingerprints the resource in
-- the worktree where it runs, so a change between the end of one lease and
-- the next claim is known to be unleased and cannot be covered by claiming
-- afterwards. Twin of sqlite/00016_lease_boundaries.sql.
--
-- fingerprints gains the boundary kinds, the lease each one concerns and
-- when its scan began. SQLite rebuilds the table to change its CHECK;
-- here the CHECK is replaced in place, which leaves the same rows, columns,
-- constraints and indexes (only the column order differs: worktree stays
-- last, where 00005 added it, instead of after resource).
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
ALTER TABLE fingerprints
    DROP CONSTRAINT fingerprints_reason_check,
    ADD CONSTRAINT fingerprints_reason_check
        CHECK (reason IN ('audit', 'restore', 'accept', 'claim', 'release', 'expire', 'revoke')),
    ADD COLUMN lease_id BIGINT REFERENCES leases (id),
    ADD COLUMN scanned_at BIGINT NOT NULL DEFAULT 0;
-- Capsule drift asks which fingerprints a lease for an item left.
CREATE INDEX fingerprints_lease ON fingerprints (lease_id) WHERE lease_id IS NOT NULL;

-- Where a shadow edit was found (the boundary: audit, claim, release,
-- expire or revoke) and since when the resource had been unleased: the
-- change happened between since_at and detected_at.
ALTER TABLE shadow_edits ADD COLUMN found_at TEXT COLLATE "C" NOT NULL DEFAULT 'audit';
ALTER TABLE shadow_edits ADD COLUMN since_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
-- Like SQLite's rebuild, going down keeps only the fingerprints the narrower
-- CHECK allows.
ALTER TABLE shadow_edits DROP COLUMN since_at;
ALTER TABLE shadow_edits DROP COLUMN found_at;
DROP INDEX fingerprints_lease;
DELETE FROM fingerprints WHERE reason NOT IN ('audit', 'restore', 'accept');
ALTER TABLE fingerprints
    DROP COLUMN scanned_at,
    DROP COLUMN lease_id,
    DROP CONSTRAINT fingerprints_reason_check,
    ADD CONSTRAINT fingerprints_reason_check CHECK (reason IN ('audit', 'restore', 'accept'));
