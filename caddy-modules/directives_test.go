package caddymodules_test

import (
	"strings"
	"testing"

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
)

// Misused directives are refused when the Caddyfile is adapted, with a
// message that says what is wrong.
func TestDirectiveUsageErrors(t *testing.T) {
	cases := map[string]string{
		"gateway_metrics /api/feed":                "usage: gateway_metrics endpoint <label>",
		"gateway_metrics endpoint":                 "usage: gateway_metrics endpoint <label>",
		"gateway_metrics label /x":                 "usage: gateway_metrics endpoint <label>",
		"allow_methods":                            "wrong argument count",
		"jwt_auth strict":                          "jwt_auth takes no arguments",
		"auth_login {\n\t\tmax_body_bytes -1\n\t}": "max_body_bytes: want a positive number",
		"auth_register {\n\t\tcolour blue\n\t}":    `unknown option "colour"`,
	}
	for directive, want := range cases {
		_, err := caddyrun.Adapt("{\n\tadmin off\n}\nhttp://127.0.0.1:1 {\n\t" + directive + "\n}\n")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to mention %q", directive, err, want)
		}
	}
	_, err := caddyrun.Adapt("{\n\tauth {\n\t\ttoken_ttl soon\n\t}\n}\n")
	if err == nil || !strings.Contains(err.Error(), "token_ttl") {
		t.Errorf("bad token_ttl: %v", err)
	}
	_, err = caddyrun.Adapt("{\n\tauth {\n\t\tpepper x\n\t}\n}\n")
	if err == nil || !strings.Contains(err.Error(), `unknown option "pepper"`) {
		t.Errorf("unknown auth option: %v", err)
	}
}
