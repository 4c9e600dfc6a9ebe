-- Enforcement: the single daemon, job runs, audit reports, resource
-- fingerprints and the shadow edits they reveal, and how each completion
-- was verified (the risk budget).

-- +goose Up
-- At most one row: the running daemon, kept alive by its heartbeat.
CREATE TABLE daemon (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    pid          INTEGER NOT NULL,
    host         TEXT    NOT NULL,
    started_at   BIGINT  NOT NULL,
    heartbeat_at BIGINT  NOT NULL
);

CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    trigger     TEXT    NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('running', 'ok', 'error', 'panic', 'skipped')),
    summary     TEXT    NOT NULL DEFAULT '',
    CHECK ((outcome = 'running') = (finished_at IS NULL))
);
CREATE INDEX job_runs_name ON job_runs (name, id);

CREATE TABLE reports (
    id           INTEGER PRIMARY KEY,
    path         TEXT    NOT NULL UNIQUE,
    generated_at BIGINT  NOT NULL,
    head_seq     BIGINT  NOT NULL,
    head_hash    TEXT    NOT NULL,
    findings     INTEGER NOT NULL
);

-- A fingerprint is a manifest blob (path -> blob of raw bytes) of every file
-- a resource covers, taken by the audit job, a restore or an accept.
CREATE TABLE fingerprints (
    id       INTEGER PRIMARY KEY,
    resource TEXT    NOT NULL,
    manifest TEXT    NOT NULL CHECK (length(manifest) = 64),
    files    INTEGER NOT NULL,
    taken_at BIGINT  NOT NULL,
    reason   TEXT    NOT NULL CHECK (reason IN ('audit', 'restore', 'accept'))
);
CREATE INDEX fingerprints_resource ON fingerprints (resource, id);

CREATE TABLE shadow_edits (
    id          INTEGER PRIMARY KEY,
    resource    TEXT    NOT NULL,
    paths       TEXT    NOT NULL,
    old_blob    TEXT    NOT NULL CHECK (length(old_blob) = 64),
    new_blob    TEXT    NOT NULL CHECK (length(new_blob) = 64),
    detected_at BIGINT  NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'restored', 'accepted')),
    resolved_at BIGINT,
    resolved_by TEXT,
    reason      TEXT,
    signal_id   BIGINT  REFERENCES signals (id),
    CHECK ((status = 'open') = (resolved_at IS NULL))
);

-- +goose StatementBegin
CREATE TRIGGER shadow_edits_resolved_are_final BEFORE UPDATE ON shadow_edits
WHEN OLD.status <> 'open'
BEGIN
    SELECT RAISE(ABORT, 'a resolved shadow edit cannot change');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER shadow_edits_no_delete BEFORE DELETE ON shadow_edits
BEGIN
    SELECT RAISE(ABORT, 'shadow edits are never deleted');
END;
-- +goose StatementEnd

-- How a move to done was verified: its commands passed, or were skipped
-- with a reason.
ALTER TABLE item_transitions ADD COLUMN verification TEXT
    CHECK (verification IS NULL OR verification IN ('passed', 'skipped'));

-- +goose Down
ALTER TABLE item_transitions DROP COLUMN verification;
DROP TABLE shadow_edits;
DROP TABLE fingerprints;
DROP TABLE reports;
DROP TABLE job_runs;
DROP TABLE daemon;
