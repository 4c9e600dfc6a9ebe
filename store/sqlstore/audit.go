package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

func (tx *Tx) AuditLastAt(ctx context.Context) (time.Time, error) {
	var at int64
	err := tx.queryRow(ctx, `SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, tx.fail("read the audit head", err)
	}
	return fromMS(at), nil
}
