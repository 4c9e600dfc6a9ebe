-- Content-addressed blobs (capsules, manifests, report files), PostgreSQL
-- only: a server store has no shared directory, so blobs live in the
-- database. The SQLite store keeps them as files under .git/oxygen and has
-- no 00022. A blob is named by the sha256 of its bytes, so it never changes
-- and is never removed while anything may name it.

-- +goose Up
CREATE TABLE blobs (
    sha256     TEXT COLLATE "C" PRIMARY KEY CHECK (length(sha256) = 64),
    size       BIGINT NOT NULL,
    data       BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TRIGGER blobs_no_update BEFORE UPDATE ON blobs
    FOR EACH ROW EXECUTE FUNCTION refuse_change('blobs are immutable');
CREATE TRIGGER blobs_no_delete BEFORE DELETE ON blobs
    FOR EACH ROW EXECUTE FUNCTION refuse_change('blobs are immutable');
CREATE TRIGGER blobs_no_truncate BEFORE TRUNCATE ON blobs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('blobs are immutable');

-- +goose Down
DROP TABLE blobs;
