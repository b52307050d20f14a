// Package gatewayauth is the gateway's authentication as Caddy modules: the
// "auth" app holds auth-db, the password hasher and the token signer; the
// caddysocial_auth_register and caddysocial_auth_login handlers serve /api/auth/*; the caddysocial_jwt_auth
// handler (package jwtauth) verifies tokens with the app's signer.
package gatewayauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddysocial/platform/caddy-modules/authn"
	"github.com/caddysocial/platform/caddy-modules/authstore"
	"github.com/caddysocial/platform/caddy-modules/passwords"
	"github.com/caddysocial/platform/caddy-modules/revocation"
	"github.com/caddysocial/platform/caddy-modules/tokens"
	"github.com/caddysocial/platform/svckit/events"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the "auth" Caddy app.
type App struct {
	// PostgreSQL connection URL of auth-db. Optional: without it the app only
	// verifies tokens (caddysocial_auth_register and caddysocial_auth_login refuse to provision).
	Database string `json:"database,omitempty"`
	// Maximum connections of the auth-db pool. Default 10.
	MaxConns int32 `json:"max_conns,omitempty"`
	// Timeout of each auth-db statement. Default 5s.
	QueryTimeout caddy.Duration `json:"query_timeout,omitempty"`

	// The HS256 keys: the keys file JWTKeysFile if it is set (one
	// "<id> <secret>" a line, the last one signs, see tokens.ParseKeys);
	// else one secret (at least 32 bytes) from JWTSecretFile if it is set,
	// else from the environment variable JWTSecretEnv (default JWT_SECRET).
	// Every config load reads them again: rotate with `caddy reload`.
	JWTKeysFile   string `json:"jwt_keys_file,omitempty"`
	JWTSecretFile string `json:"jwt_secret_file,omitempty"`
	JWTSecretEnv  string `json:"jwt_secret_env,omitempty"`
	// Lifetime of access tokens. Default 1h.
	TokenTTL caddy.Duration `json:"token_ttl,omitempty"`

	// Access tokens per user in the rolling TokenWindow. Defaults 10 and 1h.
	TokensPerWindow int            `json:"tokens_per_window,omitempty"`
	TokenWindow     caddy.Duration `json:"token_window,omitempty"`
	// Failed passwords per email within FailureWindow before logins of that
	// email get 429 until the window ends. Defaults 5 and 15m.
	MaxFailedLogins int            `json:"max_failed_logins,omitempty"`
	FailureWindow   caddy.Duration `json:"failure_window,omitempty"`
	// Argon2id hashes running at once. Default: the number of CPUs.
	HashConcurrency int `json:"hash_concurrency,omitempty"`

	// NATS server URL for events (docs/EVENTS.md): the relay publishes
	// auth-db's outbox (accounts.deleted) there. Empty: events wait in the
	// outbox; token revocation works regardless (it reads auth-db).
	NATSURL string `json:"nats_url,omitempty"`
	// How often deleted accounts are read from auth-db, whose tokens are
	// then refused. Default 250ms.
	RevocationInterval caddy.Duration `json:"revocation_interval,omitempty"`

	signer        *tokens.Signer
	service       *authn.Service
	poolKey       string
	backgroundKey string
	revoked       *revocation.List
	relay         *events.Relay
	logger        *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddysocial_auth", New: func() caddy.Module { return new(App) }}
}

// Provision loads the secret and sets up the service; auth-db is connected
// lazily, so the gateway starts (and verifies tokens) while auth-db is down.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	if a.JWTSecretEnv == "" {
		a.JWTSecretEnv = "JWT_SECRET"
	}
	if a.TokenTTL == 0 {
		a.TokenTTL = caddy.Duration(time.Hour)
	}
	keys, err := a.loadKeys()
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if a.signer, err = tokens.NewKeyedSigner(keys, time.Duration(a.TokenTTL)); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	a.logger.Info("jwt keys loaded", zap.Strings("verify", ids), zap.String("sign", a.signer.SigningKeyID()))
	if a.Database == "" {
		return nil
	}
	limits := authn.DefaultLimits
	setInt(&limits.TokensPerWindow, a.TokensPerWindow)
	setDuration(&limits.TokenWindow, a.TokenWindow)
	setInt(&limits.MaxFailures, a.MaxFailedLogins)
	setDuration(&limits.FailureWindow, a.FailureWindow)

	hasher, err := passwords.New(passwords.OWASPParams, a.HashConcurrency)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	pool, err := a.loadPool()
	if err != nil {
		return err
	}
	store := authstore.New(pool, time.Duration(a.QueryTimeout))
	a.service = &authn.Service{
		Store:  store,
		Hasher: hasher,
		Signer: a.signer,
		Limits: limits,
	}
	if a.revoked, err = a.startBackground(ctx, pool, store); err != nil {
		return err
	}
	store.UseRelay(a.relay)
	return nil
}

func (a *App) loadKeys() ([]tokens.Key, error) {
	if a.JWTKeysFile != "" {
		return tokens.LoadKeys(a.JWTKeysFile)
	}
	secret, err := tokens.LoadSecret(a.JWTSecretFile, a.JWTSecretEnv)
	if err != nil {
		return nil, err
	}
	return []tokens.Key{{ID: tokens.KeyID(secret), Secret: secret}}, nil
}

// Validate rejects limits that cannot work.
func (a *App) Validate() error {
	if a.TokensPerWindow < 0 || a.MaxFailedLogins < 0 || a.HashConcurrency < 0 || a.MaxConns < 0 || a.RevocationInterval < 0 {
		return errors.New("auth: tokens_per_window, max_failed_logins, hash_concurrency, max_conns and revocation_interval must not be negative")
	}
	return nil
}

// Start applies the schema migrations if auth-db is up; if it is not, they
// are applied on first use, so a late database is not fatal.
func (a *App) Start() error {
	if a.service == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.service.Store.Ready(ctx); err != nil {
		a.logger.Warn("auth-db not ready; schema will be applied on first use", zap.Error(err))
	}
	return nil
}

// Stop is a no-op: the pool belongs to the usage pool and is closed in
// Cleanup when no config uses it any more.
func (a *App) Stop() error { return nil }

// Cleanup releases this config's reference to the auth-db pool and to the
// revocation poller and relay.
func (a *App) Cleanup() error {
	if a.backgroundKey != "" {
		if _, err := background.Delete(a.backgroundKey); err != nil {
			return fmt.Errorf("auth: release revocation list and relay: %w", err)
		}
	}
	if a.poolKey != "" {
		if _, err := pools.Delete(a.poolKey); err != nil {
			return fmt.Errorf("auth: release pool: %w", err)
		}
	}
	return nil
}

// Service is the registration/login logic; nil without a database.
func (a *App) Service() *authn.Service { return a.service }

// Signer verifies and issues access tokens.
func (a *App) Signer() *tokens.Signer { return a.signer }

// Revoked reports whether userID's tokens are refused (the account was
// deleted). Without a database nothing is revoked.
func (a *App) Revoked(userID string) bool { return a.revoked != nil && a.revoked.Revoked(userID) }

func setInt(dst *int, v int) {
	if v > 0 {
		*dst = v
	}
}

func setDuration(dst *time.Duration, v caddy.Duration) {
	if v > 0 {
		*dst = time.Duration(v)
	}
}

// Interface guards.
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
