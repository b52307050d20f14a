package ratelimiter

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/caddysocial/platform/caddy-modules/internal/directive"
)

func init() {
	// After caddysocial_jwt_auth (ordered before basic_auth), which sets
	// {http.auth.user.id}; before the handlers that do the work
	// (caddysocial_auth_login, reverse_proxy, ...). No alias for the old
	// name rate_limit: it is caddy-ratelimit's directive, and the clash is
	// what the caddysocial_ prefix removes.
	directive.Register[Handler]("caddysocial_rate_limit", "", httpcaddyfile.After, "basic_auth")
}

const usage = "usage: caddysocial_rate_limit <key> <events>/<window> [burst <n>] [{ name <policy>; max_keys <n>; store valkey <address> }]"

// UnmarshalCaddyfile sets up the handler from
//
//	caddysocial_rate_limit <key> <events>/<window> [burst <n>] {
//	    name     <policy>   # in the RateLimit headers; default "default"
//	    max_keys <n>        # keys tracked at most; default 65536
//	    store valkey <address> {   # budgets shared by every instance
//	        timeout <duration>     # per decision; default 50ms
//	    }
//	}
//
// for example `caddysocial_rate_limit {http.auth.user.id} 600/1m burst 100`.
// The store's address is host:port or a redis:// URL; `redis` is accepted
// for `valkey` (same protocol).
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	args := d.RemainingArgs()
	if len(args) != 2 && (len(args) != 4 || args[2] != "burst") {
		return d.Err(usage)
	}
	h.Key = args[0]
	events, window, ok := strings.Cut(args[1], "/")
	var err error
	if h.Events, err = strconv.Atoi(events); !ok || err != nil || h.Events <= 0 {
		return d.Errf("caddysocial_rate_limit: %q: want <events>/<window>, e.g. 600/1m", args[1])
	}
	w, err := caddy.ParseDuration(window)
	if err != nil {
		return d.Errf("caddysocial_rate_limit: window %q: %v", window, err)
	}
	h.Window = caddy.Duration(w)
	if len(args) == 4 {
		if h.Burst, err = strconv.Atoi(args[3]); err != nil || h.Burst <= 0 {
			return d.Errf("caddysocial_rate_limit: burst %q: want a positive number", args[3])
		}
	}
	for d.NextBlock(0) {
		opt := d.Val()
		if opt == "store" {
			if err := h.unmarshalStore(d); err != nil {
				return err
			}
			continue
		}
		var val string
		if !d.AllArgs(&val) {
			return d.ArgErr()
		}
		switch opt {
		case "name":
			h.Name = val
		case "max_keys":
			if h.MaxKeys, err = strconv.Atoi(val); err != nil || h.MaxKeys <= 0 {
				return d.Errf("caddysocial_rate_limit: max_keys %q: want a positive number", val)
			}
		default:
			return d.Errf("caddysocial_rate_limit: unknown option %q", opt)
		}
	}
	return nil
}

// unmarshalStore reads `store valkey <address> [{ timeout <duration> }]`.
func (h *Handler) unmarshalStore(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) != 2 || args[1] == "" {
		return d.Errf("caddysocial_rate_limit: want store valkey <address>, got %d argument(s)", len(args))
	}
	if args[0] != "valkey" && args[0] != "redis" {
		return d.Errf("caddysocial_rate_limit: store %q: want valkey", args[0])
	}
	if h.Store != nil {
		return d.Err("caddysocial_rate_limit: store given twice")
	}
	h.Store = &Store{Address: args[1]}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "timeout":
			var val string
			if !d.AllArgs(&val) {
				return d.ArgErr()
			}
			t, err := caddy.ParseDuration(val)
			if err != nil || t <= 0 {
				return d.Errf("caddysocial_rate_limit: store timeout %q: want a positive duration", val)
			}
			h.Store.Timeout = caddy.Duration(t)
		default:
			return d.Errf("caddysocial_rate_limit: unknown store option %q", d.Val())
		}
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
