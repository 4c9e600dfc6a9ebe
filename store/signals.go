package store

// SignalsOps are the operations on signals, acknowledgements, council approvals and outcomes, shadow edits and pending exports.
type SignalsOps interface {
}
