-- The inbox: which signals each owner has acknowledged. Signals stay
-- immutable; an acknowledgement is a row of its own, kept forever like the
-- audit event that records it.

-- +goose Up
CREATE TABLE signal_acks (
    signal_id INTEGER NOT NULL REFERENCES signals (id),
    owner     TEXT    NOT NULL CHECK (owner <> ''),
    domain    TEXT    NOT NULL CHECK (domain <> ''),
    acked_at  BIGINT  NOT NULL,
    PRIMARY KEY (signal_id, owner)
);

-- +goose StatementBegin
CREATE TRIGGER signal_acks_no_update BEFORE UPDATE ON signal_acks
BEGIN
    SELECT RAISE(ABORT, 'acknowledgements are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER signal_acks_no_delete BEFORE DELETE ON signal_acks
BEGIN
    SELECT RAISE(ABORT, 'acknowledgements are append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE signal_acks;
