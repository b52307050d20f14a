package authn

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/caddy-modules/authstore"
	"github.com/caddysocial/platform/caddy-modules/passwords"
	"github.com/caddysocial/platform/caddy-modules/tokens"
	"github.com/caddysocial/platform/svckit/pgtest"
)

func newService(t *testing.T) *Service {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	hasher, err := passwords.New(passwords.OWASPParams, 4)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tokens.NewSigner([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &Service{Store: authstore.New(pool, 10*time.Second), Hasher: hasher, Signer: signer, Limits: DefaultLimits}
}

func TestRegisterThenLogin(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	reg, err := s.Register(ctx, " Alice@Example.com ", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if reg.Email != "alice@example.com" || len(reg.ID) != 36 {
		t.Fatalf("registered %+v", reg)
	}
	if _, err := s.Register(ctx, "ALICE@example.com", "password2"); !errors.Is(err, ErrEmailTaken) {
		t.Fatalf("second registration, other case: %v", err)
	}
	tok, err := s.Login(ctx, "alice@EXAMPLE.com", "password1")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.Signer.Verify(tok.AccessToken)
	if err != nil || sub != reg.ID {
		t.Fatalf("token sub %q, %v; want %s", sub, err, reg.ID)
	}
	if tok.ExpiresIn != time.Hour {
		t.Fatalf("expires in %s", tok.ExpiresIn)
	}
}

func TestUnknownEmailAndWrongPasswordAreIndistinguishable(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	if _, err := s.Register(ctx, "bob@example.com", "password1"); err != nil {
		t.Fatal(err)
	}
	_, wrong := s.Login(ctx, "bob@example.com", "password2")
	_, unknown := s.Login(ctx, "nobody@example.com", "password1")
	_, invalid := s.Login(ctx, "not an email", "password1")
	for _, err := range []error{wrong, unknown, invalid} {
		if !errors.Is(err, ErrBadCredentials) || err.Error() != ErrBadCredentials.Error() {
			t.Fatalf("err = %v, want exactly ErrBadCredentials", err)
		}
	}
}

func TestParallelLoginsYieldExactlyTenTokens(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	if _, err := s.Register(ctx, "carol@example.com", "password1"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var tokensIssued, limited int
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := s.Login(ctx, "carol@example.com", "password1")
			mu.Lock()
			defer mu.Unlock()
			var lim *LimitError
			switch {
			case err == nil:
				tokensIssued++
			case errors.As(err, &lim) && lim.Reason == "token limit reached" && lim.RetryAfter > 59*time.Minute:
				limited++
			default:
				t.Errorf("login: %v", err)
			}
		})
	}
	wg.Wait()
	if tokensIssued != 10 || limited != 10 {
		t.Fatalf("%d tokens, %d limited; want 10 and 10", tokensIssued, limited)
	}
}

func TestRepeatedWrongPasswordsAreThrottledForKnownAndUnknownEmails(t *testing.T) {
	s := newService(t)
	s.Limits.MaxFailures = 3
	ctx := context.Background()
	if _, err := s.Register(ctx, "dave@example.com", "password1"); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"dave@example.com", "ghost@example.com"} {
		for range 3 {
			if _, err := s.Login(ctx, email, "wrong-password"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("%s: %v", email, err)
			}
		}
		var lim *LimitError
		if _, err := s.Login(ctx, email, "password1"); !errors.As(err, &lim) || lim.RetryAfter <= 0 {
			t.Fatalf("%s after 3 failures: %v, want a LimitError", email, err)
		}
	}
}

func TestSuccessfulLoginClearsFailures(t *testing.T) {
	s := newService(t)
	s.Limits.MaxFailures = 3
	ctx := context.Background()
	if _, err := s.Register(ctx, "erin@example.com", "password1"); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for range 2 {
			_, _ = s.Login(ctx, "erin@example.com", "wrong-password")
		}
		if _, err := s.Login(ctx, "erin@example.com", "password1"); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}
