-- Attestations: the content a lease's holder committed under it. The
-- commit-msg hook records, while the lease is live by the store's clock,
-- the git object id of each path a commit changes under the resource; the
-- commit's Oxygen-Lease trailer names the lease, and `oxygen check --range`
-- accepts the commit only if the store attested that exact content under
-- it. A commit's own dates are never trusted.

-- +goose Up
CREATE TABLE lease_attestations (
    id          INTEGER PRIMARY KEY,
    token       BIGINT  NOT NULL REFERENCES leases (token),
    path        TEXT    NOT NULL CHECK (path <> ''),
    blob        TEXT    NOT NULL, -- git object id; '' when the commit removes the path
    attested_at BIGINT  NOT NULL,
    UNIQUE (path, blob, token)
);

-- +goose StatementBegin
CREATE TRIGGER lease_attestations_no_update BEFORE UPDATE ON lease_attestations
BEGIN
    SELECT RAISE(ABORT, 'attestations are never changed');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER lease_attestations_no_delete BEFORE DELETE ON lease_attestations
BEGIN
    SELECT RAISE(ABORT, 'attestations are never deleted');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE lease_attestations;
