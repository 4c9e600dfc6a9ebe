package store

import (
	"context"
	"time"
)

// AuditOps are the operations on the audit chain, verifications, reports,
// job runs and the daemon row, and the reads that verification, reports and
// health make of the other tables.
type AuditOps interface {
	// AuditLastAt is the time of the newest audit event; the zero time for
	// an empty log.
	AuditLastAt(ctx context.Context) (time.Time, error)
	// AuditHead is the newest event's seq, hash and time; ok is false for
	// an empty log.
	AuditHead(ctx context.Context) (head AuditMark, ok bool, err error)
	// AuditFirst is the first event's seq, hash and time, read through the
	// seq key (the store's identity and the time it was created); ok is
	// false for an empty log.
	AuditFirst(ctx context.Context) (first AuditMark, ok bool, err error)
	// AuditAppend inserts e, whose Seq and PrevHash the caller took from
	// AuditHead in the same transaction. Reading the head and then
	// appending cannot fork the chain only because of Store.Write's
	// one-writer contract: no other writer can append in between.
	AuditAppend(ctx context.Context, e AuditEvent) error
	// AuditEvents lists the events q selects in seq order: with a Limit,
	// the newest Limit of them.
	AuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	// AuditEach hands every event to visit in seq order, without holding
	// the log in memory, until visit returns false.
	AuditEach(ctx context.Context, visit func(*AuditEvent) bool) error
	// AuditEachRange hands every event with a seq from from to to (both
	// included) to visit in seq order, until visit returns false: a full
	// check reads the log as contiguous ranges on several transactions.
	AuditEachRange(ctx context.Context, from, to int64, visit func(*AuditEvent) bool) error
	// AuditHashAt is the hash of the event at seq; ok is false when there
	// is none.
	AuditHashAt(ctx context.Context, seq int64) (hash string, ok bool, err error)

	// VerificationInsert records one integrity check.
	VerificationInsert(ctx context.Context, v Verification) error
	// VerifiedChainHeadLatest is the highest head an intact audit-chain
	// check recorded (the newest such check on a tie); ok is false before
	// the first.
	VerifiedChainHeadLatest(ctx context.Context) (head VerifiedHead, ok bool, err error)
	// VerifiedChainHeads are the heads every intact audit-chain check
	// recorded, highest first (newest first on a tie).
	VerifiedChainHeads(ctx context.Context) ([]VerifiedHead, error)

	// ReportInsert records a written report.
	ReportInsert(ctx context.Context, r Report) error
	// ReportsLastGeneratedAt is when the newest report was generated; the
	// zero time before the first.
	ReportsLastGeneratedAt(ctx context.Context) (time.Time, error)
	// ReportPathTaken reports whether a report was recorded at path.
	ReportPathTaken(ctx context.Context, path string) (bool, error)
	// ReportRepeatExpiries counts, per owner, the leases that expired
	// (swept or not, as of now) after windowStart, keeping owners with at
	// least atLeast of them: most first, then by owner.
	ReportRepeatExpiries(ctx context.Context, now, windowStart time.Time, atLeast int) ([]OwnerCount, error)
	// ReportSkippedVerifications are the item transitions recorded with
	// their verification skipped after since, in the order recorded.
	ReportSkippedVerifications(ctx context.Context, since time.Time) ([]SkippedVerification, error)
	// ReportLastProclamationBody is the body of the newest proclamation on
	// topic; ok is false when there is none.
	ReportLastProclamationBody(ctx context.Context, topic string) (body string, ok bool, err error)

	// HealthCapsuleLastDrift is whether the latest check of a capsule
	// generation found it drifted; ok is false when it was never checked.
	HealthCapsuleLastDrift(ctx context.Context, capsuleID int64) (drifted, ok bool, err error)
	// HealthCapsuleCheckInsert records one check of a capsule generation.
	HealthCapsuleCheckInsert(ctx context.Context, capsuleID int64, drifted bool, source string, at time.Time) error
	// HealthDriftedInProgress lists the items in progress whose newest
	// capsule generation was last checked as drifted, by item id.
	HealthDriftedInProgress(ctx context.Context) ([]string, error)
	// HealthItemsInProgress lists the items in progress with when each last
	// moved to in_progress, longest running first (then by id).
	HealthItemsInProgress(ctx context.Context) ([]InProgressItem, error)

	// JobRunStart records a run that has started, as running, and returns
	// its id.
	JobRunStart(ctx context.Context, name string, trigger JobTrigger, at time.Time) (int64, error)
	// JobRunFinishIf records a running run's outcome; it returns whether
	// the run was still running.
	JobRunFinishIf(ctx context.Context, id int64, at time.Time, outcome JobOutcome, summary string) (bool, error)
	// JobRunSkipped records a scheduled run skipped, at at, with why.
	JobRunSkipped(ctx context.Context, name string, at time.Time, summary string) error
	// JobRunLast is the newest run of a job that was not skipped; ok is
	// false when there is none.
	JobRunLast(ctx context.Context, name string) (run JobRun, ok bool, err error)
	// JobRunLastOK is the newest run of a job that succeeded; ok is false
	// when there is none.
	JobRunLastOK(ctx context.Context, name string) (run JobRun, ok bool, err error)

	// DaemonGet is the daemon row; ok is false when no daemon holds it.
	DaemonGet(ctx context.Context) (d Daemon, ok bool, err error)
	// DaemonClaim makes d the daemon row, replacing any other (with an
	// empty schedule until its first heartbeat).
	DaemonClaim(ctx context.Context, d Daemon) error
	// DaemonHeartbeatIf refreshes the heartbeat and schedule of the daemon
	// row if pid on host still holds it; it returns whether it did.
	DaemonHeartbeatIf(ctx context.Context, pid int64, host string, at time.Time, schedule string) (bool, error)
	// DaemonReleaseIf removes the daemon row if pid on host holds it; it
	// returns whether it did.
	DaemonReleaseIf(ctx context.Context, pid int64, host string) (bool, error)

	// BlobRefsCapsules are the blob of every capsule generation with an id
	// above after, in the order generated.
	BlobRefsCapsules(ctx context.Context, after int64) ([]CapsuleBlob, error)
	// BlobRefsShadowEdits are the manifests before and after every shadow
	// edit with an id above after, in the order detected.
	BlobRefsShadowEdits(ctx context.Context, after int64) ([]ShadowEditBlobs, error)
	// BlobRefsFingerprints are the distinct manifests the fingerprints with
	// an id above after refer to, with their resource and the highest such
	// id, in the order first taken.
	BlobRefsFingerprints(ctx context.Context, after int64) ([]FingerprintManifest, error)
	// BlobRefsReports are the reports with an id above after: their files'
	// paths and blobs and the chain head each covers, in the order written.
	BlobRefsReports(ctx context.Context, after int64) ([]ReportRow, error)

	// VerifyMarks are, per kind of thing an incremental check reads, the
	// highest row id a check found intact (none: nothing verified yet).
	VerifyMarks(ctx context.Context) (map[VerifyMark]int64, error)
	// VerifyMarkAdvance records through as mark's highest verified id,
	// unless it is already there or above.
	VerifyMarkAdvance(ctx context.Context, mark VerifyMark, through int64, at time.Time) error
	// VerifiedBlob reports whether blob was re-hashed and found intact.
	VerifiedBlob(ctx context.Context, blob string) (bool, error)
	// VerifiedBlobAdd records blob as re-hashed and found intact at at (a
	// no-op when it is already recorded).
	VerifiedBlobAdd(ctx context.Context, blob string, at time.Time) error
	// VerifySignalFilesAfter are the id and export file of every signal
	// with an id above after, by id.
	VerifySignalFilesAfter(ctx context.Context, after int64) ([]SignalFile, error)

	// TokenSeedAtLeast raises the lease-token counter to seed unless it is
	// already there or above.
	TokenSeedAtLeast(ctx context.Context, seed int64) error

	// The replay's table snapshots: each table's rows keyed by the row's
	// identity, each compared column's value as text.
	ReplayItems(ctx context.Context) (Snapshot, error)
	// ReplayItemDeps are each item's dependencies in order.
	ReplayItemDeps(ctx context.Context) (map[string][]string, error)
	ReplayTransitions(ctx context.Context) (Snapshot, error)
	ReplayLeases(ctx context.Context) (Snapshot, error)
	// ReplayTokenCounter is the lease-token counter's row.
	ReplayTokenCounter(ctx context.Context) (Snapshot, error)
	// ReplayAttestations are keyed "<token> <path> <blob>".
	ReplayAttestations(ctx context.Context) (Snapshot, error)
	ReplaySignals(ctx context.Context) (Snapshot, error)
	// ReplayAcks are keyed "<signal> <owner>".
	ReplayAcks(ctx context.Context) (Snapshot, error)
	ReplayCouncilApprovals(ctx context.Context) (Snapshot, error)
	ReplayCouncilOutcomes(ctx context.Context) (Snapshot, error)
	ReplayShadowEdits(ctx context.Context) (Snapshot, error)
	// ReplayCapsules are keyed "<item> generation <n>".
	ReplayCapsules(ctx context.Context) (Snapshot, error)
}

// AuditEvent is one row of the append-only audit log. Payload is the JSON
// exactly as stored and hashed.
type AuditEvent struct {
	Seq      int64
	At       time.Time
	Actor    string
	Action   string
	Subject  string
	Payload  string
	PrevHash string
	Hash     string
}

// AuditMark is one event's place in the chain.
type AuditMark struct {
	Seq  int64
	Hash string
	At   time.Time
}

// AuditQuery selects audit events; empty fields select everything.
type AuditQuery struct {
	Subject string
	Action  string
	Since   time.Time // at or after
	Limit   int       // the newest Limit events; 0 for all
}

// VerificationKind is what an integrity check checked.
type VerificationKind string

const (
	VerificationAuditChain VerificationKind = "audit_chain"
	VerificationBlobStore  VerificationKind = "blob_store"
)

// Verification is one recorded integrity check. HeadSeq and HeadHash are
// the chain head an intact audit-chain check vouches for; 0 and "" (stored
// as NULL) otherwise.
type Verification struct {
	Kind     VerificationKind
	OK       bool
	Detail   string
	Findings string // a JSON list, opaque here
	HeadSeq  int64
	HeadHash string
	Source   string
	At       time.Time
}

// VerifiedHead is a chain head a check recorded as intact.
type VerifiedHead struct {
	Seq    int64
	Hash   string
	Source string
	At     time.Time
}

// Report is one written audit report: its logical path, the chain head it
// covers and the blobs of its two files.
type Report struct {
	Path        string
	GeneratedAt time.Time
	HeadSeq     int64
	HeadHash    string
	Findings    int
	MDBlob      string
	JSONBlob    string
}

// OwnerCount is how many rows an owner has.
type OwnerCount struct {
	Owner string
	Count int
}

// SkippedVerification is an item transition made without its verification.
type SkippedVerification struct {
	ItemID string
	Actor  string
	Reason string
	At     time.Time
}

// InProgressItem is an item in progress and since when.
type InProgressItem struct {
	ID, Title, Domain, Owner string
	Since                    time.Time
}

// JobTrigger is what started a job run.
type JobTrigger string

const (
	JobScheduled JobTrigger = "schedule"
	JobManual    JobTrigger = "manual"
)

// JobOutcome is how a job run ended, or that it still runs.
type JobOutcome string

const (
	JobRunning JobOutcome = "running"
	JobOK      JobOutcome = "ok"
	JobError   JobOutcome = "error"
	JobPanic   JobOutcome = "panic"
	JobSkipped JobOutcome = "skipped"
)

// JobRun is one recorded run of a job; FinishedAt is zero while it runs.
type JobRun struct {
	ID         int64
	Name       string
	Trigger    JobTrigger
	StartedAt  time.Time
	FinishedAt time.Time
	Outcome    JobOutcome
	Summary    string
}

// Daemon is the daemon row: who runs the jobs, since when, its last
// heartbeat and the schedule it reported then (JSON, opaque here).
type Daemon struct {
	PID         int64
	Host        string
	StartedAt   time.Time
	HeartbeatAt time.Time
	Schedule    string
}

// VerifyMark names what an incremental check reads after a mark.
type VerifyMark string

const (
	MarkSignalFiles     VerifyMark = "signal_files"
	MarkReportFiles     VerifyMark = "report_files"
	MarkCapsuleBlobs    VerifyMark = "capsule_blobs"
	MarkShadowEditBlobs VerifyMark = "shadow_edit_blobs"
	MarkFingerprintBlob VerifyMark = "fingerprint_blobs"
	MarkReportBlobs     VerifyMark = "report_blobs"
)

// ReportRow is one recorded report as verification reads it.
type ReportRow struct {
	ID       int64
	Path     string // the .md file; the .json sits next to it
	HeadSeq  int64
	HeadHash string
	MDBlob   string
	JSONBlob string
}

// CapsuleBlob is the blob of one capsule generation.
type CapsuleBlob struct {
	ID         int64
	ItemID     string
	Generation int
	Blob       string
}

// ShadowEditBlobs are a shadow edit's manifests before and after.
type ShadowEditBlobs struct {
	ID      int64
	OldBlob string
	NewBlob string
}

// FingerprintManifest is a manifest a fingerprint of resource refers to.
type FingerprintManifest struct {
	ID       int64 // the highest fingerprint id naming it
	Manifest string
	Resource string
}

// Snapshot is a table's rows as the replay compares them: by the row's
// identity, each column's value as text, NULL as "".
type Snapshot map[string]map[string]string
