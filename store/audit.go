package store

import (
	"context"
	"time"
)

// AuditOps are the operations on the audit chain, verifications, reports,
// job runs and the daemon row.
type AuditOps interface {
	// AuditLastAt is the time of the newest audit event; the zero time for
	// an empty log.
	AuditLastAt(ctx context.Context) (time.Time, error)
}
