-- Worktrees: several git worktrees of one repository share one store, but
-- each has its own files. Fingerprints and the shadow edits they reveal are
-- kept per worktree: '' is the main worktree, any other value the absolute
-- path of a linked one. Twin of sqlite/00005_worktrees.sql.

-- +goose Up
ALTER TABLE fingerprints ADD COLUMN worktree TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE shadow_edits ADD COLUMN worktree TEXT COLLATE "C" NOT NULL DEFAULT '';
DROP INDEX fingerprints_resource;
CREATE INDEX fingerprints_resource ON fingerprints (resource, worktree, id);

-- +goose Down
DROP INDEX fingerprints_resource;
CREATE INDEX fingerprints_resource ON fingerprints (resource, id);
ALTER TABLE shadow_edits DROP COLUMN worktree;
ALTER TABLE fingerprints DROP COLUMN worktree;
