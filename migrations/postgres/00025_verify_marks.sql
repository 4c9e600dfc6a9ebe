-- Incremental verification (issue 12): a check reads only what came after
-- what an earlier check found intact. verify_marks holds, per kind of thing
-- checked (signal files, report files, the blobs each table refers to), the
-- highest row id verified; verified_blobs the blobs re-hashed and found
-- intact, so that a blob many rows name (a manifest's unchanged files) is
-- read once. audit verify --full and the daily audit-full job read
-- everything whatever these say.
-- Twin of sqlite/00025_verify_marks.sql.

-- +goose Up
CREATE TABLE verify_marks (
    name    TEXT COLLATE "C" PRIMARY KEY,
    through BIGINT NOT NULL,
    at      BIGINT NOT NULL
);

CREATE TABLE verified_blobs (
    sha256 TEXT COLLATE "C" PRIMARY KEY,
    at     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE verified_blobs;
DROP TABLE verify_marks;
