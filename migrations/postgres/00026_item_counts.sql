-- How many items each domain has in each status, kept by triggers, so that
-- a capsule's board summary and the dashboard read a handful of rows
-- instead of counting every item ever created (an assign at 100k items
-- spent most of its time there). Items are never deleted.
-- Twin of sqlite/00026_item_counts.sql.

-- +goose Up
CREATE TABLE item_counts (
    domain TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    n      BIGINT NOT NULL CHECK (n >= 0),
    PRIMARY KEY (domain, status)
);
INSERT INTO item_counts (domain, status, n) SELECT domain, status, count(*) FROM items GROUP BY domain, status;

-- +goose StatementBegin
CREATE FUNCTION item_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO item_counts (domain, status, n) VALUES (NEW.domain, NEW.status, 1)
        ON CONFLICT (domain, status) DO UPDATE SET n = item_counts.n + 1;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION item_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE item_counts SET n = n - 1 WHERE domain = OLD.domain AND status = OLD.status;
    INSERT INTO item_counts (domain, status, n) VALUES (NEW.domain, NEW.status, 1)
        ON CONFLICT (domain, status) DO UPDATE SET n = item_counts.n + 1;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER item_counts_insert AFTER INSERT ON items
    FOR EACH ROW EXECUTE FUNCTION item_counts_insert();
CREATE TRIGGER item_counts_update AFTER UPDATE OF domain, status ON items
    FOR EACH ROW WHEN (OLD.domain <> NEW.domain OR OLD.status <> NEW.status) EXECUTE FUNCTION item_counts_update();

-- +goose Down
DROP TRIGGER item_counts_update ON items;
DROP TRIGGER item_counts_insert ON items;
DROP FUNCTION item_counts_update();
DROP FUNCTION item_counts_insert();
DROP TABLE item_counts;
