package gatewaymetrics

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddysocial/platform/caddy-modules/internal/deprecated"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("caddysocial_gateway_metrics", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("caddysocial_gateway_metrics", httpcaddyfile.Before, "tracing")
	// One release of grace for the name before the caddysocial_ prefix.
	deprecated.HandlerDirective("gateway_metrics", "caddysocial_gateway_metrics", parseCaddyfile, httpcaddyfile.Before, "tracing")
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
//	caddysocial_gateway_metrics endpoint <label>
//
// The keyword is needed because Caddy reads a first argument that starts
// with "/" as a path matcher.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	var keyword string
	if !d.AllArgs(&keyword, &h.Endpoint) || keyword != "endpoint" {
		return d.Err(`usage: caddysocial_gateway_metrics endpoint <label> (the route template, or "unmatched")`)
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
