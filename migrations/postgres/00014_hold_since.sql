-- max_hold bounds a hold, not one lease: an owner who releases a resource
-- and claims it again within leases.cooldown carries on the earlier hold's
-- clock. hold_since is when that hold began; NULL means created_at. Twin of
-- sqlite/00014_hold_since.sql.

-- +goose Up
ALTER TABLE leases ADD COLUMN hold_since BIGINT;

-- +goose Down
ALTER TABLE leases DROP COLUMN hold_since;
