package eventually

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitReturnsOnceTrue(t *testing.T) {
	var n atomic.Int32
	if err := Wait(time.Minute, func() error {
		if n.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Fatalf("cond called %d times, want 3", n.Load())
	}
}

func TestWaitTimesOutWithTheLastError(t *testing.T) {
	last := errors.New("still down")
	err := Wait(20*time.Millisecond, func() error { return last })
	if !errors.Is(err, last) {
		t.Fatalf("err = %v, want it to wrap %v", err, last)
	}
}

func TestTrueFailsTheTest(t *testing.T) {
	ft := &fakeT{TB: t}
	func() {
		defer func() { _ = recover() }()
		True(ft, 10*time.Millisecond, "never", func() bool { return false })
	}()
	if !ft.failed {
		t.Fatal("True did not fail the test")
	}
}

// fakeT records Fatalf instead of ending the real test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}
