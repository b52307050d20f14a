// Package promreg registers process-wide Prometheus collectors into a Caddy
// config's registry.
//
// Caddy gives every config load a fresh registry (ctx.GetMetricsRegistry),
// while our collectors are created once per process so that counters keep
// counting across `caddy reload`. Registering them into each new registry
// is therefore expected to meet collectors that are there already (two
// modules of one config sharing them): that is not an error.
package promreg

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Register adds each collector to reg, accepting one that is registered
// already; any other registration error (a clash of names or labels with
// a different collector) is returned.
func Register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			if _, dup := errors.AsType[prometheus.AlreadyRegisteredError](err); !dup {
				return fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return nil
}
