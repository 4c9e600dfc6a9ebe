// Package workflow is Oxygen's domain layer: work items and their state
// machine, the attention and change budgets, leases on shared resources,
// signals, council overrides, the hash-chained audit log, and the SQLite store
// that holds them.
//
// Every state change is one Service method and one BEGIN IMMEDIATE
// transaction. The clock is read once, when that transaction holds the write
// lock, so a command sees one consistent "now" that no earlier writer's wait
// has spent, and tests control time completely through Service.Clock. All SQL
// lives in this package, behind the Tx type, so that a second dialect only has
// to be taught here.
package workflow
