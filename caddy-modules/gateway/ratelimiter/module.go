// Package ratelimiter is the http.handlers.caddysocial_rate_limit Caddy handler: a
// per-client request limit (package ratelimit) on a route, keyed by any
// placeholder, e.g. {client_ip} or {http.auth.user.id} (set by caddysocial_jwt_auth).
//
// Every response of the route carries the RateLimit-Policy and RateLimit
// headers of draft-ietf-httpapi-ratelimit-headers-11:
//
//	RateLimit-Policy: "user";q=600;w=60
//	RateLimit: "user";r=99;t=1
//
// q/w is the policy (events per window, in seconds), r the requests the
// client may still send at once, t the seconds until r grows. Over the
// limit: 429 {"error": ...} with Retry-After (= t) and the counter
// gateway_rate_limited_total{endpoint}.
//
// The buckets live in a caddy.UsagePool keyed by the policy's definition,
// so a `caddy reload` that keeps a caddysocial_rate_limit unchanged keeps its state, and
// every route that uses the same definition shares one budget per client.
//
// With a store (Valkey or Redis 7), the budgets live there instead, shared
// by every gateway instance: one atomic round trip per decision
// (ratelimit.Shared). A store that does not answer within its timeout never
// fails a request: the zone's local limiter decides (fail open to local),
// gateway_rate_limit_store_fallbacks_total{zone} counts it, a warning is
// logged at most every 10s (an info line when it answers again), and the
// store is asked again a second later.
// The connection pool is shared by every zone and config that name the same
// address, and closed by the Cleanup of the last one.
package ratelimiter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/caddysocial/platform/caddy-modules/gateway/gatewaymetrics"
	"github.com/caddysocial/platform/caddy-modules/internal/promreg"
	"github.com/caddysocial/platform/caddy-modules/ratelimit"
	"github.com/caddysocial/platform/svckit/httpx"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// zones holds the limiters across config reloads.
var zones = caddy.NewUsagePool()

type zone struct{ *ratelimit.Limiter }

func (zone) Destruct() error { return nil }

// The counter is process-wide and created once, like caddysocial_gateway_metrics'.
var limited = sync.OnceValue(func() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_rate_limited_total",
		Help: "Requests refused with 429 by a gateway rate limit, by route template.",
	}, []string{"endpoint"})
})

// Handler limits the requests of each key.
type Handler struct {
	// The client's key: a placeholder such as {http.vars.client_ip} or
	// {http.auth.user.id}. A request whose key is empty is not limited.
	Key string `json:"key"`
	// Events per Window, bursts of up to Burst (default Events).
	Events int            `json:"events"`
	Window caddy.Duration `json:"window"`
	Burst  int            `json:"burst,omitempty"`
	// The policy's name in the RateLimit headers. Default "default".
	Name string `json:"name,omitempty"`
	// Keys tracked at most (least recently seen forgotten first). Default
	// ratelimit.DefaultMaxKeys.
	MaxKeys int `json:"max_keys,omitempty"`
	// Keep the budgets in Valkey, shared by every gateway instance. Without
	// it, each instance has its own.
	Store *Store `json:"store,omitempty"`

	zoneKey   string
	limiter   *ratelimit.Limiter
	storeKey  string
	shared    *ratelimit.Shared
	storeWarn *storeWarner
	policy    string // the RateLimit-Policy value
	// The placeholder's name when Key is one placeholder and nothing else
	// (the usual case): looked up directly, without parsing Key per request.
	keyVar string
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.caddysocial_rate_limit", New: func() caddy.Module { return new(Handler) }}
}

func (h *Handler) ratePolicy() ratelimit.Policy {
	return ratelimit.Policy{Events: h.Events, Window: time.Duration(h.Window), Burst: h.Burst, MaxKeys: h.MaxKeys}
}

// Provision takes the limiter of this definition from the pool, creating it
// on first use, and registers the counter.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if h.Name == "" {
		h.Name = "default"
	}
	if err := promreg.Register(ctx.GetMetricsRegistry(), limited()); err != nil {
		return fmt.Errorf("caddysocial_rate_limit: register metrics: %w", err)
	}
	p := h.ratePolicy()
	h.zoneKey = fmt.Sprintf("%q|%q|%d|%d|%d|%d", h.Name, h.Key, p.Events, p.Window, p.Burst, p.MaxKeys)
	val, _, err := zones.LoadOrNew(h.zoneKey, func() (caddy.Destructor, error) {
		l, err := ratelimit.New(p)
		if err != nil {
			return nil, err
		}
		return zone{l}, nil
	})
	if err != nil {
		h.zoneKey = ""
		return fmt.Errorf("caddysocial_rate_limit: %w", err)
	}
	h.limiter = val.(zone).Limiter
	if h.Store != nil {
		if err := h.provisionStore(ctx, p); err != nil {
			return fmt.Errorf("caddysocial_rate_limit: %w", err)
		}
	}
	h.policy = fmt.Sprintf("%q;q=%d;w=%d", h.Name, p.Events, int64(p.Window/time.Second))
	if inner, ok := strings.CutPrefix(h.Key, "{"); ok && strings.HasSuffix(inner, "}") &&
		!strings.ContainsAny(inner[:len(inner)-1], "{}") {
		h.keyVar = inner[:len(inner)-1]
	}
	return nil
}

// provisionStore takes the store's client from the pool and puts the zone's
// budgets in it, under a key naming the zone and its policy: a reload that
// changes the policy starts fresh budgets instead of reading old ones.
func (h *Handler) provisionStore(ctx caddy.Context, p ratelimit.Policy) error {
	if err := promreg.Register(ctx.GetMetricsRegistry(), fallbacks()); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	routeRedisLog()
	opt, err := h.Store.options()
	if err != nil {
		return err
	}
	val, _, err := clients.LoadOrNew(h.Store.Address, func() (caddy.Destructor, error) {
		return client{redis.NewClient(opt)}, nil
	})
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	h.storeKey = h.Store.Address
	burst := p.Burst
	if burst == 0 {
		burst = p.Events
	}
	prefix := fmt.Sprintf("caddysocial_rate_limit:%s:%d/%ds/%d:", h.Name, p.Events, int64(p.Window/time.Second), burst)
	h.shared = ratelimit.NewShared(h.limiter, val.(client).Client, prefix)
	h.shared.Timeout = h.Store.timeout()
	h.storeWarn = &storeWarner{logger: h.logger}
	return nil
}

// Validate checks what Provision cannot default.
func (h *Handler) Validate() error {
	if h.Key == "" {
		return errors.New("caddysocial_rate_limit: a key is required")
	}
	if h.Store != nil && h.Store.Address == "" {
		return errors.New("caddysocial_rate_limit: store: an address is required")
	}
	if !validName(h.Name) {
		return fmt.Errorf("caddysocial_rate_limit: name %q: use letters, digits, '-' and '_'", h.Name)
	}
	return nil
}

// Cleanup releases this config's reference to the limiter.
func (h *Handler) Cleanup() error {
	var errs []error
	if h.storeKey != "" {
		if _, err := clients.Delete(h.storeKey); err != nil {
			errs = append(errs, fmt.Errorf("caddysocial_rate_limit: release store client: %w", err))
		}
	}
	if h.zoneKey != "" {
		if _, err := zones.Delete(h.zoneKey); err != nil {
			errs = append(errs, fmt.Errorf("caddysocial_rate_limit: release limiter: %w", err))
		}
	}
	return errors.Join(errs...)
}

// allow decides through the store when there is one.
func (h *Handler) allow(ctx context.Context, key string) ratelimit.Decision {
	if h.shared == nil {
		return h.limiter.Allow(key)
	}
	d, err := h.shared.Allow(ctx, key)
	switch {
	case err == nil:
		h.storeWarn.answered(h.Name)
	case errors.Is(err, ratelimit.ErrStoreBackoff):
		fallbacks().WithLabelValues(h.Name).Inc()
	default:
		fallbacks().WithLabelValues(h.Name).Inc()
		h.storeWarn.warn(h.Name, err)
	}
	return d
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	key := ""
	switch {
	case repl == nil:
	case h.keyVar != "":
		key, _ = repl.GetString(h.keyVar)
	default:
		key = repl.ReplaceAll(h.Key, "")
	}
	if key == "" {
		// Misordered directives (before caddysocial_jwt_auth) would land here; sharing
		// one bucket among everyone would be worse than not limiting.
		h.logger.Debug("rate limit key is empty; request not limited", zap.String("key", h.Key))
		return next.ServeHTTP(w, r)
	}
	d := h.allow(r.Context(), key)
	t := seconds(d.UntilNext)
	// Assigned in canonical form: Header.Set would canonicalize the names on
	// every request of every limited route.
	hdr := w.Header()
	hdr[policyHeader] = []string{h.policy}
	buf := make([]byte, 0, 48)
	buf = strconv.AppendQuote(buf, h.Name)
	buf = append(buf, ";r="...)
	buf = strconv.AppendInt(buf, int64(d.Remaining), 10)
	buf = append(buf, ";t="...)
	buf = strconv.AppendInt(buf, t, 10)
	hdr[rateLimitHeader] = []string{string(buf)}
	if d.Allowed {
		return next.ServeHTTP(w, r)
	}
	limited().WithLabelValues(gatewaymetrics.EndpointOf(r)).Inc()
	hdr.Set("Retry-After", strconv.FormatInt(max(t, 1), 10))
	httpx.ErrorNoStore(w, http.StatusTooManyRequests, "rate limit exceeded")
	return nil
}

var (
	policyHeader    = http.CanonicalHeaderKey("RateLimit-Policy")
	rateLimitHeader = http.CanonicalHeaderKey("RateLimit")
)

// seconds rounds up: a client that waits this long finds the token there.
func seconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
