package l4lb

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Spec is one balancer as an operator writes it. Its keys are the same in a
// balancer's config.yaml and in the JSON of the layer4.handlers.caddysocial_balancer
// module, and both are checked by Spec.Settings alone, so a hand-written
// layer4 JSON config gets exactly the validation config.yaml gets:
//
//	name: user-lb                # the "lb" metrics label; default lb:<port> (config.yaml), "balancer" (JSON)
//	algorithm: roundrobin        # roundrobin | leastconn | hashing
//	backends: [user-service-1:5000, user-service-2:5000]
//	dns_backends: [user-service-headless:5000] # every address a name resolves to is a backend
//	dns_refresh: 5s              # how often dns_backends are resolved again
//	rate: 100                    # MB/s per connection and direction (10^6 bytes); 0 or absent = unlimited
//	health_check: {interval: 2s, timeout: 1s, fall: 3, rise: 2, type: tcp, path: /}
//	dial_timeout: 2s
//	drain_timeout: 10s           # at shutdown, how long established connections may finish
//	idle_timeout: 5m             # close a connection idle in both directions that long; absent = never
//	max_connections: 0           # per backend; a full backend is skipped like a down one; 0 = unlimited
type Spec struct {
	Name           string           `json:"name,omitempty" yaml:"name"`
	Algorithm      string           `json:"algorithm" yaml:"algorithm"`
	Backends       []string         `json:"backends,omitempty" yaml:"backends"`
	DNSBackends    []string         `json:"dns_backends,omitempty" yaml:"dns_backends"`
	DNSRefresh     string           `json:"dns_refresh,omitempty" yaml:"dns_refresh"`
	Rate           float64          `json:"rate,omitempty" yaml:"rate"`
	HealthCheck    *HealthCheckSpec `json:"health_check,omitempty" yaml:"health_check"`
	DialTimeout    string           `json:"dial_timeout,omitempty" yaml:"dial_timeout"`
	DrainTimeout   string           `json:"drain_timeout,omitempty" yaml:"drain_timeout"`
	IdleTimeout    string           `json:"idle_timeout,omitempty" yaml:"idle_timeout"`
	MaxConnections int64            `json:"max_connections,omitempty" yaml:"max_connections"`
}

// HealthCheckSpec is the health_check block; absent fields take the
// defaults of DefaultHealthCheck.
type HealthCheckSpec struct {
	Interval string `json:"interval,omitempty" yaml:"interval"`
	Timeout  string `json:"timeout,omitempty" yaml:"timeout"`
	Fall     *int   `json:"fall,omitempty" yaml:"fall"`
	Rise     *int   `json:"rise,omitempty" yaml:"rise"`
	Type     string `json:"type,omitempty" yaml:"type"`
	Path     string `json:"path,omitempty" yaml:"path"`
}

// Settings is a validated balancer with every default filled in.
type Settings struct {
	Name           string
	Algorithm      string
	Backends       []string
	DNSBackends    []string      // host:port; each address of host is a backend
	DNSRefresh     time.Duration // interval between resolutions of DNSBackends
	BytesPerSec    float64
	HealthCheck    HealthCheck
	DialTimeout    time.Duration
	DrainTimeout   time.Duration
	IdleTimeout    time.Duration // 0 = none
	MaxConnections int64         // 0 = unlimited
}

// Defaults for the optional settings.
const (
	DefaultDialTimeout  = 2 * time.Second
	DefaultDrainTimeout = 10 * time.Second
	DefaultName         = "balancer"
)

// DefaultDNSRefresh matches the 5s TTL Kubernetes' DNS gives the records of
// a headless Service's pods.
const DefaultDNSRefresh = 5 * time.Second

// Settings validates s and fills in defaults. Errors name the field.
func (s Spec) Settings() (Settings, error) {
	out := Settings{
		Name:           s.Name,
		Algorithm:      s.Algorithm,
		HealthCheck:    DefaultHealthCheck,
		MaxConnections: s.MaxConnections,
	}
	if out.Name == "" {
		out.Name = DefaultName
	}
	if _, err := NewSelector(s.Algorithm); err != nil {
		return out, fmt.Errorf("algorithm: %w", err)
	}
	if len(s.Backends) == 0 && len(s.DNSBackends) == 0 {
		return out, errors.New("backends: at least one backend (host:port) is required, in backends or dns_backends")
	}
	if err := checkBackendList("backends", s.Backends); err != nil {
		return out, err
	}
	if err := checkBackendList("dns_backends", s.DNSBackends); err != nil {
		return out, err
	}
	out.Backends, out.DNSBackends = s.Backends, s.DNSBackends
	var err error
	if s.DNSRefresh != "" && len(s.DNSBackends) == 0 {
		return out, errors.New("dns_refresh: set, but there are no dns_backends to resolve")
	}
	if out.DNSRefresh, err = duration("dns_refresh", s.DNSRefresh, DefaultDNSRefresh); err != nil {
		return out, err
	}
	if s.Rate < 0 {
		return out, fmt.Errorf("rate: must be 0 (unlimited) or a positive number of MB/s, got %v", s.Rate)
	}
	out.BytesPerSec = MBps(s.Rate)
	if s.MaxConnections < 0 {
		return out, fmt.Errorf("max_connections: must be 0 (unlimited) or positive, got %d", s.MaxConnections)
	}
	if out.DialTimeout, err = duration("dial_timeout", s.DialTimeout, DefaultDialTimeout); err != nil {
		return out, err
	}
	if out.DrainTimeout, err = duration("drain_timeout", s.DrainTimeout, DefaultDrainTimeout); err != nil {
		return out, err
	}
	if out.IdleTimeout, err = duration("idle_timeout", s.IdleTimeout, 0); err != nil {
		return out, err
	}
	if hc := s.HealthCheck; hc != nil {
		if out.HealthCheck, err = hc.settings(); err != nil {
			return out, err
		}
	}
	return out, nil
}

func (hc HealthCheckSpec) settings() (HealthCheck, error) {
	out := DefaultHealthCheck
	var err error
	if out.Interval, err = duration("health_check.interval", hc.Interval, out.Interval); err != nil {
		return out, err
	}
	if out.Timeout, err = duration("health_check.timeout", hc.Timeout, out.Timeout); err != nil {
		return out, err
	}
	if hc.Fall != nil {
		out.Fall = *hc.Fall
	}
	if hc.Rise != nil {
		out.Rise = *hc.Rise
	}
	if out.Fall < 1 {
		return out, fmt.Errorf("health_check.fall: must be at least 1, got %d", out.Fall)
	}
	if out.Rise < 1 {
		return out, fmt.Errorf("health_check.rise: must be at least 1, got %d", out.Rise)
	}
	switch hc.Type {
	case "", "tcp":
		out.Type = "tcp"
	case "http":
		out.Type = "http"
	default:
		return out, fmt.Errorf("health_check.type: must be tcp or http, got %q", hc.Type)
	}
	if hc.Path != "" {
		if !strings.HasPrefix(hc.Path, "/") {
			return out, fmt.Errorf("health_check.path: must start with /, got %q", hc.Path)
		}
		out.Path = hc.Path
	}
	return out, nil
}

// duration parses a positive duration; empty means def.
func duration(field, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: want a positive duration such as 2s or 500ms, got %q", field, s)
	}
	return d, nil
}

// checkBackendList checks that each entry is host:port and none is listed
// twice.
func checkBackendList(field string, list []string) error {
	seen := map[string]bool{}
	for i, b := range list {
		if err := checkHostPort(b); err != nil {
			return fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		if seen[b] {
			return fmt.Errorf("%s[%d]: %q is listed twice", field, i, b)
		}
		seen[b] = true
	}
	return nil
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("want host:port, got %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port of %q must be 1-65535", addr)
	}
	return nil
}
