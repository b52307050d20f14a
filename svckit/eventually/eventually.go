// Package eventually waits, in tests, for a condition that another goroutine
// or process makes true: a server that starts, a counter that moves, an event
// that arrives. Tests wait for the event itself, never for a fixed window, so
// that a loaded machine makes them slower but not wrong.
package eventually

import (
	"errors"
	"testing"
	"time"
)

// Timeout is the default wait of True and NoError: long, because it is only
// reached when the test is failing (or the machine is very busy).
const Timeout = 20 * time.Second

// NoError polls cond until it returns nil and fails the test with cond's last
// error if that has not happened within timeout (Timeout if 0). The polling
// interval starts at 2 ms and doubles up to 100 ms.
func NoError(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := Wait(timeout, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// True is NoError for a condition without a reason.
func True(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	NoError(t, timeout, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
}

var errNotYet = errors.New("not true yet")

// Wait is NoError for goroutines, which must not end the test: it returns
// cond's last error, wrapped with the time waited, or nil.
func Wait(timeout time.Duration, cond func() error) error {
	if timeout <= 0 {
		timeout = Timeout
	}
	start := time.Now()
	interval := 2 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Since(start) >= timeout {
			return &timeoutError{waited: time.Since(start).Round(time.Millisecond), last: err}
		}
		time.Sleep(interval)
		interval = min(2*interval, 100*time.Millisecond)
	}
}

type timeoutError struct {
	waited time.Duration
	last   error
}

func (e *timeoutError) Error() string {
	return "still failing after " + e.waited.String() + ": " + e.last.Error()
}
func (e *timeoutError) Unwrap() error { return e.last }
