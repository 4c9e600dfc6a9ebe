package postgres

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"
)

// Waiters on a server store are woken with LISTEN/NOTIFY: a write that
// ends a lease or leaves a queue sends a notification on the repository's
// channel naming the resource, which the server delivers when (and only
// if) the write commits, to every listening machine.

// wakeChannel is a repository's notification channel.
func wakeChannel(schema string) string { return "oxygen_wake_" + schema }

// WakeWaiters notifies resource's waiters once tx commits.
func (d *driver) WakeWaiters(ctx context.Context, tx *sql.Tx, resource string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, d.channel, resource)
	return err
}

// Subscribe implements store.Waker on a connection of its own, outside the
// pool: a LISTEN holds its session for as long as the wait lasts.
func (s *Store) Subscribe(ctx context.Context, resource string) (<-chan struct{}, func(), error) {
	conn, err := pgx.ConnectConfig(ctx, s.connConfig.Copy())
	if err != nil {
		return nil, nil, s.drv.Classify("listen for "+resource, err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.drv.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, nil, s.drv.Classify("listen for "+resource, err)
	}
	wake := make(chan struct{}, 1)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := conn.WaitForNotification(lctx)
			if err != nil {
				return
			}
			if n.Payload == resource {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
	}()
	stop := func() {
		cancel()
		<-done
		conn.Close(context.Background())
	}
	return wake, stop, nil
}
