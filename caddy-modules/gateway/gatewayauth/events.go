package gatewayauth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/caddysocial/platform/caddy-modules/authstore"
	"github.com/caddysocial/platform/caddy-modules/internal/promreg"
	"github.com/caddysocial/platform/caddy-modules/revocation"
	"github.com/caddysocial/platform/svckit/events"
)

// DefaultRevocationInterval is how often a gateway reads new account
// deletions from auth-db: a deleted account's tokens get 401 on every
// gateway within about this long (SPEC.md section 7 wants 1 s).
const DefaultRevocationInterval = 250 * time.Millisecond

// background is what runs beside the gateway for one auth-db (and NATS): the
// revocation list and the outbox relay. It lives in a UsagePool so a config
// reload with the same settings keeps it (one relay, one poller per process)
// instead of starting a second.
var background = caddy.NewUsagePool()

type backgroundHandle struct {
	revoked *revocation.List
	relay   *events.Relay // nil without NATS
	cancel  context.CancelFunc
	wg      *sync.WaitGroup
	bus     *events.Bus
}

func (b backgroundHandle) Destruct() error {
	b.cancel()
	b.wg.Wait()
	if b.bus != nil {
		b.bus.Close()
	}
	return nil
}

// relayMetrics are process-wide (a reload's registry gets the same ones).
var relayMetrics = sync.OnceValue(func() *events.RelayMetrics { return events.NewRelayMetrics(nil) })

// startBackground gets (or starts) the revocation list and relay of this
// app's auth-db and NATS.
func (a *App) startBackground(ctx caddy.Context, pool *pgxpool.Pool, store *authstore.Store) (*revocation.List, error) {
	m := relayMetrics()
	if err := promreg.Register(ctx.GetMetricsRegistry(), m.Collectors()...); err != nil {
		return nil, fmt.Errorf("caddysocial_auth: %w", err)
	}
	interval := time.Duration(a.RevocationInterval)
	if interval <= 0 {
		interval = DefaultRevocationInterval
	}
	// Revocations are kept twice the token lifetime: longer than any token
	// issued under this config lives.
	keep := 2 * time.Duration(a.TokenTTL)
	a.backgroundKey = fmt.Sprintf("%s|%s|%s", a.poolKey, a.NATSURL, interval)
	val, _, err := background.LoadOrNew(a.backgroundKey, func() (caddy.Destructor, error) {
		log := ctx.Slogger()
		bctx, cancel := context.WithCancel(context.Background())
		h := backgroundHandle{cancel: cancel, wg: &sync.WaitGroup{}}
		h.revoked = revocation.New(store, interval, keep, log)
		// A first read before serving, so a restarted gateway does not accept
		// a deleted account's token (if auth-db answers now).
		if err := h.revoked.Poll(bctx); err != nil {
			a.logger.Warn("auth-db not reachable; revoked tokens are refused once it is", zap.Error(err))
		}
		h.wg.Go(func() { h.revoked.Run(bctx) })
		if a.NATSURL != "" {
			bus, err := events.Connect(a.NATSURL, "gateway", log)
			if err != nil {
				cancel()
				return nil, fmt.Errorf("auth: nats_url: %w", err)
			}
			h.bus = bus
			h.relay = events.NewRelay(pool, bus, log, m)
			h.wg.Go(func() { h.relay.Run(bctx) })
		} else {
			a.logger.Info("no nats_url: accounts.deleted events wait in auth-db's outbox")
		}
		return h, nil
	})
	if err != nil {
		a.backgroundKey = ""
		return nil, err
	}
	h := val.(backgroundHandle)
	a.relay = h.relay
	return h.revoked, nil
}
