-- The inbox: which signals each owner has acknowledged. Signals stay
-- immutable; an acknowledgement is a row of its own, kept forever like the
-- audit event that records it. Twin of sqlite/00011_signal_acks.sql.

-- +goose Up
CREATE TABLE signal_acks (
    signal_id BIGINT NOT NULL REFERENCES signals (id),
    owner     TEXT COLLATE "C" NOT NULL CHECK (owner <> ''),
    domain    TEXT COLLATE "C" NOT NULL CHECK (domain <> ''),
    acked_at  BIGINT NOT NULL,
    PRIMARY KEY (signal_id, owner)
);

CREATE TRIGGER signal_acks_no_update BEFORE UPDATE ON signal_acks
    FOR EACH ROW EXECUTE FUNCTION refuse_change('acknowledgements are append-only');
CREATE TRIGGER signal_acks_no_delete BEFORE DELETE ON signal_acks
    FOR EACH ROW EXECUTE FUNCTION refuse_change('acknowledgements are append-only');
CREATE TRIGGER signal_acks_no_truncate BEFORE TRUNCATE ON signal_acks
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('acknowledgements are append-only');

-- +goose Down
DROP TABLE signal_acks;
