-- What the running daemon has scheduled: `orchestrate jobs` shows this, not
-- what the config says now, since the daemon reloads a changed config only
-- when it is valid. A JSON list of {name, spec, next}. Twin of
-- sqlite/00015_daemon_schedule.sql.

-- +goose Up
ALTER TABLE daemon ADD COLUMN schedule TEXT COLLATE "C" NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE daemon DROP COLUMN schedule;
