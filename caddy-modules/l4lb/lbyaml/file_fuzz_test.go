package lbyaml

import (
	"strings"
	"testing"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

// fieldPrefixes are the starts of every ParseFile error: each names the
// field (or, for YAML that does not decode at all, says "config").
var fieldPrefixes = []string{"config", "port:", "metrics_port:", "name:", "algorithm:", "backends", "rate:",
	"health_check.", "dial_timeout:", "drain_timeout:", "idle_timeout:", "max_connections:"}

// FuzzParseFile: any config.yaml is either refused with an error that names
// the field, or yields settings that hold every documented invariant. It
// never panics. Seeds: testdata/fuzz/FuzzParseFile (the shipped configs and
// one file per kind of error).
func FuzzParseFile(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseFile(data)
		if err != nil {
			msg := err.Error()
			for _, p := range fieldPrefixes {
				if strings.HasPrefix(msg, p) {
					return
				}
			}
			t.Fatalf("error does not name a field: %q", msg)
		}
		if s.Port < 1 || s.Port > 65535 || s.MetricsPort < 0 || s.MetricsPort > 65535 || s.MetricsPort == s.Port {
			t.Fatalf("ports %d/%d accepted", s.Port, s.MetricsPort)
		}
		if _, err := l4lb.NewSelector(s.Algorithm); err != nil || len(s.Backends) == 0 {
			t.Fatalf("algorithm %q with %d backends accepted", s.Algorithm, len(s.Backends))
		}
		if s.BytesPerSec < 0 || s.MaxConnections < 0 || s.DialTimeout <= 0 || s.DrainTimeout <= 0 || s.IdleTimeout < 0 {
			t.Fatalf("settings %+v accepted", s.Settings)
		}
		hc := s.HealthCheck
		if hc.Interval <= 0 || hc.Timeout <= 0 || hc.Fall < 1 || hc.Rise < 1 || (hc.Type != "tcp" && hc.Type != "http") ||
			!strings.HasPrefix(hc.Path, "/") {
			t.Fatalf("health check %+v accepted", hc)
		}
		// The handler revalidates the Spec the adapter passes on: it must agree.
		again, err := s.Spec.Settings()
		if err != nil || again.Name != s.Name || len(again.Backends) != len(s.Backends) {
			t.Fatalf("the handler's validation disagrees: %+v, %v", again, err)
		}
	})
}
