package l4lb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FileConfig is the config.yaml of one balancer (SPEC.md section 4):
//
//	port: 9001
//	algorithm: roundrobin        # roundrobin | leastconn | hashing
//	backends: [user-service-1:5000, user-service-2:5000]
//	rate: 100                    # MB/s per connection and direction (10^6 bytes); 0 or absent = unlimited
//	health_check: {interval: 2s, timeout: 1s, fall: 3, rise: 2, type: tcp, path: /}
//	metrics_port: 9100           # Prometheus /metrics over plain HTTP; 0 = none
//	name: user-lb                # the "lb" metrics label; default lb:<port>
//	dial_timeout: 2s
//	drain_timeout: 10s           # at shutdown, how long established connections may finish
//	admin: localhost:2019        # Caddy's admin endpoint (for `caddy reload`); "off" disables it
type FileConfig struct {
	Port         int              `yaml:"port"`
	Algorithm    string           `yaml:"algorithm"`
	Backends     []string         `yaml:"backends"`
	Rate         float64          `yaml:"rate"`
	HealthCheck  *FileHealthCheck `yaml:"health_check"`
	MetricsPort  *int             `yaml:"metrics_port"`
	Name         string           `yaml:"name"`
	DialTimeout  string           `yaml:"dial_timeout"`
	DrainTimeout string           `yaml:"drain_timeout"`
	Admin        string           `yaml:"admin"`
}

// FileHealthCheck is the health_check block; absent fields take the defaults.
type FileHealthCheck struct {
	Interval string `yaml:"interval"`
	Timeout  string `yaml:"timeout"`
	Fall     *int   `yaml:"fall"`
	Rise     *int   `yaml:"rise"`
	Type     string `yaml:"type"`
	Path     string `yaml:"path"`
}

// Settings is a validated configuration with every default filled in.
type Settings struct {
	Port         int
	Name         string
	Algorithm    string
	Backends     []string
	RateMBps     float64
	HealthCheck  HealthCheck
	MetricsPort  int
	DialTimeout  time.Duration
	DrainTimeout time.Duration
	Admin        string
}

// Defaults for the optional settings.
const (
	DefaultMetricsPort  = 9100
	DefaultDialTimeout  = 2 * time.Second
	DefaultDrainTimeout = 10 * time.Second
	DefaultAdmin        = "localhost:2019"
)

// ParseFile decodes and validates config.yaml. Errors name the offending
// field; unknown keys are errors (a typo must not silently fall back to a
// default).
func ParseFile(data []byte) (Settings, error) {
	var fc FileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil {
		if errors.Is(err, io.EOF) {
			return Settings{}, errors.New("config is empty: port, algorithm and backends are required")
		}
		return Settings{}, fmt.Errorf("config: %s", friendlyYAMLError(err))
	}
	return fc.Settings()
}

// friendlyYAMLError rewrites yaml.v3's "field x not found in type ..." as
// "unknown key x".
func friendlyYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	if i := strings.Index(msg, "field "); i >= 0 {
		if j := strings.Index(msg[i:], " not found in type"); j >= 0 {
			return msg[:i] + "unknown key " + strconv.Quote(msg[i+len("field "):i+j])
		}
	}
	return msg
}

// Settings validates fc and fills in defaults.
func (fc FileConfig) Settings() (Settings, error) {
	s := Settings{
		Port:        fc.Port,
		Name:        fc.Name,
		Algorithm:   fc.Algorithm,
		RateMBps:    fc.Rate,
		HealthCheck: DefaultHealthCheck,
		MetricsPort: DefaultMetricsPort,
		Admin:       fc.Admin,
	}
	if fc.Port < 1 || fc.Port > 65535 {
		return s, fmt.Errorf("port: must be 1-65535, got %d", fc.Port)
	}
	if s.Name == "" {
		s.Name = Label(fc.Port)
	}
	if _, err := NewSelector(fc.Algorithm); err != nil {
		return s, fmt.Errorf("algorithm: %w", err)
	}
	if len(fc.Backends) == 0 {
		return s, errors.New("backends: at least one backend (host:port) is required")
	}
	seen := map[string]bool{}
	for i, b := range fc.Backends {
		if err := checkHostPort(b); err != nil {
			return s, fmt.Errorf("backends[%d]: %w", i, err)
		}
		if seen[b] {
			return s, fmt.Errorf("backends[%d]: %q is listed twice", i, b)
		}
		seen[b] = true
	}
	s.Backends = fc.Backends
	if fc.Rate < 0 {
		return s, fmt.Errorf("rate: must be 0 (unlimited) or a positive number of MB/s, got %v", fc.Rate)
	}
	if fc.MetricsPort != nil {
		s.MetricsPort = *fc.MetricsPort
	}
	if s.MetricsPort < 0 || s.MetricsPort > 65535 {
		return s, fmt.Errorf("metrics_port: must be 0 (none) or 1-65535, got %d", s.MetricsPort)
	}
	if s.MetricsPort == s.Port {
		return s, fmt.Errorf("metrics_port: must differ from port (%d)", s.Port)
	}
	var err error
	if s.DialTimeout, err = duration("dial_timeout", fc.DialTimeout, DefaultDialTimeout); err != nil {
		return s, err
	}
	if s.DrainTimeout, err = duration("drain_timeout", fc.DrainTimeout, DefaultDrainTimeout); err != nil {
		return s, err
	}
	if s.Admin == "" {
		s.Admin = DefaultAdmin
	}
	if hc := fc.HealthCheck; hc != nil {
		if s.HealthCheck, err = hc.settings(); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (hc FileHealthCheck) settings() (HealthCheck, error) {
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
