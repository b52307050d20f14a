package allowmethods

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/caddysocial/platform/caddy-modules/internal/directive"
)

func init() {
	// Before authentication: a wrong method is 405 with or without a token.
	// The old name stays for one release, as a deprecated alias.
	directive.Register[Handler]("caddysocial_allow_methods", "allow_methods", httpcaddyfile.Before, "header")
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
