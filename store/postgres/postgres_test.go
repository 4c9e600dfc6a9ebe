package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/oxygen-tools/oxygen/store"
	"github.com/oxygen-tools/oxygen/store/sqlstore"
)

// serverURL is the test server, or a skip.
func serverURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("OXYGEN_TEST_POSTGRES_URL")
	if u == "" {
		t.Skip("OXYGEN_TEST_POSTGRES_URL not set: skipping tests that need a PostgreSQL server")
	}
	return u
}

// testRepository is a fresh repository id whose schema is dropped when the
// test ends.
func testRepository(t *testing.T, url string) string {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	id := "test" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		// A plain connection: Open refuses a schema some test made newer
		// than the binary, which must go too.
		db, err := sql.Open("pgx", url)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec(`DROP SCHEMA IF EXISTS ` + Schema(id) + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", Schema(id), err)
		}
	})
	return id
}

// wantStoreError checks an error's code and that its message is one line
// naming the host and never the password.
func wantStoreError(t *testing.T, err error, code, host, contains string) {
	t.Helper()
	var se *store.Error
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *store.Error %s", err, code)
	}
	if se.Code != code || !strings.Contains(se.Message, host) || !strings.Contains(se.Message, contains) {
		t.Fatalf("got %s %q, want %s naming %s and saying %q", se.Code, se.Message, code, host, contains)
	}
	if strings.Contains(se.Message, "s3cret") || strings.Contains(se.Message, "\n") {
		t.Fatalf("message leaks the password or spans lines: %q", se.Message)
	}
}

// fakeServer listens on a loopback port and answers each connection with
// serve, speaking the PostgreSQL protocol: it stands for servers the test
// machine does not have (one that rejects a password, one too old).
func fakeServer(t *testing.T, serve func(*pgproto3.Backend)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := pgproto3.NewBackend(c, c)
				if _, err := b.ReceiveStartupMessage(); err != nil {
					return
				}
				serve(b)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestUnreachableServerIsATimeoutNamingTheHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = Open(context.Background(), Config{URL: "postgres://ann:s3cret@" + addr + "/test?sslmode=disable&connect_timeout=2", Repository: "abcdef0123456789"})
	wantStoreError(t, err, store.CodeTimeout, addr, "cannot reach the store server")
}

func TestWrongPasswordIsInvalidNamingTheHost(t *testing.T) {
	addr := fakeServer(t, func(b *pgproto3.Backend) {
		b.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: `password authentication failed for user "ann"`})
		b.Flush()
	})
	_, err := Open(context.Background(), Config{URL: "postgres://ann:s3cret@" + addr + "/test?sslmode=disable", Repository: "abcdef0123456789"})
	wantStoreError(t, err, store.CodeInvalid, addr, "refused the credentials")
}

func TestServerOlderThanSupportedIsInvalid(t *testing.T) {
	addr := fakeServer(t, func(b *pgproto3.Backend) {
		b.Send(&pgproto3.AuthenticationOk{})
		b.Send(&pgproto3.ParameterStatus{Name: "server_version", Value: "12.0"})
		b.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		b.Flush()
		for {
			msg, err := b.Receive()
			if err != nil {
				return
			}
			switch msg.(type) {
			case *pgproto3.Sync:
				b.Send(&pgproto3.ParseComplete{})
				b.Send(&pgproto3.BindComplete{})
				b.Send(&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{
					{Name: []byte("v"), DataTypeOID: 23, DataTypeSize: 4, TypeModifier: -1},
					{Name: []byte("e"), DataTypeOID: 16, DataTypeSize: 1, TypeModifier: -1},
				}})
				b.Send(&pgproto3.DataRow{Values: [][]byte{[]byte("120000"), []byte("f")}})
				b.Send(&pgproto3.CommandComplete{CommandTag: []byte("SELECT 1")})
				b.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
				b.Flush()
			case *pgproto3.Terminate:
				return
			}
		}
	})
	_, err := Open(context.Background(), Config{URL: "postgres://ann:s3cret@" + addr + "/test?sslmode=disable", Repository: "abcdef0123456789"})
	wantStoreError(t, err, store.CodeInvalid, addr, "oxygen needs 13 or newer")
}

func TestMissingStoreIsNotCreatedByOpen(t *testing.T) {
	url := serverURL(t)
	id := testRepository(t, url)
	_, err := Open(context.Background(), Config{URL: url, Repository: id})
	wantStoreError(t, err, store.CodeInvalid, "127.0.0.1", "run orchestrate init")
	s, err := Create(context.Background(), Config{URL: url, Repository: id})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(context.Background(), Config{URL: url, Repository: id}); err != nil {
		t.Fatalf("open after create: %v", err)
	}
	s.Close()
}

func TestSchemaNewerThanTheBinaryIsInvalid(t *testing.T) {
	url := serverURL(t)
	id := testRepository(t, url)
	s, err := Create(context.Background(), Config{URL: url, Repository: id})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(context.Background(), Config{URL: url, Repository: id})
	wantStoreError(t, err, store.CodeInvalid, "127.0.0.1", "newer than this binary's")
}

// A server that drops the connection mid-transaction: the command fails as
// a timeout naming the host, and nothing it wrote is committed.
func TestServerDroppingMidTransactionCommitsNothing(t *testing.T) {
	url := serverURL(t)
	id := testRepository(t, url)
	s, err := Create(context.Background(), Config{URL: url, Repository: id})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	err = s.Write(ctx, nil, func(tx store.Tx) error {
		if _, err := sqlstore.SQLOf(tx).ExecContext(ctx, `INSERT INTO daemon (id, pid, host, started_at, heartbeat_at) VALUES (1, 1, 'h', 1, 1)`); err != nil {
			return err
		}
		_, err := sqlstore.SQLOf(tx).ExecContext(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
		return s.drv.Classify("write", err)
	})
	wantStoreError(t, err, store.CodeTimeout, "127.0.0.1", "lost the store server")
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM daemon`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows after the dropped transaction: %d, %v", n, err)
	}
}

// A committed write that wakes a resource's waiters reaches a listener of
// that resource (on its own connection, as another machine's would be); a
// rolled-back one reaches nobody.
func TestWakeWaitersReachesListenersOnCommitOnly(t *testing.T) {
	url := serverURL(t)
	id := testRepository(t, url)
	ctx := context.Background()
	s, err := Create(ctx, Config{URL: url, Repository: id})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wake, stop, err := s.Subscribe(ctx, "policy")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	rollback := errors.New("roll back")
	if err := s.Write(ctx, nil, func(tx store.Tx) error {
		if err := tx.WakeWaiters(ctx, "policy"); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	for _, r := range []string{"other", "policy"} {
		if err := s.Write(ctx, nil, func(tx store.Tx) error { return tx.WakeWaiters(ctx, r) }); err != nil {
			t.Fatal(err)
		}
	}
	<-wake // the commit for "policy"
	select {
	case <-wake:
		t.Fatal("woken twice: by the rolled-back write or by another resource")
	default:
	}
}
