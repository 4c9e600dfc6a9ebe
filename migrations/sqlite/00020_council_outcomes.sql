-- Council calls end: denied by someone who could have approved them, or
-- withdrawn by whoever raised them. A call left pending past council.ttl is
-- expired, which needs no row. Append-only, like approvals.

-- +goose Up
CREATE TABLE council_outcomes (
    signal_id INTEGER PRIMARY KEY REFERENCES signals (id),
    outcome   TEXT    NOT NULL CHECK (outcome IN ('denied', 'withdrawn')),
    by_owner  TEXT    NOT NULL CHECK (by_owner <> ''),
    by_domain TEXT    NOT NULL CHECK (by_domain <> ''),
    reason    TEXT    NOT NULL DEFAULT '',
    at        BIGINT  NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER council_outcomes_final BEFORE UPDATE ON council_outcomes
BEGIN
    SELECT RAISE(ABORT, 'a council outcome is final');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER council_outcomes_no_delete BEFORE DELETE ON council_outcomes
BEGIN
    SELECT RAISE(ABORT, 'council outcomes are append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE council_outcomes;
