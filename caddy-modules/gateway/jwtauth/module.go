// Package jwtauth is the http.handlers.caddysocial_jwt_auth Caddy handler: it admits a
// request only with a valid access token and tells the upstream who the
// caller is in X-User-ID.
//
// Whatever the outcome, a client-sent X-User-ID is deleted first, so no
// client can choose its identity; after a token verifies, X-User-ID is set
// to its "sub" and Authorization is removed, so services never see tokens.
package jwtauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddysocial/platform/caddy-modules/gateway/gatewayauth"
	"github.com/caddysocial/platform/caddy-modules/tokens"
	"github.com/caddysocial/platform/svckit/httpx"
)

// UserIDHeader carries the authenticated user's UUID to the services.
const UserIDHeader = "X-User-ID"

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler verifies Bearer tokens with the auth app's signer.
type Handler struct {
	app    *gatewayauth.App
	signer *tokens.Signer
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.caddysocial_jwt_auth", New: func() caddy.Module { return new(Handler) }}
}

// Provision gets the signer from the auth app.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	app, err := ctx.App("caddysocial_auth")
	if err != nil {
		return fmt.Errorf("caddysocial_jwt_auth: load auth app: %w", err)
	}
	h.app = app.(*gatewayauth.App)
	h.signer = h.app.Signer()
	return nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	r.Header.Del(UserIDHeader)
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		// RFC 6750 section 3.1: no error code when no credentials were sent.
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		httpx.ErrorNoStore(w, http.StatusUnauthorized, "missing bearer token")
		return nil
	}
	sub, err := h.signer.Verify(strings.TrimSpace(token))
	if err == nil && h.app.Revoked(sub) {
		// The account was deleted; checked after Verify, so a token from
		// the signer's verified cache is refused too.
		err = errRevoked
	}
	if err != nil {
		h.logger.Debug("rejected token", zap.Error(err))
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		httpx.ErrorNoStore(w, http.StatusUnauthorized, "invalid or expired token")
		return nil
	}
	r.Header.Del("Authorization")
	r.Header.Set(UserIDHeader, sub)
	// Like caddyauth, expose the user to access logs and later handlers.
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.auth.user.id", sub)
	}
	return next.ServeHTTP(w, r)
}

var errRevoked = errors.New("account deleted")

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
