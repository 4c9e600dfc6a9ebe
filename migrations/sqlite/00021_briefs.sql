-- Briefs that stay fresh and agree with health.
--
-- signals.question: a council_call that asks a question instead of asking
-- to exceed a cap. It has no approval and no --council use.
--
-- signals_to: a capsule lists the signals addressed to its item's domain.
--
-- verifications.findings: what a failed integrity check found, one line
-- each, as health lists them; a capsule shows the verdict made from these.
--
-- capsule_checks: what the last drift check of a capsule generation found
-- (health and the audit report compare capsules with their files). A
-- capsule shows the health verdict made from these records, so it agrees
-- with `orchestrate health` without re-hashing anything.
--
-- capsule_watches: the resources the files of each brief in use fall under
-- (the latest generation of an item in progress or blocked). When a lease
-- on a resource ends, one indexed read finds the briefs it may have made
-- stale; rows go when the item leaves in_progress or blocked.

-- +goose Up
ALTER TABLE signals ADD COLUMN question INTEGER NOT NULL DEFAULT 0
    CHECK (question IN (0, 1) AND (question = 0 OR kind = 'council_call'));
CREATE INDEX signals_to ON signals (to_target, id);

ALTER TABLE verifications ADD COLUMN findings TEXT NOT NULL DEFAULT '[]';

CREATE TABLE capsule_checks (
    id         INTEGER PRIMARY KEY,
    capsule_id INTEGER NOT NULL REFERENCES capsules (id),
    drifted    INTEGER NOT NULL CHECK (drifted IN (0, 1)),
    source     TEXT    NOT NULL,
    at         BIGINT  NOT NULL
);
CREATE INDEX capsule_checks_capsule ON capsule_checks (capsule_id, id);

CREATE TABLE capsule_watches (
    resource   TEXT    NOT NULL,
    item_id    TEXT    NOT NULL REFERENCES items (id),
    capsule_id INTEGER NOT NULL REFERENCES capsules (id),
    PRIMARY KEY (resource, item_id)
);
CREATE INDEX capsule_watches_item ON capsule_watches (item_id);

-- +goose Down
DROP TABLE capsule_watches;
DROP TABLE capsule_checks;
ALTER TABLE verifications DROP COLUMN findings;
DROP INDEX signals_to;
ALTER TABLE signals DROP COLUMN question;
