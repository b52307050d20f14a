package lbyaml

import (
	"strings"
	"testing"
	"time"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

func TestParseFileDefaults(t *testing.T) {
	s, err := ParseFile([]byte("port: 9001\nalgorithm: roundrobin\nbackends:\n  - user-service-1:5000\n  - 10.0.0.2:5000\nrate: 100\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 9001 || s.Name != "lb:9001" || s.BytesPerSec != 100e6 || len(s.Backends) != 2 ||
		s.HealthCheck != l4lb.DefaultHealthCheck || s.MetricsPort != 9100 || s.DialTimeout != 2*time.Second ||
		s.DrainTimeout != 10*time.Second || s.Admin != "localhost:2019" {
		t.Fatalf("settings %+v", s)
	}
	s, err = ParseFile([]byte(`port: 9002
algorithm: hashing
backends: [a:1]
name: post-lb
metrics_port: 0
health_check: {interval: 500ms, type: http, path: /healthz, rise: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := l4lb.HealthCheck{Interval: 500 * time.Millisecond, Timeout: time.Second, Fall: 3, Rise: 1, Type: "http", Path: "/healthz"}
	if s.Spec.Name != "post-lb" || s.Spec.Algorithm != "hashing" {
		t.Fatalf("spec %+v", s.Spec)
	}
	if s.HealthCheck != want || s.MetricsPort != 0 || s.Name != "post-lb" || s.BytesPerSec != 0 || s.IdleTimeout != 0 || s.MaxConnections != 0 {
		t.Fatalf("settings %+v", s)
	}
}

// Backends may all come from DNS; dns_refresh defaults to 5s.
func TestParseFileDNSBackends(t *testing.T) {
	s, err := ParseFile([]byte("port: 9001\nalgorithm: leastconn\ndns_backends: [user-service-headless:5000]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Backends) != 0 || len(s.DNSBackends) != 1 || s.DNSBackends[0] != "user-service-headless:5000" || s.DNSRefresh != l4lb.DefaultDNSRefresh {
		t.Fatalf("settings %+v", s.Settings)
	}
	s, err = ParseFile([]byte("port: 9001\nalgorithm: leastconn\nbackends: [a:1]\ndns_backends: [b:2]\ndns_refresh: 750ms\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Backends) != 1 || s.DNSRefresh != 750*time.Millisecond {
		t.Fatalf("settings %+v", s.Settings)
	}
	base := "port: 9001\nalgorithm: roundrobin\nbackends: [a:1]\n"
	for yaml, want := range map[string]string{
		base + "dns_backends: [svc]\n":                  "dns_backends[0]: want host:port",
		base + "dns_backends: [s:1, s:1]\n":             "dns_backends[1]: \"s:1\" is listed twice",
		base + "dns_refresh: 5s\n":                      "dns_refresh: set, but there are no dns_backends",
		base + "dns_backends: [s:1]\ndns_refresh: 0s\n": "dns_refresh: want a positive duration",
		"port: 9001\nalgorithm: roundrobin\n":           "in backends or dns_backends",
	} {
		if _, err := ParseFile([]byte(yaml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: err = %v, want it to contain %q", yaml, err, want)
		}
	}
}

func TestParseFileErrorsNameTheField(t *testing.T) {
	base := "algorithm: roundrobin\nbackends: [a:1]\n"
	cases := map[string]string{
		"": "config is empty",
		"port: 9001\n" + "algorithm: random\nbackends: [a:1]\n": `algorithm: unknown algorithm "random"`,
		"port: 9001\nalgorithm: leastconn\n":                    "backends: at least one",
		"port: 9001\nalgorithm: leastconn\nbackends: []\n":      "backends: at least one",
		"port: 0\n" + base:                                          "port: must be 1-65535",
		"port: 70000\n" + base:                                      "port: must be 1-65535",
		"port: nine\n" + base:                                       "cannot unmarshal",
		"port: 9001\n" + base + "rate: -1\n":                        "rate: must be 0",
		"port: 9001\n" + base + "colour: blue\n":                    `unknown key "colour"`,
		"port: 9001\n" + base + "dial_timeout: soon\n":              `dial_timeout: want a positive duration`,
		"port: 9001\n" + base + "health_check: {interval: 2x}\n":    `health_check.interval: want a positive duration`,
		"port: 9001\n" + base + "health_check: {timeout: -1s}\n":    `health_check.timeout`,
		"port: 9001\n" + base + "health_check: {fall: 0}\n":         "health_check.fall",
		"port: 9001\n" + base + "health_check: {type: udp}\n":       "health_check.type",
		"port: 9001\n" + base + "health_check: {path: x}\n":         "health_check.path",
		"port: 9001\n" + base + "health_check: {retries: 3}\n":      `unknown key "retries"`,
		"port: 9001\n" + base + "metrics_port: 9001\n":              "metrics_port: must differ",
		"port: 9001\nalgorithm: roundrobin\nbackends: [nohost]\n":   "backends[0]: want host:port",
		"port: 9001\nalgorithm: roundrobin\nbackends: [a:0]\n":      "backends[0]: port",
		"port: 9001\nalgorithm: roundrobin\nbackends: [a:1, a:1]\n": "backends[1]: \"a:1\" is listed twice",
		"port: 9001\n" + base + "idle_timeout: 0s\n":                "idle_timeout: want a positive duration",
		"port: 9001\n" + base + "max_connections: -1\n":             "max_connections: must be 0",
	}
	for yaml, want := range cases {
		if _, err := ParseFile([]byte(yaml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: err = %v, want it to contain %q", yaml, err, want)
		}
	}
}
