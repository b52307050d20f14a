package pgstore

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUnavailable reports whether err is a connection-level failure: the
// database could not be reached, dropped the connection, is starting up or
// shutting down, has no connection slot free, or did not answer in time.
// Those are worth retrying later (503 with Retry-After). Anything else (a
// rejected statement, a constraint, a failed login to the database, a bug)
// is not: the caller answers 500 and logs the cause.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	pgErr, isPg := errors.AsType[*pgconn.PgError](err)
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		// Refused at connection time: unavailable (starting up, shutting
		// down, not accepting connections, unreachable) unless the server
		// refused our credentials or database name, a configuration fault.
		return !isPg || (pgErr.Code[:2] != "28" && pgErr.Code != "3D000")
	}
	if isPg {
		return unavailableCode(pgErr.Code)
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	// A deadline: the database did not answer within the statement timeout
	// (or no pooled connection came free in time).
	return pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// unavailableCode: SQLSTATE class 08 (connection exception), 53300
// (too_many_connections), 57P01-57P03 (admin/crash shutdown, cannot connect
// now). Other classes (53 disk full or out of memory, 57014 statement
// cancelled, ...) are faults to look at, not to retry blindly.
func unavailableCode(code string) bool {
	switch {
	case len(code) == 5 && code[:2] == "08":
		return true
	case code == "53300", code == "57P01", code == "57P02", code == "57P03":
		return true
	}
	return false
}
