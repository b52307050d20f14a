// Package passwords hashes and verifies passwords with Argon2id, encoded as
// PHC strings, with a bound on how many hashes run at once.
//
// Each Argon2id evaluation allocates Params.Memory KiB (19 MiB with the OWASP
// parameters), so an unbounded number of parallel logins could exhaust
// memory. Hasher admits at most Concurrency evaluations at a time; callers
// beyond that wait, and give up when their context ends.
package passwords

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/alexedwards/argon2id"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/semaphore"

	"github.com/caddysocial/platform/svckit/telemetry"
)

// OWASP's minimum recommendation for Argon2id (Password Storage Cheat Sheet):
// m=19 MiB, t=2, p=1.
var OWASPParams = argon2id.Params{
	Memory:      19 * 1024,
	Iterations:  2,
	Parallelism: 1,
	SaltLength:  16,
	KeyLength:   32,
}

// ErrBusy is returned when the context ends while waiting for a hashing slot.
var ErrBusy = errors.New("password hashing capacity exhausted")

// Hasher hashes and verifies passwords with bounded concurrency.
type Hasher struct {
	params      argon2id.Params
	concurrency int
	slots       *semaphore.Weighted // one unit per running hash
	dummy       string              // a hash of a random password, verified against for unknown users
	inSlot      func()              // tests: called while a slot is held
}

// New returns a Hasher with the given parameters; concurrency <= 0 means
// one slot per CPU.
func New(params argon2id.Params, concurrency int) (*Hasher, error) {
	if params.Memory < OWASPParams.Memory || params.Iterations < 1 || params.Parallelism < 1 {
		return nil, fmt.Errorf("argon2id parameters m=%d t=%d p=%d are weaker than m=%d t=1 p=1",
			params.Memory, params.Iterations, params.Parallelism, OWASPParams.Memory)
	}
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: params, concurrency: concurrency, slots: semaphore.NewWeighted(int64(concurrency))}
	dummy, err := argon2id.CreateHash("dummy password for unknown users", &h.params)
	if err != nil {
		return nil, fmt.Errorf("create dummy hash: %w", err)
	}
	h.dummy = dummy
	return h, nil
}

// Concurrency is the number of hashes that may run at once.
func (h *Hasher) Concurrency() int { return h.concurrency }

// acquire waits for a hashing slot; the wait is an event of ctx's span
// (time spent queueing behind other hashes, as opposed to hashing).
func (h *Hasher) acquire(ctx context.Context) error {
	if err := h.slots.Acquire(ctx, 1); err != nil {
		return fmt.Errorf("%w: %w", ErrBusy, context.Cause(ctx))
	}
	trace.SpanFromContext(ctx).AddEvent("hashing slot acquired")
	if h.inSlot != nil {
		h.inSlot()
	}
	return nil
}

func (h *Hasher) release() { h.slots.Release(1) }

// Hash returns the PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$key).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	ctx, span := telemetry.StartSpan(ctx, "argon2id hash")
	defer span.End()
	if err := h.acquire(ctx); err != nil {
		span.SetStatus(codes.Error, "no hashing slot")
		return "", err
	}
	defer h.release()
	hash, err := argon2id.CreateHash(password, &h.params)
	if err != nil {
		return "", fmt.Errorf("argon2id hash: %w", err)
	}
	return hash, nil
}

// Verify reports whether password matches the PHC string encoded. The key
// comparison is constant-time.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	ctx, span := telemetry.StartSpan(ctx, "argon2id verify")
	defer span.End()
	if err := h.acquire(ctx); err != nil {
		span.SetStatus(codes.Error, "no hashing slot")
		return false, err
	}
	defer h.release()
	ok, err := argon2id.ComparePasswordAndHash(password, encoded)
	if err != nil {
		return false, fmt.Errorf("argon2id verify: %w", err)
	}
	return ok, nil
}

// VerifyDummy does the same work as Verify for a user that does not exist, so
// that "unknown email" and "wrong password" take the same time. It always
// reports false.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, password, h.dummy)
	return err
}
