// Package authn is the gateway's registration and login logic, free of HTTP
// and Caddy: validation, Argon2id hashing, the per-user token limit, the
// per-account failed-password throttle, and token issuance.
package authn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/caddy-modules/authstore"
	"github.com/caddysocial/platform/caddy-modules/passwords"
	"github.com/caddysocial/platform/caddy-modules/tokens"
)

var (
	// ErrBadCredentials is the one answer for an unknown email and a wrong
	// password, so that the two cannot be told apart.
	ErrBadCredentials = errors.New("invalid email or password")
	ErrEmailTaken     = authstore.ErrEmailTaken
)

// LimitError says a login was refused by a limit and when to retry.
type LimitError struct {
	Reason     string
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s; retry after %s", e.Reason, e.RetryAfter.Round(time.Second))
}

// Limits are the login policies.
type Limits struct {
	TokensPerWindow int           // access tokens per user in a rolling window (10)
	TokenWindow     time.Duration // 1h
	MaxFailures     int           // failed passwords per email before throttling (5)
	FailureWindow   time.Duration // 15m
}

// DefaultLimits are SPEC.md's 10 tokens per rolling hour, and 5 failed
// passwords per 15 minutes.
var DefaultLimits = Limits{TokensPerWindow: 10, TokenWindow: time.Hour, MaxFailures: 5, FailureWindow: 15 * time.Minute}

// Service registers users and logs them in.
type Service struct {
	Store  *authstore.Store
	Hasher *passwords.Hasher
	Signer *tokens.Signer
	Limits Limits
}

// Registered is a new account.
type Registered struct {
	ID    string
	Email string
}

// Register creates an account. Errors: ErrInvalidEmail, ErrInvalidPassword,
// ErrEmailTaken, or a store/hashing failure.
func (s *Service) Register(ctx context.Context, email, password string) (Registered, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return Registered{}, err
	}
	if err := ValidatePassword(password); err != nil {
		return Registered{}, err
	}
	hash, err := s.Hasher.Hash(ctx, password)
	if err != nil {
		return Registered{}, err
	}
	u := authstore.User{ID: uuid.NewString(), Email: email, PasswordHash: hash}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return Registered{}, err
	}
	return Registered{ID: u.ID, Email: u.Email}, nil
}

// Token is an issued access token.
type Token struct {
	AccessToken string
	ExpiresIn   time.Duration
}

// Login checks the credentials and issues a token. Errors: ErrBadCredentials,
// *LimitError, or a store/hashing failure.
//
// Both the unknown-email and the wrong-password paths run one Argon2id
// verification and the same queries, so they take the same time.
func (s *Service) Login(ctx context.Context, email, password string) (Token, error) {
	normalized, emailErr := NormalizeEmail(email)
	if emailErr != nil {
		// No account can have this email; spend the same time as a real check.
		if err := s.Hasher.VerifyDummy(ctx, password); err != nil {
			return Token{}, err
		}
		return Token{}, ErrBadCredentials
	}
	failures, wait, err := s.Store.FailureThrottle(ctx, normalized, s.Limits.MaxFailures, s.Limits.FailureWindow)
	if err != nil {
		return Token{}, err
	}
	if wait > 0 {
		return Token{}, &LimitError{Reason: "too many failed login attempts", RetryAfter: wait}
	}
	user, err := s.Store.UserByEmail(ctx, normalized)
	var ok bool
	switch {
	case errors.Is(err, authstore.ErrNotFound):
		err = s.Hasher.VerifyDummy(ctx, password)
	case err == nil:
		ok, err = s.Hasher.Verify(ctx, password, user.PasswordHash)
	}
	if err != nil {
		return Token{}, err
	}
	if !ok {
		if err := s.Store.RecordFailure(ctx, normalized, s.Limits.FailureWindow); err != nil {
			return Token{}, err
		}
		return Token{}, ErrBadCredentials
	}
	if failures > 0 {
		if err := s.Store.ClearFailures(ctx, normalized); err != nil {
			return Token{}, err
		}
	}
	granted, wait, err := s.Store.ReserveToken(ctx, user.ID, s.Limits.TokensPerWindow, s.Limits.TokenWindow)
	if err != nil {
		return Token{}, err
	}
	if !granted {
		return Token{}, &LimitError{Reason: "token limit reached", RetryAfter: wait}
	}
	signed, _, err := s.Signer.Issue(user.ID)
	if err != nil {
		return Token{}, err
	}
	return Token{AccessToken: signed, ExpiresIn: s.Signer.TTL()}, nil
}
