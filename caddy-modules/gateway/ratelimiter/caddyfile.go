package ratelimiter

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("caddysocial_rate_limit", parseCaddyfile)
	// After caddysocial_jwt_auth (ordered before basic_auth), which sets
	// {http.auth.user.id}; before the handlers that do the work (caddysocial_auth_login,
	// reverse_proxy, ...).
	httpcaddyfile.RegisterDirectiveOrder("caddysocial_rate_limit", httpcaddyfile.After, "basic_auth")
}

const usage = "usage: caddysocial_rate_limit <key> <events>/<window> [burst <n>] [{ name <policy>; max_keys <n> }]"

// parseCaddyfile parses
//
//	caddysocial_rate_limit <key> <events>/<window> [burst <n>] {
//	    name     <policy>   # in the RateLimit headers; default "default"
//	    max_keys <n>        # keys tracked at most; default 65536
//	}
//
// for example `caddysocial_rate_limit {http.auth.user.id} 600/1m burst 100`.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	h.Next()
	args := h.RemainingArgs()
	if len(args) != 2 && (len(args) != 4 || args[2] != "burst") {
		return nil, h.Err(usage)
	}
	handler := &Handler{Key: args[0]}
	events, window, ok := strings.Cut(args[1], "/")
	var err error
	if handler.Events, err = strconv.Atoi(events); !ok || err != nil || handler.Events <= 0 {
		return nil, h.Errf("caddysocial_rate_limit: %q: want <events>/<window>, e.g. 600/1m", args[1])
	}
	d, err := caddy.ParseDuration(window)
	if err != nil {
		return nil, h.Errf("caddysocial_rate_limit: window %q: %v", window, err)
	}
	handler.Window = caddy.Duration(d)
	if len(args) == 4 {
		if handler.Burst, err = strconv.Atoi(args[3]); err != nil || handler.Burst <= 0 {
			return nil, h.Errf("caddysocial_rate_limit: burst %q: want a positive number", args[3])
		}
	}
	for h.NextBlock(0) {
		opt := h.Val()
		var val string
		if !h.AllArgs(&val) {
			return nil, h.ArgErr()
		}
		switch opt {
		case "name":
			handler.Name = val
		case "max_keys":
			if handler.MaxKeys, err = strconv.Atoi(val); err != nil || handler.MaxKeys <= 0 {
				return nil, h.Errf("caddysocial_rate_limit: max_keys %q: want a positive number", val)
			}
		default:
			return nil, h.Errf("caddysocial_rate_limit: unknown option %q", opt)
		}
	}
	return handler, nil
}
