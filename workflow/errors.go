package workflow

import (
	"errors"

	"github.com/oxygen-tools/oxygen/store"
)

// Error codes. Each maps to exactly one process exit code, the same in both
// binaries, so scripts can branch on the exit status alone.
const (
	EINVALID  = store.CodeInvalid  // bad input or usage: exit 2
	ECONFLICT = store.CodeConflict // wrong state, already exists, held by another: exit 3
	EDENIED   = "denied"           // refused by a budget or policy: exit 4
	ENOTFOUND = store.CodeNotFound // no such item, resource, signal: exit 5
	ETIMEOUT  = store.CodeTimeout  // a wait ran out, a lock held too long, a server gone: exit 6
	EINTERNAL = store.CodeInternal // anything unexpected: exit 1
)

// Error is the one error type that crosses the package boundary with a
// code: the store's, so a store failure keeps the code its driver gave it
// with nothing to translate. Any other error is treated as internal.
type Error = store.Error

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error { return store.Errorf(code, format, args...) }

// ErrorCode returns the code of err, or EINTERNAL when err carries none. A
// database error that reached here unwrapped is classified as storeErr
// would have: a store locked past busy_timeout is a timeout wherever it
// surfaced (a rows.Err() at the end of a scan, say), never internal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	if errors.As(storeErr("", err), &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human part of err without the code prefix.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// ExitCode maps an error to the process exit status shared by both tools.
func ExitCode(err error) int {
	switch ErrorCode(err) {
	case "":
		return 0
	case EINVALID:
		return 2
	case ECONFLICT:
		return 3
	case EDENIED:
		return 4
	case ENOTFOUND:
		return 5
	case ETIMEOUT:
		return 6
	default:
		return 1
	}
}
