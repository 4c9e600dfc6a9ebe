-- How many of an item's dependencies are not done, kept by triggers, so
-- that `ready` finds ready work with one index range (status, priority,
-- unmet = 0, age) instead of checking the dependencies of every blocked
-- item that sorts ahead of it: at 100k items a plan whose ready work sat
-- behind 25,000 blocked items cost a page 27 ms. Items are never deleted.
-- Twin of sqlite/00027_items_unmet.sql.

-- +goose Up
ALTER TABLE items ADD COLUMN unmet BIGINT NOT NULL DEFAULT 0 CHECK (unmet >= 0);
UPDATE items SET unmet = (SELECT count(*) FROM item_deps d JOIN items dep ON dep.id = d.depends_on
    WHERE d.item_id = items.id AND dep.status <> 'done');
CREATE INDEX item_deps_depends_on ON item_deps (depends_on);
CREATE INDEX items_ready ON items (status, priority, unmet, created_at, id);
CREATE INDEX items_ready_domain ON items (status, domain, priority, unmet, created_at, id);

-- +goose StatementBegin
CREATE FUNCTION items_unmet_dep_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT status FROM items WHERE id = NEW.depends_on) <> 'done' THEN
        UPDATE items SET unmet = unmet + 1 WHERE id = NEW.item_id;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION items_unmet_dep_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT status FROM items WHERE id = OLD.depends_on) <> 'done' THEN
        UPDATE items SET unmet = unmet - 1 WHERE id = OLD.item_id;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION items_unmet_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE items SET unmet = unmet + CASE WHEN NEW.status = 'done' THEN -1 ELSE 1 END
        WHERE id IN (SELECT item_id FROM item_deps WHERE depends_on = NEW.id);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER items_unmet_dep_added AFTER INSERT ON item_deps
    FOR EACH ROW EXECUTE FUNCTION items_unmet_dep_added();
CREATE TRIGGER items_unmet_dep_removed AFTER DELETE ON item_deps
    FOR EACH ROW EXECUTE FUNCTION items_unmet_dep_removed();
CREATE TRIGGER items_unmet_done AFTER UPDATE OF status ON items
    FOR EACH ROW WHEN ((OLD.status = 'done') <> (NEW.status = 'done')) EXECUTE FUNCTION items_unmet_done();

-- +goose Down
DROP TRIGGER items_unmet_done ON items;
DROP TRIGGER items_unmet_dep_removed ON item_deps;
DROP TRIGGER items_unmet_dep_added ON item_deps;
DROP FUNCTION items_unmet_done();
DROP FUNCTION items_unmet_dep_removed();
DROP FUNCTION items_unmet_dep_added();
DROP INDEX items_ready_domain;
DROP INDEX items_ready;
DROP INDEX item_deps_depends_on;
ALTER TABLE items DROP COLUMN unmet;
