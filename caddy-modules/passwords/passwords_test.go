package passwords

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
)

func newHasher(t *testing.T, concurrency int) *Hasher {
	t.Helper()
	h, err := New(OWASPParams, concurrency)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashIsPHCArgon2idWithOWASPParams(t *testing.T) {
	h := newHasher(t, 2)
	hash, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string with m=19456,t=2,p=1", hash)
	}
	ok, err := h.Verify(context.Background(), "correct horse battery staple", hash)
	if err != nil || !ok {
		t.Fatalf("verify right password: ok=%v err=%v", ok, err)
	}
	ok, err = h.Verify(context.Background(), "correct horse battery stapler", hash)
	if err != nil || ok {
		t.Fatalf("verify wrong password: ok=%v err=%v", ok, err)
	}
	other, _ := h.Hash(context.Background(), "correct horse battery staple")
	if other == hash {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
}

func TestRejectsWeakParams(t *testing.T) {
	weak := OWASPParams
	weak.Memory = 4096
	if _, err := New(weak, 1); err == nil {
		t.Fatal("New accepted m=4096")
	}
}

func TestVerifyRejectsMalformedHash(t *testing.T) {
	h := newHasher(t, 1)
	if _, err := h.Verify(context.Background(), "x", "$2a$10$notargon"); err == nil {
		t.Fatal("malformed hash verified without error")
	}
}

func TestVerifyDummyReportsNoErrorAndUsesTheRealParams(t *testing.T) {
	h := newHasher(t, 1)
	if err := h.VerifyDummy(context.Background(), "whatever"); err != nil {
		t.Fatal(err)
	}
	p, _, _, err := argon2id.DecodeHash(h.dummy)
	if err != nil {
		t.Fatal(err)
	}
	if *p != h.params {
		t.Fatalf("dummy hash params %+v differ from real ones %+v: timing would differ", *p, h.params)
	}
}

// TestConcurrencyIsBounded fills both slots with hashes that wait inside
// them, then asks for a third: it must wait and give up with its context.
// Were the bound broken, the third would enter a slot, which the hook sees
// (a third concurrent entrant) and lets through at once, so Hash succeeds
// and the test fails, whatever the timing.
func TestConcurrencyIsBounded(t *testing.T) {
	h := newHasher(t, 2)
	var running atomic.Int32
	entered := make(chan struct{}, 8)
	release := make(chan struct{})
	h.inSlot = func() {
		if running.Add(1) > 2 {
			return // over the bound: do not wait, let the test see it
		}
		entered <- struct{}{}
		<-release
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "password1"); err != nil {
				t.Error(err)
			}
		})
	}
	<-entered
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := h.Hash(ctx, "password1")
	close(release)
	wg.Wait()
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("third hash with both slots busy: err = %v, want ErrBusy (running reached %d)", err, running.Load())
	}
}

func TestWaitingForASlotEndsWithContext(t *testing.T) {
	h := newHasher(t, 1)
	if err := h.slots.Acquire(context.Background(), 1); err != nil { // occupy the only slot
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := h.Hash(ctx, "password1")
	if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrBusy wrapping DeadlineExceeded", err)
	}
	h.slots.Release(1)
	if _, err := h.Hash(context.Background(), "password1"); err != nil {
		t.Fatalf("after the slot came free: %v", err)
	}
}
