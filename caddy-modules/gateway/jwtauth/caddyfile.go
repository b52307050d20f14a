package jwtauth

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/caddysocial/platform/caddy-modules/internal/directive"
)

func init() {
	// Before basic_auth, where Caddy puts authentication.
	// The old name stays for one release, as a deprecated alias.
	directive.Register[Handler]("caddysocial_jwt_auth", "jwt_auth", httpcaddyfile.Before, "basic_auth")
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
