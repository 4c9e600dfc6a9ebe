package store

import (
	"context"
	"time"
)

// ItemsOps are the operations on items, their dependencies and history, capsules and their checks and watches.
type ItemsOps interface {
	// ItemGet is one item; ErrNotFound when there is none.
	ItemGet(ctx context.Context, id string) (Item, error)
	// ItemExists reports whether an item with this id exists.
	ItemExists(ctx context.Context, id string) (bool, error)
	// ItemsEach calls fn with each item f selects, in creation order (then
	// id), from the one after `after` (the zero key: from the first), with
	// its dependencies, until fn returns false or an error (which it
	// returns). It reads a few hundred rows at a time along an index of
	// that order, so what it holds does not grow with the store, and fn
	// may run other operations of the transaction.
	ItemsEach(ctx context.Context, f ItemFilter, after ItemKey, fn func(ItemWithDeps) (bool, error)) error
	// ItemIDsFrom is up to limit item ids from from on, in id order: a walk
	// of the primary key.
	ItemIDsFrom(ctx context.Context, from string, limit int) ([]string, error)
	// ItemNumberLast is the highest number given to an item id of prefix
	// (PREFIX-NNN), kept in a counter so that taking the next one is one
	// read however many items there are; the first call on a store made
	// before the counter existed finds it with one scan of the ids.
	ItemNumberLast(ctx context.Context, prefix string) (int64, error)
	// ItemNumberRaise records n as given, when it is higher than the last.
	ItemNumberRaise(ctx context.Context, prefix string, n int64) error
	// ItemInsert creates an item, open and without an owner, created and
	// updated at.
	ItemInsert(ctx context.Context, id string, f ItemFields, at time.Time) error
	// ItemUpdateFields rewrites an item's definitional fields, updated at;
	// its status and owner stay.
	ItemUpdateFields(ctx context.Context, id string, f ItemFields, at time.Time) error
	// ItemSetStatusIf moves an item from status from to status to, with its
	// new owner, updated at, only if it is still in from; it returns
	// whether the item moved.
	ItemSetStatusIf(ctx context.Context, id string, from, to ItemStatus, owner string, at time.Time) (bool, error)
	// ItemsInProgressForDomain is the ids of the domain's items in
	// progress, least recently changed first: what the attention budget
	// counts.
	ItemsInProgressForDomain(ctx context.Context, domain string) ([]string, error)
	// ItemCountsByStatus is how many items each status holds (statuses
	// with none are absent), from the counts triggers keep (item_counts):
	// a few rows, however many items there are.
	ItemCountsByStatus(ctx context.Context) (map[ItemStatus]int, error)
	// ItemCountsByDomainStatus is how many items each (domain, status)
	// pair holds, for pairs that hold any, in no particular order.
	ItemCountsByDomainStatus(ctx context.Context) ([]ItemCount, error)
	// ItemsBoardCell is up to limit items of a domain in a status, most
	// recently changed first (ties: highest id first).
	ItemsBoardCell(ctx context.Context, domain string, status ItemStatus, limit int) ([]Item, error)

	// ItemDeps is what an item depends on, in its listed order.
	ItemDeps(ctx context.Context, id string) ([]string, error)
	// ItemDepsAll is every dependency, by item and then listed order.
	ItemDepsAll(ctx context.Context) ([]ItemDep, error)
	// ItemDepsWithStatus is the dependencies of the items ids, each with
	// the status of the item depended on, by item and then listed order.
	ItemDepsWithStatus(ctx context.Context, ids []string) ([]ItemDep, error)
	// ItemDepsReplace makes deps, in order, the item's dependency list.
	ItemDepsReplace(ctx context.Context, id string, deps []string) error
	// ItemDepsAdd gives deps, in order, to an item that has none yet (one
	// just created): ItemDepsReplace without the delete.
	ItemDepsAdd(ctx context.Context, id string, deps []string) error
	// ItemDependentDomains is the distinct domains of the items that depend
	// on id, in order.
	ItemDependentDomains(ctx context.Context, id string) ([]string, error)

	// ItemTransitionInsert records one status change.
	ItemTransitionInsert(ctx context.Context, t ItemTransition) error
	// ItemTransitions is an item's history, oldest first.
	ItemTransitions(ctx context.Context, id string) ([]ItemTransition, error)
	// ItemTransitionLatest is an item's newest status change; ok is false
	// when it never moved.
	ItemTransitionLatest(ctx context.Context, id string) (t ItemTransition, ok bool, err error)

	// CapsuleInsert records a capsule generation and returns its id.
	CapsuleInsert(ctx context.Context, c Capsule) (int64, error)
	// CapsuleFileInsert records the file at pos of a capsule generation.
	CapsuleFileInsert(ctx context.Context, capsuleID int64, pos int, f CapsuleFile) error
	// CapsuleGet is the capsule generation with this id; ok is false when
	// there is none.
	CapsuleGet(ctx context.Context, id int64) (c Capsule, ok bool, err error)
	// CapsuleLatest is an item's newest capsule generation; ok is false
	// when it has none.
	CapsuleLatest(ctx context.Context, item string) (c Capsule, ok bool, err error)
	// CapsuleGeneration is one generation of an item's capsule; ok is false
	// when there is no such generation.
	CapsuleGeneration(ctx context.Context, item string, generation int) (c Capsule, ok bool, err error)
	// CapsulesOfItem is every generation of an item's capsule, oldest first.
	CapsulesOfItem(ctx context.Context, item string) ([]Capsule, error)
	// CapsulesInUse is the latest generation of each item in progress, by
	// item.
	CapsulesInUse(ctx context.Context) ([]Capsule, error)
	// CapsuleFiles is the files a capsule generation recorded, in order.
	CapsuleFiles(ctx context.Context, capsuleID int64) ([]CapsuleFile, error)

	// CapsuleWatchInsert records that a capsule in use lists files under
	// resource.
	CapsuleWatchInsert(ctx context.Context, resource, item string, capsuleID int64) error
	// CapsuleWatchesDeleteForItem drops an item's watches.
	CapsuleWatchesDeleteForItem(ctx context.Context, item string) error
	// CapsuleWatchesStale is the watches on resource of items in progress,
	// by item, except the one of leaseItem when leaseOwner owns it: the
	// briefs a lease's end may have made stale.
	CapsuleWatchesStale(ctx context.Context, resource, leaseItem, leaseOwner string) ([]CapsuleWatch, error)

	// FingerprintClaimManifest is the manifest of the newest claim
	// fingerprint a lease left in a worktree; "" when there is none.
	FingerprintClaimManifest(ctx context.Context, leaseID int64, worktree string) (string, error)
	// FingerprintEndManifest is the manifest of the newest fingerprint a
	// lease's end (release, expiry or revocation) left in a worktree; ""
	// when there is none.
	FingerprintEndManifest(ctx context.Context, leaseID int64, worktree string) (string, error)

	// VerificationLatest is the newest check of kind; ok is false when none
	// ran.
	VerificationLatest(ctx context.Context, kind VerificationKind) (v Verification, ok bool, err error)

	// CapsuleSignalsCount is how many signals name item, plus those
	// addressed to domain that name no item: what a capsule of item lists.
	CapsuleSignalsCount(ctx context.Context, item, domain string) (int, error)
	// CapsuleSignals is the newest limit of those signals, newest first.
	CapsuleSignals(ctx context.Context, item, domain string, limit int) ([]CapsuleSignal, error)
	// SignalIDsWithPrefix is up to limit signal ids whose decimal digits
	// start with prefix, newest first.
	SignalIDsWithPrefix(ctx context.Context, prefix string, limit int) ([]int64, error)

	// DashboardAuditHead is the newest audit event's seq and hash; ok is
	// false for an empty log.
	DashboardAuditHead(ctx context.Context) (seq int64, hash string, ok bool, err error)
	// ReportLatest is the newest audit report on record; ok is false when
	// there is none.
	ReportLatest(ctx context.Context) (r Report, ok bool, err error)
	// ChangeMarkRead is what the dashboard's change mark is made of.
	ChangeMarkRead(ctx context.Context) (ChangeMark, error)
}

// ItemStatus is a work item's place in the state machine.
type ItemStatus string

const (
	ItemOpen       ItemStatus = "open"
	ItemInProgress ItemStatus = "in_progress"
	ItemBlocked    ItemStatus = "blocked"
	ItemDone       ItemStatus = "done"
	ItemDeadEnd    ItemStatus = "dead_end"
)

// ItemFields are an item's definitional columns. The lists are JSON text,
// kept as written: the rules decode them and report a row edited behind
// their back.
type ItemFields struct {
	Title, Kind, Domain, Priority, Objective         string
	InScope, OutOfScope, Invariants, Files, Commands string
}

// Item is one row of items.
type Item struct {
	ID string
	ItemFields
	Status    ItemStatus
	Owner     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ItemFilter selects items; an empty field selects all.
type ItemFilter struct {
	Status   ItemStatus
	Domain   string
	Owner    string
	Priority string
	// DepsDone keeps only the items all of whose dependencies are done:
	// each is an index lookup, made in the database, so that skipping the
	// items still blocked costs no round trip.
	DepsDone bool
}

// ItemKey is an item's place in creation order, then id: where a page of a
// listing ends and the next begins. Items created in one transaction share
// their creation time, so the id is part of the key.
type ItemKey struct {
	CreatedAt time.Time
	ID        string
}

// Key is the item's place in creation order.
func (it Item) Key() ItemKey { return ItemKey{CreatedAt: it.CreatedAt, ID: it.ID} }

// ItemWithDeps is an item with its dependencies in listed order, each with
// the status of the item depended on.
type ItemWithDeps struct {
	Item
	Deps []ItemDep
}

// ItemCount is how many items a domain has in a status.
type ItemCount struct {
	Domain string
	Status ItemStatus
	Count  int
}

// ItemDep is one dependency: Item depends on DependsOn, which (where an
// operation says so) is in Status.
type ItemDep struct {
	Item      string
	DependsOn string
	Status    ItemStatus
}

// ItemTransition is one row of an item's history. Council 0 and an empty
// Verification are NULL.
type ItemTransition struct {
	Item         string
	From, To     ItemStatus
	Actor        string
	Reason       string
	Council      int64
	At           time.Time
	Verification string
}

// Capsule is one capsule generation.
type Capsule struct {
	ID             int64
	Item           string
	Generation     int
	Blob           string
	ContentKey     string
	Path           string
	Template       string
	TemplateSHA256 string // written, not read back
	GeneratedAt    time.Time
}

// CapsuleFile is one file a capsule generation recorded.
type CapsuleFile struct {
	Path   string
	Status string
	Size   int64
	SHA256 string
	Note   string
}

// CapsuleWatch is a capsule in use that lists files under a resource.
type CapsuleWatch struct {
	Item    string
	Capsule int64
}

// CapsuleSignal is what a capsule shows of a signal.
type CapsuleSignal struct {
	ID         int64
	Kind       string
	Question   bool
	From       string
	FromDomain string
	To         string
	Body       string
	CreatedAt  time.Time
}

// ChangeMark moves whenever the audit log grows or a lease queue gains or
// loses a waiter.
type ChangeMark struct {
	AuditSeq    int64 // the newest audit event, 0 for none
	WaiterMaxID int64 // the newest waiter's id, 0 for none
	Waiters     int64 // how many wait
}
