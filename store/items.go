package store

// ItemsOps are the operations on items, their dependencies and history, capsules and their checks and watches.
type ItemsOps interface {
}
