// Package allowmethods is the http.handlers.caddysocial_allow_methods Caddy handler: a
// request whose method is not listed gets 405 with an Allow header and the
// gateway's JSON error body; others go on down the route.
//
// Caddy's own matchers can route by method, but a 405 with an exact Allow
// header per route would need a named matcher, a header and a respond per
// route; one directive keeps the Caddyfile's routing table readable.
package allowmethods

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddysocial/platform/svckit/httpx"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler rejects methods not in Methods.
type Handler struct {
	Methods []string `json:"methods"`

	allow string
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.caddysocial_allow_methods", New: func() caddy.Module { return new(Handler) }}
}

// Provision builds the Allow header value.
func (h *Handler) Provision(caddy.Context) error {
	for i, m := range h.Methods {
		h.Methods[i] = strings.ToUpper(m)
	}
	h.allow = strings.Join(h.Methods, ", ")
	return nil
}

// Validate requires at least one method.
func (h *Handler) Validate() error {
	if len(h.Methods) == 0 {
		return errors.New("caddysocial_allow_methods: at least one method is required")
	}
	return nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if slices.Contains(h.Methods, r.Method) {
		return next.ServeHTTP(w, r)
	}
	w.Header().Set("Allow", h.allow)
	httpx.ErrorNoStore(w, http.StatusMethodNotAllowed, "method not allowed")
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
