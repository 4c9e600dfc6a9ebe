-- The dashboard's items board lists, per domain and status, the most
-- recently changed items. Extending the (domain, status) index with
-- updated_at lets that read a dozen rows instead of sorting a whole column
-- (every done item of a domain); every query the old index served is a
-- prefix of the new one, so the store keeps the same number of indexes.
-- Twin of sqlite/00012_items_board_index.sql.

-- +goose Up
DROP INDEX items_domain_status;
CREATE INDEX items_domain_status_updated ON items (domain, status, updated_at);

-- +goose Down
DROP INDEX items_domain_status_updated;
CREATE INDEX items_domain_status ON items (domain, status);
