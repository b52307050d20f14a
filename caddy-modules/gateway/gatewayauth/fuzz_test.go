package gatewayauth_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/caddysocial/platform/svckit/apitest"
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
		apitest.WantClientAnswer(t, fmt.Sprintf("%s %q", path, body), apitest.Reply{Status: r.status, Header: r.header, Raw: r.raw},
			"Invalid JSON", "email", "password")
	})
}

func FuzzRegister(f *testing.F) { fuzzAuth(f, "/api/auth/register") }

func FuzzLogin(f *testing.F) { fuzzAuth(f, "/api/auth/login") }
