package store

// LeasesOps are the operations on leases, lease waiters, the token counter, fingerprints and lease attestations.
type LeasesOps interface {
}
