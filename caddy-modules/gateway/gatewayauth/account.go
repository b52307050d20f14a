package gatewayauth

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/google/uuid"

	"github.com/caddysocial/platform/caddy-modules/authn"
	"github.com/caddysocial/platform/svckit/httpx"
)

func init() {
	caddy.RegisterModule(DeleteAccount{})
}

// DeleteAccount is the http.handlers.caddysocial_account_delete handler: DELETE
// {"password"} by an authenticated caller (caddysocial_jwt_auth must run first and set
// X-User-ID) deletes the caller's account, 202. The password is checked
// again, so a stolen token alone cannot delete an account. Login fails and
// the email is free at once; tokens are refused by every gateway within the
// revocation interval; the other services remove the account's data when
// accounts.deleted reaches them (docs/EVENTS.md).
type DeleteAccount struct{ endpoint }

// CaddyModule returns the Caddy module information.
func (DeleteAccount) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.caddysocial_account_delete", New: func() caddy.Module { return new(DeleteAccount) }}
}

// Provision gets the auth app.
func (h *DeleteAccount) Provision(ctx caddy.Context) error {
	return h.provision(ctx, "caddysocial_account_delete")
}

func (h *DeleteAccount) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	user, err := uuid.Parse(r.Header.Get("X-User-ID"))
	if err != nil {
		// Only a misconfigured route (no caddysocial_jwt_auth before) gets here.
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		httpx.ErrorNoStore(w, http.StatusUnauthorized, "missing bearer token")
		return nil
	}
	var body struct {
		Password *string `json:"password"`
	}
	if !h.readJSON(w, r, http.MethodDelete, &body) {
		return nil
	}
	if body.Password == nil {
		httpx.ErrorNoStore(w, http.StatusBadRequest, "password is required")
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestDeadline)
	defer cancel()
	err = h.service.DeleteAccount(ctx, user.String(), *body.Password)
	if lim, limited := errors.AsType[*authn.LimitError](err); limited {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(lim.RetryAfter.Seconds()))))
		httpx.ErrorNoStore(w, http.StatusTooManyRequests, lim.Reason)
		return nil
	}
	switch {
	case err == nil:
		httpx.WriteJSONNoStore(w, http.StatusAccepted, map[string]string{"uuid": user.String(), "status": "deleted"})
		return nil
	case errors.Is(err, authn.ErrBadCredentials):
		httpx.ErrorNoStore(w, http.StatusUnauthorized, "wrong password")
		return nil
	default:
		return h.failure(w, err)
	}
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*DeleteAccount)(nil)
	_ caddyhttp.MiddlewareHandler = (*DeleteAccount)(nil)
)
