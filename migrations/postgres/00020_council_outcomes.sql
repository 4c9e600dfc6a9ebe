-- Council calls end: denied by someone who could have approved them, or
-- withdrawn by whoever raised them. A call left pending past council.ttl is
-- expired, which needs no row. Append-only, like approvals. Twin of
-- sqlite/00020_council_outcomes.sql; signal_id is always the call's id,
-- never generated.

-- +goose Up
CREATE TABLE council_outcomes (
    signal_id BIGINT PRIMARY KEY REFERENCES signals (id),
    outcome   TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('denied', 'withdrawn')),
    by_owner  TEXT COLLATE "C" NOT NULL CHECK (by_owner <> ''),
    by_domain TEXT COLLATE "C" NOT NULL CHECK (by_domain <> ''),
    reason    TEXT COLLATE "C" NOT NULL DEFAULT '',
    at        BIGINT NOT NULL
);

CREATE TRIGGER council_outcomes_final BEFORE UPDATE ON council_outcomes
    FOR EACH ROW EXECUTE FUNCTION refuse_change('a council outcome is final');
CREATE TRIGGER council_outcomes_no_delete BEFORE DELETE ON council_outcomes
    FOR EACH ROW EXECUTE FUNCTION refuse_change('council outcomes are append-only');
CREATE TRIGGER council_outcomes_no_truncate BEFORE TRUNCATE ON council_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('council outcomes are append-only');

-- +goose Down
DROP TABLE council_outcomes;
