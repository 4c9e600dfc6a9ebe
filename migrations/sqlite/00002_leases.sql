-- Leases on shared resources, the fencing-token counter and the
-- first-come-first-served waiting queue.

-- +goose Up
CREATE TABLE counters (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('lease_token', 0);

-- +goose StatementBegin
CREATE TRIGGER counters_only_increase BEFORE UPDATE ON counters
WHEN NEW.value <= OLD.value
BEGIN
    SELECT RAISE(ABORT, 'counters never go down');
END;
-- +goose StatementEnd

CREATE TABLE leases (
    id         INTEGER PRIMARY KEY,
    resource   TEXT    NOT NULL CHECK (resource <> ''),
    owner      TEXT    NOT NULL CHECK (owner <> ''),
    domain     TEXT    NOT NULL CHECK (domain <> ''),
    token      BIGINT  NOT NULL UNIQUE CHECK (token > 0),
    item_id    TEXT    REFERENCES items (id),
    reason     TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    ended_at   BIGINT,
    end_reason TEXT,
    ended_by   TEXT,
    state      TEXT    NOT NULL DEFAULT 'active'
                       CHECK (state IN ('active', 'released', 'expired', 'revoked')),
    CHECK (expires_at > created_at),
    CHECK ((state = 'active') = (ended_at IS NULL)),
    CHECK (state = 'active' OR (end_reason IS NOT NULL AND ended_by IS NOT NULL))
);
-- At most one active lease per resource, whatever the code does.
CREATE UNIQUE INDEX leases_one_active ON leases (resource) WHERE state = 'active';
CREATE INDEX leases_resource_created ON leases (resource, created_at);

-- +goose StatementBegin
CREATE TRIGGER leases_ended_are_final BEFORE UPDATE ON leases
WHEN OLD.state <> 'active'
BEGIN
    SELECT RAISE(ABORT, 'an ended lease cannot change');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER leases_identity_fixed BEFORE UPDATE ON leases
WHEN NEW.resource <> OLD.resource OR NEW.owner <> OLD.owner OR NEW.domain <> OLD.domain
  OR NEW.token <> OLD.token OR NEW.created_at <> OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'a lease keeps its resource, holder, token and claim time');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER leases_no_delete BEFORE DELETE ON leases
BEGIN
    SELECT RAISE(ABORT, 'leases are never deleted');
END;
-- +goose StatementEnd

-- Waiting tickets. A ticket is live while its heartbeat is fresh; a waiter
-- that dies simply stops beating and is skipped, then swept.
CREATE TABLE lease_waiters (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    resource     TEXT    NOT NULL,
    owner        TEXT    NOT NULL,
    domain       TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    host         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    heartbeat_at BIGINT  NOT NULL
);
CREATE INDEX lease_waiters_resource ON lease_waiters (resource, id);

-- +goose Down
DROP TABLE lease_waiters;
DROP TABLE leases;
DROP TABLE counters;
