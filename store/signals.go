package store

import (
	"context"
	"time"
)

// SignalsOps are the operations on signals, acknowledgements, council approvals and outcomes, shadow edits and pending exports.
type SignalsOps interface {
	// SignalInsert records a signal (its ID is ignored) and returns its id.
	SignalInsert(ctx context.Context, s Signal) (int64, error)
	// SignalGet returns signal id, or ErrNotFound.
	SignalGet(ctx context.Context, id int64) (Signal, error)
	// SignalFileTaken reports whether a signal already holds the export
	// file name file.
	SignalFileTaken(ctx context.Context, file string) (bool, error)
	// SignalsList returns the signals f selects, oldest first; with a
	// Limit, the newest Limit of them.
	SignalsList(ctx context.Context, f SignalFilter) ([]Signal, error)
	// SignalsInbox returns the signals waiting for q's reader, oldest
	// first (see InboxQuery).
	SignalsInbox(ctx context.Context, q InboxQuery) ([]Signal, error)
	// SignalFiles returns every signal's id and export file, by id.
	SignalFiles(ctx context.Context) ([]SignalFile, error)
	// SignalAckInsertIf records an acknowledgement unless its owner already
	// acknowledged the signal; returns whether it recorded one.
	SignalAckInsertIf(ctx context.Context, a SignalAck) (bool, error)

	// CouncilApprovalInsert records the approval of a council call.
	CouncilApprovalInsert(ctx context.Context, a CouncilApproval) error
	// CouncilApprovalGet returns the approval of council call signalID;
	// ok is false when it has none.
	CouncilApprovalGet(ctx context.Context, signalID int64) (a CouncilApproval, ok bool, err error)
	// CouncilApprovalConsumeIf spends the approval of council call
	// signalID, only if it is not spent yet (consumed_at IS NULL); returns
	// whether it changed a row.
	CouncilApprovalConsumeIf(ctx context.Context, signalID int64, at time.Time, by, action string) (bool, error)
	// CouncilOutcomeInsert records how a council call ended (denied or
	// withdrawn).
	CouncilOutcomeInsert(ctx context.Context, o CouncilOutcome) error
	// CouncilOutcomeGet returns how council call signalID ended; ok is
	// false while it has not.
	CouncilOutcomeGet(ctx context.Context, signalID int64) (o CouncilOutcome, ok bool, err error)

	// ShadowEditInsert records a shadow edit (its ID, status and
	// resolution are ignored: it starts open) and returns its id.
	ShadowEditInsert(ctx context.Context, e ShadowEdit) (int64, error)
	// ShadowEditSetSignal records the signal that announced edit id;
	// returns whether the edit exists.
	ShadowEditSetSignal(ctx context.Context, id, signalID int64) (bool, error)
	// ShadowEditGet returns shadow edit id, or ErrNotFound.
	ShadowEditGet(ctx context.Context, id int64) (ShadowEdit, error)
	// ShadowEditsAll returns every shadow edit, by id.
	ShadowEditsAll(ctx context.Context) ([]ShadowEdit, error)
	// ShadowEditsByStatus returns the shadow edits in status, by id.
	ShadowEditsByStatus(ctx context.Context, status ShadowStatus) ([]ShadowEdit, error)
	// ShadowEditsDetectedSince returns the shadow edits detected at or
	// after since, by id.
	ShadowEditsDetectedSince(ctx context.Context, since time.Time) ([]ShadowEdit, error)
	// ShadowEditsOnResource returns the other shadow edits (not exceptID)
	// of resource in worktree, newest first.
	ShadowEditsOnResource(ctx context.Context, resource, worktree string, exceptID int64) ([]ShadowEdit, error)
	// ShadowEditRestoreIf marks edit id restored, only if it is open;
	// returns whether it changed a row.
	ShadowEditRestoreIf(ctx context.Context, id int64, at time.Time, by string) (bool, error)
	// ShadowEditAcceptIf marks edit id accepted with reason, only if it is
	// open; returns whether it changed a row.
	ShadowEditAcceptIf(ctx context.Context, id int64, at time.Time, by, reason string) (bool, error)

	// PendingExportUpsert records that a process will write an export,
	// replacing whatever was pending for the same path.
	PendingExportUpsert(ctx context.Context, p PendingExport) error
	// PendingExportsList returns every pending export.
	PendingExportsList(ctx context.Context) ([]PendingExport, error)
	// PendingExportDelete drops the pending export of path.
	PendingExportDelete(ctx context.Context, path string) error
	// PendingExportSetWriter hands the pending export of path to another
	// process.
	PendingExportSetWriter(ctx context.Context, path string, pid int, host string) error
	// ExportReportFiles returns the .md path and the blobs of the .md and
	// .json files of every report whose files are stored as blobs, by id.
	ExportReportFiles(ctx context.Context) ([]ReportFiles, error)
}

// Signal is a row of signals. Refs is the JSON list as stored.
type Signal struct {
	ID         int64
	Kind       string
	Topic      string
	FromOwner  string
	FromDomain string
	ToTarget   string
	ItemID     string // "" for none
	Resource   string // "" for none
	Body       string
	Refs       string
	CreatedAt  time.Time
	File       string
	Question   bool
}

// SignalFilter selects signals; a zero field selects everything.
type SignalFilter struct {
	Kind   string
	Item   string
	Domain string // sent by, or addressed to, this domain (or all)
	Since  time.Time
	Limit  int // the newest Limit, still printed oldest first
}

// InboxQuery says whose inbox to read: what was sent to Domain or to
// everyone, and the council calls its reader could approve.
type InboxQuery struct {
	// SinceID, when above 0, reads signals from this id on only.
	SinceID int64
	// Owner is the reader: their own signals are left out, and so are
	// those they acknowledged. "" reads the domain's inbox: what nobody in
	// it acknowledged.
	Owner  string
	Domain string
	// WithAcked keeps acknowledged signals.
	WithAcked bool
	// CouncilAfter: a pending council call counts only if created after
	// it (older ones expired).
	CouncilAfter time.Time
	// SelfApprove lets a council call on Domain's own item count.
	SelfApprove bool
	// HideOwner and HideTopic name proclamations to everyone that are left
	// out unless ShowHidden: the audit job's reports.
	HideOwner, HideTopic string
	ShowHidden           bool
}

// SignalFile is a signal's id and export file.
type SignalFile struct {
	ID   int64
	File string
}

// SignalAck is a row of signal_acks.
type SignalAck struct {
	SignalID int64
	Owner    string
	Domain   string
	AckedAt  time.Time
}

// CouncilState is where a council call stands. Only CouncilDenied and
// CouncilWithdrawn are stored as outcomes; the others follow from its
// approval, its use and its age.
type CouncilState string

const (
	CouncilPending   CouncilState = "pending"
	CouncilApproved  CouncilState = "approved"
	CouncilConsumed  CouncilState = "consumed"
	CouncilDenied    CouncilState = "denied"
	CouncilWithdrawn CouncilState = "withdrawn"
	CouncilExpired   CouncilState = "expired"
	CouncilQuestion  CouncilState = "question"
)

// CouncilApproval is a row of council_approvals; ConsumedAt is zero while
// it is unused.
type CouncilApproval struct {
	SignalID       int64
	ItemID         string
	ApprovedBy     string
	ApproverDomain string
	ApprovedAt     time.Time
	Note           string
	ConsumedAt     time.Time
	ConsumedBy     string
	ConsumedAction string
}

// CouncilOutcome is a row of council_outcomes.
type CouncilOutcome struct {
	SignalID int64
	Outcome  CouncilState
	ByOwner  string
	ByDomain string
	Reason   string
	At       time.Time
}

// ShadowStatus is where a shadow edit stands.
type ShadowStatus string

const (
	ShadowOpen     ShadowStatus = "open"
	ShadowRestored ShadowStatus = "restored"
	ShadowAccepted ShadowStatus = "accepted"
)

// ShadowEdit is a row of shadow_edits. Paths is the JSON list as stored;
// ResolvedAt is zero and ResolvedBy, Reason "" while it is open, SignalID 0
// until its signal is recorded.
type ShadowEdit struct {
	ID         int64
	Resource   string
	Worktree   string
	Paths      string
	OldBlob    string
	NewBlob    string
	DetectedAt time.Time
	Status     ShadowStatus
	ResolvedAt time.Time
	ResolvedBy string
	Reason     string
	SignalID   int64
	FoundAt    string
	SinceAt    time.Time
}

// PendingExport is a row of pending_exports: a file a process committed
// and has yet to write.
type PendingExport struct {
	Path   string
	Source string
	PID    int
	Host   string
}

// ReportFiles are a report's .md path and the blobs of its two files.
type ReportFiles struct {
	MDPath   string
	MDBlob   string
	JSONBlob string
}
