package gatewayauth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddysocial/platform/caddy-modules/authn"
	"github.com/caddysocial/platform/caddy-modules/authstore"
	"github.com/caddysocial/platform/caddy-modules/passwords"
	"github.com/caddysocial/platform/svckit/httpx"
)

func init() {
	caddy.RegisterModule(Register{})
	caddy.RegisterModule(Login{})
}

// DefaultMaxBody is the default request body limit of the auth endpoints.
const DefaultMaxBody = httpx.MaxBodyBytes

// requestDeadline bounds one registration or login, including the wait for
// a hashing slot: under a login storm, requests beyond the hasher's capacity
// get a 503 instead of queueing without end.
const requestDeadline = 10 * time.Second

// credentials is the body of both endpoints; unknown fields are ignored.
type credentials struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

// endpoint is what Register and Login share: the app and the body limit.
type endpoint struct {
	// Largest accepted request body in bytes; larger gets 413. Default 64 KiB.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`

	service *authn.Service
	logger  *zap.Logger
}

func (e *endpoint) provision(ctx caddy.Context, name string) error {
	e.logger = ctx.Logger()
	if e.MaxBodyBytes == 0 {
		e.MaxBodyBytes = DefaultMaxBody
	}
	appIface, err := ctx.App("caddysocial_auth")
	if err != nil {
		return fmt.Errorf("%s: load auth app: %w", name, err)
	}
	e.service = appIface.(*App).Service()
	if e.service == nil {
		return fmt.Errorf("%s: the auth app has no database configured", name)
	}
	return nil
}

// readCredentials decodes the body, answering the client itself when it
// cannot (ok=false).
func (e *endpoint) readCredentials(w http.ResponseWriter, r *http.Request) (c credentials, ok bool) {
	if !e.readJSON(w, r, http.MethodPost, &c) {
		return c, false
	}
	if c.Email == nil || c.Password == nil {
		httpx.ErrorNoStore(w, http.StatusBadRequest, "email and password are required")
		return c, false
	}
	return c, true
}

// readJSON decodes a request of method with a JSON object body into v,
// answering the client itself when it cannot (false): 405, 413 or 400, in
// the platform's one error shape (svckit/httpx).
func (e *endpoint) readJSON(w http.ResponseWriter, r *http.Request, method string, v any) bool {
	if r.Method != method {
		w.Header().Set("Allow", method)
		httpx.ErrorNoStore(w, http.StatusMethodNotAllowed, "method not allowed")
		return false
	}
	// Every answer of the auth endpoints, the decoder's errors too, is
	// no-store.
	w.Header().Set("Cache-Control", "no-store")
	return httpx.DecodeJSONLimit(w, r, v, e.MaxBodyBytes)
}

// failure answers for errors that are not the endpoint's own: auth-db down
// or hashing capacity exhausted is 503, anything else 500; the detail goes
// to the log, never to the client.
func (e *endpoint) failure(w http.ResponseWriter, err error) error {
	if errors.Is(err, passwords.ErrBusy) || authstore.IsUnavailable(err) {
		e.logger.Warn("auth unavailable", zap.Error(err))
		w.Header().Set("Retry-After", "1")
		httpx.ErrorNoStore(w, http.StatusServiceUnavailable, "authentication service temporarily unavailable")
		return nil
	}
	e.logger.Error("auth failure", zap.Error(err))
	httpx.ErrorNoStore(w, http.StatusInternalServerError, "internal error")
	return nil
}

// Register is the http.handlers.caddysocial_auth_register handler: POST
// {"email","password"} creates an account, 201 {"uuid","email"}.
type Register struct{ endpoint }

// CaddyModule returns the Caddy module information.
func (Register) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.caddysocial_auth_register", New: func() caddy.Module { return new(Register) }}
}

// Provision gets the auth app.
func (h *Register) Provision(ctx caddy.Context) error {
	return h.provision(ctx, "caddysocial_auth_register")
}

func (h *Register) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	c, ok := h.readCredentials(w, r)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestDeadline)
	defer cancel()
	reg, err := h.service.Register(ctx, *c.Email, *c.Password)
	switch {
	case err == nil:
		httpx.WriteJSONNoStore(w, http.StatusCreated, map[string]string{"uuid": reg.ID, "email": reg.Email})
		return nil
	case errors.Is(err, authn.ErrInvalidEmail), errors.Is(err, authn.ErrInvalidPassword):
		httpx.ErrorNoStore(w, http.StatusBadRequest, err.Error())
		return nil
	case errors.Is(err, authn.ErrEmailTaken):
		httpx.ErrorNoStore(w, http.StatusConflict, "email already registered")
		return nil
	default:
		return h.failure(w, err)
	}
}

// Login is the http.handlers.caddysocial_auth_login handler: POST {"email","password"}
// returns 200 {"access_token","token_type","expires_in"}.
type Login struct{ endpoint }

// CaddyModule returns the Caddy module information.
func (Login) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.caddysocial_auth_login", New: func() caddy.Module { return new(Login) }}
}

// Provision gets the auth app.
func (h *Login) Provision(ctx caddy.Context) error { return h.provision(ctx, "caddysocial_auth_login") }

func (h *Login) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	c, ok := h.readCredentials(w, r)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestDeadline)
	defer cancel()
	tok, err := h.service.Login(ctx, *c.Email, *c.Password)
	if lim, limited := errors.AsType[*authn.LimitError](err); limited {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(lim.RetryAfter.Seconds()))))
		httpx.ErrorNoStore(w, http.StatusTooManyRequests, lim.Reason)
		return nil
	}
	switch {
	case err == nil:
		httpx.WriteJSONNoStore(w, http.StatusOK, map[string]any{
			"access_token": tok.AccessToken,
			"token_type":   "Bearer",
			"expires_in":   int(tok.ExpiresIn.Seconds()),
		})
		return nil
	case errors.Is(err, authn.ErrBadCredentials):
		httpx.ErrorNoStore(w, http.StatusUnauthorized, authn.ErrBadCredentials.Error())
		return nil
	default:
		return h.failure(w, err)
	}
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Register)(nil)
	_ caddyhttp.MiddlewareHandler = (*Register)(nil)
	_ caddy.Provisioner           = (*Login)(nil)
	_ caddyhttp.MiddlewareHandler = (*Login)(nil)
)
