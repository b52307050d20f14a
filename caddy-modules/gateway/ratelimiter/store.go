package ratelimiter

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.uber.org/zap"

	"github.com/caddysocial/platform/caddy-modules/ratelimit"
)

// Store is the Valkey (or Redis 7) server that keeps a zone's budgets, so
// that every gateway instance enforces one limit per key.
type Store struct {
	// host:port, or a redis:// (rediss://) URL with user, password and
	// database, e.g. redis://:{env.VALKEY_PASSWORD}@valkey:6379/0.
	Address string `json:"address"`
	// Bounds one decision's round trip; a slower store is treated as down
	// and the local limiter decides. Default 50ms.
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// clients holds one connection pool per store address across config
// reloads and zones; the last user's Cleanup closes it.
var clients = caddy.NewUsagePool()

type client struct{ *redis.Client }

func (c client) Destruct() error { return c.Close() }

func (s *Store) timeout() time.Duration {
	if s.Timeout > 0 {
		return time.Duration(s.Timeout)
	}
	return ratelimit.DefaultStoreTimeout
}

func (s *Store) options() (*redis.Options, error) {
	var opt *redis.Options
	if strings.Contains(s.Address, "://") {
		var err error
		if opt, err = redis.ParseURL(s.Address); err != nil {
			return nil, fmt.Errorf("store address: %w", err)
		}
	} else {
		opt = &redis.Options{Addr: s.Address}
	}
	// The caller's deadline (the store timeout) bounds every call; a retry
	// could not fit in it, and the local limiter is the retry.
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	opt.DialTimeout = max(s.timeout(), 250*time.Millisecond)
	opt.PoolTimeout = s.timeout()
	// Fewer commands per new connection (CLIENT SETINFO is not in Redis 7.0;
	// maintenance notifications are a Redis Cloud feature).
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opt, nil
}

// go-redis logs through a process-wide logger, to stderr by default; ours
// goes to Caddy's log at debug level: the handler's warning says what an
// operator needs.
var routeRedisLog = sync.OnceFunc(func() {
	redis.SetLogger(redisLog{caddy.Log().Named("redis").Sugar()})
})

type redisLog struct{ l *zap.SugaredLogger }

func (r redisLog) Printf(_ context.Context, format string, v ...any) { r.l.Debugf(format, v...) }

// The fallback counter is process-wide and created once.
var fallbacks = sync.OnceValue(func() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_rate_limit_store_fallbacks_total",
		Help: "Rate-limit decisions made by the local limiter because the shared store (Valkey) did not answer in time, by zone.",
	}, []string{"zone"})
})

// warnEvery spaces the warnings of one zone while its store is down.
const warnEvery = 10 * time.Second

// storeWarner logs at most one warning per warnEvery, and one line when the
// store answers again.
type storeWarner struct {
	logger *zap.Logger
	last   atomic.Int64 // unix nanoseconds of the last warning
	down   atomic.Bool
}

func (w *storeWarner) answered(zone string) {
	if w.down.Load() && w.down.CompareAndSwap(true, false) {
		w.logger.Info("rate limit store answers again; limits are shared", zap.String("zone", zone))
	}
}

func (w *storeWarner) warn(zone string, err error) {
	w.down.Store(true)
	now := time.Now().UnixNano()
	last := w.last.Load()
	if now-last < int64(warnEvery) || !w.last.CompareAndSwap(last, now) {
		return
	}
	w.logger.Warn("rate limit store unavailable; the local limiter decides until it answers",
		zap.String("zone", zone), zap.Error(err))
}
