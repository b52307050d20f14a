package l4lbapp

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// A JSON config (not from the adapter) is validated too, field by field.
func TestInvalidJSONConfigIsRefused(t *testing.T) {
	cases := map[string]string{
		`{"listen":":0","algorithm":"random","backends":["a:1"]}`:                                 "algorithm: unknown algorithm",
		`{"listen":":0","algorithm":"roundrobin","backends":[]}`:                                  "backends: at least one",
		`{"listen":"","algorithm":"roundrobin","backends":["a:1"]}`:                               "listen: an address",
		`{"listen":":0","algorithm":"roundrobin","backends":["a:1"],"rate_mbps":-1}`:              "rate_mbps: must not be negative",
		`{"listen":":0","algorithm":"hashing","backends":["a:1"],"health_check":{"type":"icmp"}}`: "health_check.type",
		`{"listen":"nope:x","algorithm":"leastconn","backends":["a:1"]}`:                          "listen:",
	}
	for balancer, want := range cases {
		cfg := `{"admin":{"disabled":true},"apps":{"l4lb":{"balancers":[` + balancer + `]}}}`
		err := caddy.Load([]byte(cfg), true)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", balancer, err, want)
		}
	}
	_ = caddy.Stop()
}
