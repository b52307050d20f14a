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
	"github.com/caddysocial/platform/caddy-modules/internal/jsonresp"
	"github.com/caddysocial/platform/svckit/events"
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
type DeleteAccount struct {
	endpoint
	relay *events.Relay
}

// CaddyModule returns the Caddy module information.
func (DeleteAccount) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.caddysocial_account_delete", New: func() caddy.Module { return new(DeleteAccount) }}
}

// Provision gets the auth app.
func (h *DeleteAccount) Provision(ctx caddy.Context) error {
	if err := h.provision(ctx, "caddysocial_account_delete"); err != nil {
		return err
	}
	app, _ := ctx.App("caddysocial_auth") // provision loaded it
	h.relay = app.(*App).Relay()
	return nil
}

func (h *DeleteAccount) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	user, err := uuid.Parse(r.Header.Get("X-User-ID"))
	if err != nil {
		// Only a misconfigured route (no caddysocial_jwt_auth before) gets here.
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		return jsonresp.Error(w, http.StatusUnauthorized, "missing bearer token")
	}
	var body struct {
		Password *string `json:"password"`
	}
	if !h.readJSON(w, r, http.MethodDelete, &body) {
		return nil
	}
	if body.Password == nil {
		return jsonresp.Error(w, http.StatusBadRequest, "password is required")
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestDeadline)
	defer cancel()
	err = h.service.DeleteAccount(ctx, user.String(), *body.Password)
	if lim, limited := errors.AsType[*authn.LimitError](err); limited {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(lim.RetryAfter.Seconds()))))
		return jsonresp.Error(w, http.StatusTooManyRequests, lim.Reason)
	}
	switch {
	case err == nil:
		h.relay.Kick()
		return jsonresp.Write(w, http.StatusAccepted, map[string]string{"uuid": user.String(), "status": "deleted"})
	case errors.Is(err, authn.ErrBadCredentials):
		return jsonresp.Error(w, http.StatusUnauthorized, "wrong password")
	default:
		return h.failure(w, err)
	}
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*DeleteAccount)(nil)
	_ caddyhttp.MiddlewareHandler = (*DeleteAccount)(nil)
)
