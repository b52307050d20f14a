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

func TestVerifyDummyIsFalseAndCostsTheSame(t *testing.T) {
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

func TestConcurrencyIsBounded(t *testing.T) {
	h := newHasher(t, 2)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	// Observe occupancy of the slots from outside while 8 hashes run.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				n := int32(len(h.slots))
				running.Store(n)
				if n > peak.Load() {
					peak.Store(n)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	for range 8 {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "password1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(stop)
	if p := peak.Load(); p > 2 || p == 0 {
		t.Fatalf("peak concurrent hashes = %d, want 1..2", p)
	}
}

func TestWaitingForASlotEndsWithContext(t *testing.T) {
	h := newHasher(t, 1)
	h.slots <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := h.Hash(ctx, "password1")
	if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrBusy wrapping DeadlineExceeded", err)
	}
}
