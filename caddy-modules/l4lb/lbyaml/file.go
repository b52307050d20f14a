package lbyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

// config.yaml's format is this adapter's: the core (package l4lb) knows
// only the balancer's Spec and its validation, shared with a hand-written
// layer4 JSON config; the process settings around it (port, metrics_port,
// admin) and the YAML decoding and its error messages live here.

// Defaults of config.yaml's process settings.
const (
	DefaultMetricsPort = 9100
	DefaultAdmin       = "localhost:2019"
)

// FileConfig is a balancer's config.yaml (SPEC.md section 4): a Spec plus
// what belongs to the process around it:
//
//	port: 9001                   # listen on all interfaces
//	metrics_port: 9100           # Prometheus /metrics over plain HTTP; 0 = none
//	admin: localhost:2019        # Caddy's admin endpoint (for `caddy reload`); "off" disables it
type FileConfig struct {
	Port        int    `yaml:"port"`
	MetricsPort *int   `yaml:"metrics_port"`
	Admin       string `yaml:"admin"`
	l4lb.Spec   `yaml:",inline"`
}

// FileSettings is a validated config.yaml.
type FileSettings struct {
	Port        int
	MetricsPort int
	Admin       string
	Spec        l4lb.Spec // as written, with Name set: the handler's configuration
	l4lb.Settings
}

// ParseFile decodes and validates config.yaml. Errors name the offending
// field; unknown keys are errors (a typo must not silently fall back to a
// default).
func ParseFile(data []byte) (FileSettings, error) {
	var fc FileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil {
		if errors.Is(err, io.EOF) {
			return FileSettings{}, errors.New("config is empty: port, algorithm and backends are required")
		}
		return FileSettings{}, fmt.Errorf("config: %s", friendlyYAMLError(err))
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
func (fc FileConfig) Settings() (FileSettings, error) {
	fs := FileSettings{Port: fc.Port, MetricsPort: DefaultMetricsPort, Admin: fc.Admin}
	if fc.Port < 1 || fc.Port > 65535 {
		return fs, fmt.Errorf("port: must be 1-65535, got %d", fc.Port)
	}
	fs.Spec = fc.Spec
	if fs.Spec.Name == "" {
		fs.Spec.Name = l4lb.Label(fc.Port)
	}
	var err error
	if fs.Settings, err = fs.Spec.Settings(); err != nil {
		return fs, err
	}
	if fc.MetricsPort != nil {
		fs.MetricsPort = *fc.MetricsPort
	}
	if fs.MetricsPort < 0 || fs.MetricsPort > 65535 {
		return fs, fmt.Errorf("metrics_port: must be 0 (none) or 1-65535, got %d", fs.MetricsPort)
	}
	if fs.MetricsPort == fs.Port {
		return fs, fmt.Errorf("metrics_port: must differ from port (%d)", fs.Port)
	}
	if fs.Admin == "" {
		fs.Admin = DefaultAdmin
	}
	return fs, nil
}
