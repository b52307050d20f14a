package gatewaymetrics

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/caddysocial/platform/caddy-modules/internal/directive"
)

func init() {
	// Outermost, so that the time of every other handler of the route counts.
	// The old name stays for one release, as a deprecated alias.
	directive.Register[Handler]("caddysocial_gateway_metrics", "gateway_metrics", httpcaddyfile.Before, "tracing")
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
