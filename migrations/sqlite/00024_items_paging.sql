-- orchestrate list and ready read a page at a time, in a stable order:
-- list by creation (then id), ready by priority and then creation. Each
-- page starts where the last ended, so each needs an index that walks
-- its order under its filter; without one every page sorted every item.
-- list (all, or one status) walks items_created or items_status_created;
-- ready walks the open items of each priority, of all domains or of one.

-- +goose Up
CREATE INDEX items_created ON items (created_at, id);
CREATE INDEX items_status_created ON items (status, created_at, id);
CREATE INDEX items_status_priority_created ON items (status, priority, created_at, id);
CREATE INDEX items_status_domain_priority_created ON items (status, domain, priority, created_at, id);

-- +goose Down
DROP INDEX items_status_domain_priority_created;
DROP INDEX items_status_priority_created;
DROP INDEX items_status_created;
DROP INDEX items_created;
