-- Core: work items and their state machine, signals, council approvals and
-- the hash-chained audit log. Times are integer Unix milliseconds. Ids are
-- plain rowids: rows are never deleted (triggers refuse it), so an id is
-- never reused, and every index here is one more page each write touches.

-- +goose Up
CREATE TABLE items (
    id           TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    title        TEXT    NOT NULL CHECK (title <> ''),
    kind         TEXT    NOT NULL CHECK (kind <> ''),
    domain       TEXT    NOT NULL CHECK (domain <> ''),
    priority     TEXT    NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    status       TEXT    NOT NULL DEFAULT 'open'
                         CHECK (status IN ('open', 'in_progress', 'blocked', 'done', 'dead_end')),
    owner        TEXT    NOT NULL DEFAULT '',
    objective    TEXT    NOT NULL CHECK (objective <> ''),
    in_scope     TEXT    NOT NULL DEFAULT '[]',
    out_of_scope TEXT    NOT NULL DEFAULT '[]',
    invariants   TEXT    NOT NULL DEFAULT '[]',
    files        TEXT    NOT NULL DEFAULT '[]',
    commands     TEXT    NOT NULL DEFAULT '[]',
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    -- Work in progress or blocked always has someone holding it.
    CHECK (status NOT IN ('in_progress', 'blocked') OR owner <> '')
);
CREATE INDEX items_domain_status ON items (domain, status);

CREATE TABLE item_deps (
    item_id    TEXT    NOT NULL REFERENCES items (id),
    depends_on TEXT    NOT NULL REFERENCES items (id),
    pos        INTEGER NOT NULL,
    PRIMARY KEY (item_id, depends_on),
    CHECK (item_id <> depends_on)
);

CREATE TABLE signals (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('missive', 'council_call', 'proclamation', 'handshake', 'dead_end')),
    topic       TEXT    NOT NULL CHECK (topic <> ''),
    from_owner  TEXT    NOT NULL CHECK (from_owner <> ''),
    from_domain TEXT    NOT NULL CHECK (from_domain <> ''),
    to_target   TEXT    NOT NULL CHECK (to_target <> ''),
    item_id     TEXT    REFERENCES items (id),
    resource    TEXT,
    body        TEXT    NOT NULL DEFAULT '',
    refs        TEXT    NOT NULL DEFAULT '[]',
    created_at  BIGINT  NOT NULL,
    file        TEXT    NOT NULL,
    CHECK (kind <> 'council_call' OR item_id IS NOT NULL)
);
CREATE INDEX signals_item ON signals (item_id, id);
CREATE INDEX signals_handshake ON signals (kind, from_domain, to_target, resource, created_at);

-- Every status change, with who made it and why. The CHECK lists the state
-- machine's edges, so a history row for an illegal move cannot exist.
CREATE TABLE item_transitions (
    id          INTEGER PRIMARY KEY,
    item_id     TEXT    NOT NULL REFERENCES items (id),
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    actor       TEXT    NOT NULL CHECK (actor <> ''),
    reason      TEXT    NOT NULL DEFAULT '',
    council_id  BIGINT  REFERENCES signals (id),
    at          BIGINT  NOT NULL,
    CHECK (from_status || '>' || to_status IN (
        'open>in_progress', 'in_progress>open', 'in_progress>blocked', 'in_progress>done',
        'in_progress>dead_end', 'blocked>in_progress', 'blocked>dead_end', 'open>dead_end',
        'done>open', 'dead_end>open'))
);
CREATE INDEX item_transitions_item ON item_transitions (item_id, id);

-- +goose StatementBegin
CREATE TRIGGER item_transitions_no_update BEFORE UPDATE ON item_transitions
BEGIN
    SELECT RAISE(ABORT, 'item history is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER item_transitions_no_delete BEFORE DELETE ON item_transitions
BEGIN
    SELECT RAISE(ABORT, 'item history is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER items_status_machine BEFORE UPDATE OF status ON items
WHEN OLD.status <> NEW.status AND (OLD.status || '>' || NEW.status) NOT IN (
    'open>in_progress', 'in_progress>open', 'in_progress>blocked', 'in_progress>done',
    'in_progress>dead_end', 'blocked>in_progress', 'blocked>dead_end', 'open>dead_end',
    'done>open', 'dead_end>open')
BEGIN
    SELECT RAISE(ABORT, 'illegal item status transition');
END;
-- +goose StatementEnd

-- Signals are immutable, so a council approval and its single use live here.
CREATE TABLE council_approvals (
    signal_id       INTEGER PRIMARY KEY REFERENCES signals (id),
    item_id         TEXT    NOT NULL REFERENCES items (id),
    approved_by     TEXT    NOT NULL CHECK (approved_by <> ''),
    approver_domain TEXT    NOT NULL CHECK (approver_domain <> ''),
    approved_at     BIGINT  NOT NULL,
    note            TEXT    NOT NULL DEFAULT '',
    consumed_at     BIGINT,
    consumed_by     TEXT,
    consumed_action TEXT,
    CHECK ((consumed_at IS NULL) = (consumed_action IS NULL))
);

-- +goose StatementBegin
CREATE TRIGGER council_approvals_single_use BEFORE UPDATE ON council_approvals
WHEN OLD.consumed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'council approval already consumed');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER council_approvals_no_delete BEFORE DELETE ON council_approvals
BEGIN
    SELECT RAISE(ABORT, 'council approvals are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER signals_no_update BEFORE UPDATE ON signals
BEGIN
    SELECT RAISE(ABORT, 'signals are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER signals_no_delete BEFORE DELETE ON signals
BEGIN
    SELECT RAISE(ABORT, 'signals are append-only');
END;
-- +goose StatementEnd

-- The audit log: hash = sha256(prev_hash, canonical event). The triggers stop
-- honest mistakes; the chain catches everything else.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        BIGINT  NOT NULL,
    actor     TEXT    NOT NULL CHECK (actor <> ''),
    action    TEXT    NOT NULL CHECK (action <> ''),
    subject   TEXT    NOT NULL,
    payload   TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject, seq);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP TABLE council_approvals;
DROP TABLE item_transitions;
DROP TABLE signals;
DROP TABLE item_deps;
DROP TABLE items;
