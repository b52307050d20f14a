package allowmethods

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddysocial/platform/caddy-modules/internal/deprecated"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("caddysocial_allow_methods", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("caddysocial_allow_methods", httpcaddyfile.Before, "header")
	// One release of grace for the name before the caddysocial_ prefix.
	deprecated.HandlerDirective("allow_methods", "caddysocial_allow_methods", parseCaddyfile, httpcaddyfile.Before, "header")
}

// parseCaddyfile only delegates to UnmarshalCaddyfile, as Caddy's own
// directives do.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from
//
//	caddysocial_allow_methods <method...>
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	h.Methods = d.RemainingArgs()
	if len(h.Methods) == 0 {
		return d.ArgErr()
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
