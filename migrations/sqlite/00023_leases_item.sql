-- An item's page, its capsule and the moves that release an owner's leases
-- list the leases taken for one item. Without an index that read scanned
-- every lease ever granted: its cost grew with a year of history instead
-- of with the item's few leases.

-- +goose Up
CREATE INDEX leases_item ON leases (item_id, id);

-- +goose Down
DROP INDEX leases_item;
