-- Exports: the files that mirror rows (signal JSON, report files, capsule
-- working copies) are written after their row commits. Until a later
-- command has seen the file in place, the export is pending here, in the
-- same commit as its row, so that a process killed between its commit and
-- its rename leaves work the next exporting command finishes, not a row
-- without a file. Twin of sqlite/00009_exports.sql.

-- +goose Up
CREATE TABLE pending_exports (
    path   TEXT COLLATE "C" PRIMARY KEY,  -- logical, e.g. .bridges/signals/X.json
    source TEXT COLLATE "C" NOT NULL,     -- 'signal:<id>', or the blob holding the content
    pid    BIGINT NOT NULL,               -- the process writing it
    host   TEXT COLLATE "C" NOT NULL
);

-- Signal file names are picked inside the writing transaction, among names
-- no row holds yet.
CREATE INDEX signals_file ON signals (file);

-- A report's two files are stored as blobs too, so they can be written
-- again if the process dies before writing them, and checked against the
-- files on disk. Reports made before this migration have ''.
ALTER TABLE reports ADD COLUMN md_blob   TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN json_blob TEXT COLLATE "C" NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reports DROP COLUMN json_blob;
ALTER TABLE reports DROP COLUMN md_blob;
DROP INDEX signals_file;
DROP TABLE pending_exports;
