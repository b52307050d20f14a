package gatewayauth_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/caddysocial/platform/svckit/pgtest"
)

// The register and login fuzzers post arbitrary bodies to a real Caddy with
// the auth app on a real auth-db. Properties: the handler answers (no panic,
// no hang), never with a 5xx, always with the JSON error shape, and a 400
// names what is wrong: the body's JSON or one of its fields. The seed
// corpora are in testdata/fuzz/FuzzRegister and FuzzLogin.

func fuzzAuth(f *testing.F, path string) {
	base := gateway(f, pgtest.NewDatabase(f), "")
	if path == "/api/auth/login" {
		if r, err := send(http.MethodPost, base+"/api/auth/register", `{"email":"fuzz@example.com","password":"password1"}`); err != nil || r.status != 201 {
			f.Fatalf("register the login fuzzer's account: %v %+v", err, r)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := do(t, http.MethodPost, base+path, string(body))
		if r.status >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, r.status, r.raw)
		}
		if r.status < 400 {
			return
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(r.raw), &e); err != nil || len(e) != 1 || e["error"] == "" {
			t.Fatalf("%s %q: error body %s is not {\"error\": ...}", path, body, r.raw)
		}
		msg, _ := e["error"].(string)
		if r.status == http.StatusBadRequest && !strings.HasPrefix(msg, "Invalid JSON") &&
			!strings.Contains(msg, "email") && !strings.Contains(msg, "password") {
			t.Fatalf("%s %q: 400 %q names no field", path, body, msg)
		}
	})
}

func FuzzRegister(f *testing.F) { fuzzAuth(f, "/api/auth/register") }

func FuzzLogin(f *testing.F) { fuzzAuth(f, "/api/auth/login") }
