package jwtauth

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddysocial/platform/caddy-modules/internal/deprecated"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("caddysocial_jwt_auth", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("caddysocial_jwt_auth", httpcaddyfile.Before, "basic_auth")
	// One release of grace for the name before the caddysocial_ prefix.
	deprecated.HandlerDirective("jwt_auth", "caddysocial_jwt_auth", parseCaddyfile, httpcaddyfile.Before, "basic_auth")
}

// parseCaddyfile only delegates to UnmarshalCaddyfile, as Caddy's own
// directives do.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile checks the directive, which takes no arguments (the
// keys are the caddysocial_auth global option's):
//
//	caddysocial_jwt_auth
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() || d.NextBlock(0) {
		return d.Err("caddysocial_jwt_auth takes no arguments; configure the keys in the global caddysocial_auth option")
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
