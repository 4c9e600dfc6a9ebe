-- How many items each domain has in each status, kept by triggers, so that
-- a capsule's board summary and the dashboard read a handful of rows
-- instead of counting every item ever created (an assign at 100k items
-- spent most of its time there). Items are never deleted.

-- +goose Up
CREATE TABLE item_counts (
    domain TEXT   NOT NULL,
    status TEXT   NOT NULL,
    n      BIGINT NOT NULL CHECK (n >= 0),
    PRIMARY KEY (domain, status)
);
INSERT INTO item_counts (domain, status, n) SELECT domain, status, count(*) FROM items GROUP BY domain, status;

-- +goose StatementBegin
CREATE TRIGGER item_counts_insert AFTER INSERT ON items
BEGIN
    INSERT INTO item_counts (domain, status, n) VALUES (NEW.domain, NEW.status, 1)
        ON CONFLICT (domain, status) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER item_counts_update AFTER UPDATE OF domain, status ON items
WHEN OLD.domain <> NEW.domain OR OLD.status <> NEW.status
BEGIN
    UPDATE item_counts SET n = n - 1 WHERE domain = OLD.domain AND status = OLD.status;
    INSERT INTO item_counts (domain, status, n) VALUES (NEW.domain, NEW.status, 1)
        ON CONFLICT (domain, status) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER item_counts_update;
DROP TRIGGER item_counts_insert;
DROP TABLE item_counts;
