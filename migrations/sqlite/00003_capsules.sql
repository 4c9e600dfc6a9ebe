-- Context capsules: every generation of every item's capsule, the files it
-- embedded, and the results of integrity checks (audit chain, blob store)
-- that capsules and health read instead of re-verifying.

-- +goose Up
CREATE TABLE capsules (
    id           INTEGER PRIMARY KEY,
    item_id      TEXT    NOT NULL REFERENCES items (id),
    generation   INTEGER NOT NULL CHECK (generation > 0),
    blob         TEXT    NOT NULL CHECK (length(blob) = 64),
    content_key  TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    template     TEXT    NOT NULL,
    template_sha256 TEXT NOT NULL,
    generated_at BIGINT  NOT NULL,
    UNIQUE (item_id, generation)
);

CREATE TABLE capsule_files (
    capsule_id INTEGER NOT NULL REFERENCES capsules (id),
    pos        INTEGER NOT NULL,
    path       TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('embedded', 'truncated', 'withheld', 'binary', 'missing', 'over_limit')),
    size       BIGINT  NOT NULL DEFAULT 0,
    sha256     TEXT    NOT NULL DEFAULT '',
    note       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (capsule_id, pos)
);

-- +goose StatementBegin
CREATE TRIGGER capsules_no_update BEFORE UPDATE ON capsules
BEGIN
    SELECT RAISE(ABORT, 'capsule generations are history');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER capsules_no_delete BEFORE DELETE ON capsules
BEGIN
    SELECT RAISE(ABORT, 'capsule generations are history');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER capsule_files_no_update BEFORE UPDATE ON capsule_files
BEGIN
    SELECT RAISE(ABORT, 'capsule generations are history');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER capsule_files_no_delete BEFORE DELETE ON capsule_files
BEGIN
    SELECT RAISE(ABORT, 'capsule generations are history');
END;
-- +goose StatementEnd

-- kind: audit_chain or blob_store. head_seq/head_hash: the chain head an
-- audit_chain check saw, so that a later check can prove it is still there.
CREATE TABLE verifications (
    id        INTEGER PRIMARY KEY,
    kind      TEXT    NOT NULL CHECK (kind IN ('audit_chain', 'blob_store')),
    ok        INTEGER NOT NULL CHECK (ok IN (0, 1)),
    detail    TEXT    NOT NULL DEFAULT '',
    head_seq  BIGINT,
    head_hash TEXT,
    source    TEXT    NOT NULL,
    at        BIGINT  NOT NULL
);
CREATE INDEX verifications_kind ON verifications (kind, id);

-- +goose Down
DROP TABLE verifications;
DROP TABLE capsule_files;
DROP TABLE capsules;
