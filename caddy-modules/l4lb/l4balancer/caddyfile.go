package l4balancer

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens, inside
// caddy-l4's `layer4` global option. The subdirectives are config.yaml's
// keys; values are checked at provisioning, as for JSON:
//
//	balancer [<backends...>] {
//		name            <name>
//		algorithm       roundrobin|leastconn|hashing
//		backends        <host:port...>
//		dns_backends    <host:port...>
//		dns_refresh     <duration>
//		rate            <MB/s>
//		dial_timeout    <duration>
//		drain_timeout   <duration>
//		idle_timeout    <duration>
//		max_connections <n>
//		health_check {
//			type     tcp|http
//			path     <path>
//			interval <duration>
//			timeout  <duration>
//			fall     <n>
//			rise     <n>
//		}
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the handler's name
	h.Backends = append(h.Backends, d.RemainingArgs()...)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		if key == "health_check" {
			if d.NextArg() {
				return d.ArgErr()
			}
			if err := h.unmarshalHealthCheck(d); err != nil {
				return err
			}
			continue
		}
		if key == "backends" || key == "dns_backends" {
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			if key == "backends" {
				h.Backends = append(h.Backends, args...)
			} else {
				h.DNSBackends = append(h.DNSBackends, args...)
			}
			continue
		}
		var val string
		if !d.Args(&val) || d.NextArg() {
			return d.ArgErr()
		}
		switch key {
		case "name":
			h.Name = val
		case "algorithm":
			h.Algorithm = val
		case "rate":
			rate, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return d.Errf("rate: want MB/s, got %q", val)
			}
			h.Rate = rate
		case "dns_refresh":
			h.DNSRefresh = val
		case "dial_timeout":
			h.DialTimeout = val
		case "drain_timeout":
			h.DrainTimeout = val
		case "idle_timeout":
			h.IdleTimeout = val
		case "max_connections":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return d.Errf("max_connections: want a number, got %q", val)
			}
			h.MaxConnections = n
		default:
			return d.Errf("unknown subdirective %q", key)
		}
	}
	return nil
}

func (h *Handler) unmarshalHealthCheck(d *caddyfile.Dispenser) error {
	hc := &l4lb.HealthCheckSpec{}
	h.HealthCheck = hc
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		var val string
		if !d.Args(&val) || d.NextArg() {
			return d.ArgErr()
		}
		switch key {
		case "type":
			hc.Type = val
		case "path":
			hc.Path = val
		case "interval":
			hc.Interval = val
		case "timeout":
			hc.Timeout = val
		case "fall", "rise":
			n, err := strconv.Atoi(val)
			if err != nil {
				return d.Errf("health_check.%s: want a number, got %q", key, val)
			}
			if key == "fall" {
				hc.Fall = &n
			} else {
				hc.Rise = &n
			}
		default:
			return d.Errf("unknown health_check subdirective %q", key)
		}
	}
	return nil
}

var _ caddyfile.Unmarshaler = (*Handler)(nil)
