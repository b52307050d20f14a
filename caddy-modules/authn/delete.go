package authn

import (
	"context"
	"errors"

	"github.com/caddysocial/platform/caddy-modules/authstore"
)

// DeleteAccount deletes the account userID after checking its password
// again (a stolen token alone cannot delete): the email is free and logins
// fail at once, its tokens are revoked, and accounts.deleted goes to the
// outbox for the other services. Errors: ErrBadCredentials (wrong password
// or no such account), *LimitError (too many wrong passwords, the same
// throttle as logins), or a store/hashing failure.
func (s *Service) DeleteAccount(ctx context.Context, userID, password string) error {
	user, err := s.Store.UserByID(ctx, userID)
	if errors.Is(err, authstore.ErrNotFound) {
		if err := s.Hasher.VerifyDummy(ctx, password); err != nil {
			return err
		}
		return ErrBadCredentials
	}
	if err != nil {
		return err
	}
	_, wait, err := s.Store.FailureThrottle(ctx, user.Email, s.Limits.MaxFailures, s.Limits.FailureWindow)
	if err != nil {
		return err
	}
	if wait > 0 {
		return &LimitError{Reason: "too many failed password attempts", RetryAfter: wait}
	}
	ok, err := s.Hasher.Verify(ctx, password, user.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		if err := s.Store.RecordFailure(ctx, user.Email, s.Limits.FailureWindow); err != nil {
			return err
		}
		return ErrBadCredentials
	}
	if err := s.Store.DeleteAccount(ctx, user.ID); errors.Is(err, authstore.ErrNotFound) {
		return ErrBadCredentials // deleted concurrently
	} else if err != nil {
		return err
	}
	// The failure window of the email belongs to the deleted account.
	return s.Store.ClearFailures(ctx, user.Email)
}
