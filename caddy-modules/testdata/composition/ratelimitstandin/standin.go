// Package standin registers what github.com/mholt/caddy-ratelimit
// registers: the module http.handlers.rate_limit and the Caddyfile
// directive rate_limit, without a directive order (like caddy-ratelimit,
// a Caddyfile must `order rate_limit before basic_auth`). Its limit is
// deliberately simple, a count of requests per process:
//
//	rate_limit <events>
//
// lets <events> requests through, then answers 429 with
// X-Standin-Rate-Limit: exceeded; every response it passes carries
// X-Standin-Rate-Limit: ok.
package standin

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("rate_limit", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(Handler)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// Handler lets Events requests through, then refuses.
type Handler struct {
	Events int64 `json:"events"`

	seen atomic.Int64
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.rate_limit", New: func() caddy.Module { return new(Handler) }}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.seen.Add(1) > h.Events {
		w.Header().Set("X-Standin-Rate-Limit", "exceeded")
		return caddyhttp.Error(http.StatusTooManyRequests, nil)
	}
	w.Header().Set("X-Standin-Rate-Limit", "ok")
	return next.ServeHTTP(w, r)
}

// UnmarshalCaddyfile parses `rate_limit <events>`.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	var events string
	if !d.AllArgs(&events) {
		return d.ArgErr()
	}
	n, err := strconv.ParseInt(events, 10, 64)
	if err != nil || n < 0 {
		return d.Errf("rate_limit: events %q: want a number", events)
	}
	h.Events = n
	return nil
}

var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)
