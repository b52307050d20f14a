package caddymodules_test

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/caddy-modules/internal/deprecated"
)

// Misused directives are refused when the Caddyfile is adapted, with a
// message that says what is wrong.
func TestDirectiveUsageErrors(t *testing.T) {
	cases := map[string]string{
		"caddysocial_gateway_metrics /api/feed":                "usage: caddysocial_gateway_metrics endpoint <label>",
		"caddysocial_gateway_metrics endpoint":                 "usage: caddysocial_gateway_metrics endpoint <label>",
		"caddysocial_gateway_metrics label /x":                 "usage: caddysocial_gateway_metrics endpoint <label>",
		"caddysocial_allow_methods":                            "wrong argument count",
		"caddysocial_jwt_auth strict":                          "caddysocial_jwt_auth takes no arguments",
		"caddysocial_auth_login {\n\t\tmax_body_bytes -1\n\t}": "max_body_bytes: want a positive number",
		"caddysocial_auth_register {\n\t\tcolour blue\n\t}":    `unknown option "colour"`,
	}
	for directive, want := range cases {
		_, err := caddyrun.Adapt("{\n\tadmin off\n}\nhttp://127.0.0.1:1 {\n\t" + directive + "\n}\n")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to mention %q", directive, err, want)
		}
	}
	_, err := caddyrun.Adapt("{\n\tcaddysocial_auth {\n\t\ttoken_ttl soon\n\t}\n}\n")
	if err == nil || !strings.Contains(err.Error(), "token_ttl") {
		t.Errorf("bad token_ttl: %v", err)
	}
	_, err = caddyrun.Adapt("{\n\tcaddysocial_auth {\n\t\tpepper x\n\t}\n}\n")
	if err == nil || !strings.Contains(err.Error(), `unknown option "pepper"`) {
		t.Errorf("unknown auth option: %v", err)
	}
}

// The directives before the caddysocial_ prefix still adapt, to the same
// handlers, for one release, and each logs one warning per Caddyfile;
// rate_limit is gone (it is caddy-ratelimit's name).
func TestDeprecatedDirectiveNames(t *testing.T) {
	renamed := map[string]string{
		"jwt_auth":                    "caddysocial_jwt_auth",
		"allow_methods GET":           "caddysocial_allow_methods GET",
		"gateway_metrics endpoint /x": "caddysocial_gateway_metrics endpoint /x",
		"auth_register":               "caddysocial_auth_register",
		"auth_login":                  "caddysocial_auth_login",
		"account_delete":              "caddysocial_account_delete",
	}
	site := func(directive string) string {
		// Used on two routes: still one warning.
		return "{\n\tadmin off\n}\nhttp://127.0.0.1:1 {\n\thandle /a {\n\t\t" + directive + "\n\t}\n\thandle /b {\n\t\t" + directive + "\n\t}\n}\n"
	}
	for old, current := range renamed {
		core, logs := observer.New(zap.WarnLevel)
		restore := deprecated.SetLogger(zap.New(core))
		oldCfg, err := caddyrun.Adapt(site(old))
		restore()
		if err != nil {
			t.Errorf("%q: %v", old, err)
			continue
		}
		newCfg, err := caddyrun.Adapt(site(current))
		if err != nil {
			t.Errorf("%q: %v", current, err)
			continue
		}
		if !bytes.Equal(oldCfg, newCfg) {
			t.Errorf("%q adapts to\n%s\nwant the same as %q:\n%s", old, oldCfg, current, newCfg)
		}
		name, _, _ := strings.Cut(old, " ")
		newName, _, _ := strings.Cut(current, " ")
		want := "the '" + name + "' directive is deprecated and will be removed in the next release; please use '" + newName + "' instead"
		if got := logs.FilterMessage(want).Len(); got != 1 || logs.Len() != 1 {
			t.Errorf("%q: %d warnings %v, want exactly one %q", old, logs.Len(), logs.All(), want)
		}
	}

	core, logs := observer.New(zap.WarnLevel)
	restore := deprecated.SetLogger(zap.New(core))
	oldCfg, err := caddyrun.Adapt("{\n\tauth {\n\t\ttoken_ttl 5m\n\t}\n}\n")
	restore()
	if err != nil {
		t.Fatal(err)
	}
	newCfg, err := caddyrun.Adapt("{\n\tcaddysocial_auth {\n\t\ttoken_ttl 5m\n\t}\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(oldCfg, newCfg) || !bytes.Contains(newCfg, []byte(`"caddysocial_auth":{"token_ttl":300000000000}`)) {
		t.Errorf("global option auth adapts to\n%s\nwant\n%s", oldCfg, newCfg)
	}
	if logs.FilterMessageSnippet("the 'auth' global option is deprecated").Len() != 1 {
		t.Errorf("global option auth: warnings %v", logs.All())
	}

	_, err = caddyrun.Adapt(site("rate_limit {client_ip} 10/1m"))
	if err == nil || !strings.Contains(err.Error(), "unrecognized directive: rate_limit") {
		t.Errorf("rate_limit: err = %v, want it unrecognized (the name belongs to caddy-ratelimit)", err)
	}
}
