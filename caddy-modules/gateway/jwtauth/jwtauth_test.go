package jwtauth_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddysocial/platform/caddy-modules/gateway/jwtauth"
	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/caddy-modules/tokens"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	if err := new(jwtauth.Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser("caddysocial_jwt_auth")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"caddysocial_jwt_auth strict", "caddysocial_jwt_auth {\n secret x\n}"} {
		err := new(jwtauth.Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad))
		if err == nil || !strings.Contains(err.Error(), "caddysocial_jwt_auth takes no arguments") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

const secret = "jwtauth-unit-test-secret-of-at-least-32-bytes"

// The handler provisioned in a real Caddy (it takes its signer from the
// caddysocial_auth app): a valid token reaches the route with X-User-ID set
// from its subject and without Authorization; anything else is 401 with the
// RFC 6750 challenge, and a client-sent X-User-ID never gets through.
func TestServeHTTP(t *testing.T) {
	t.Setenv("JWT_SECRET", secret)
	ports := caddyrun.LoadOnFreePorts(t, 1, func(p []int) string {
		return fmt.Sprintf(`{
	admin off
	caddysocial_auth
}
http://127.0.0.1:%d {
	caddysocial_jwt_auth
	respond "user={header.X-User-ID} id={http.auth.user.id} authz={header.Authorization}"
}
`, p[0])
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/", ports[0])
	signer, err := tokens.NewSigner([]byte(secret), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const user = "0b9e2a56-1a6b-4a55-8f1c-5d2b3f3c9e01"
	token, _, err := signer.Issue(user)
	if err != nil {
		t.Fatal(err)
	}
	other, err := tokens.NewSigner([]byte("another-secret-that-is-32-bytes-or-longer"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := other.Issue(user)
	if err != nil {
		t.Fatal(err)
	}
	get := func(authz string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("X-User-ID", "someone-else")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body)
	}
	if code, _, body := get("Bearer " + token); code != 200 || body != "user="+user+" id="+user+" authz=" {
		t.Errorf("valid token: %d %q", code, body)
	}
	if code, _, body := get("bearer " + token); code != 200 || body != "user="+user+" id="+user+" authz=" {
		t.Errorf("valid token, lower-case scheme: %d %q", code, body)
	}
	for authz, challenge := range map[string]string{
		"":                      `Bearer realm="api"`,
		"Basic dXNlcjpwYXNz":    `Bearer realm="api"`,
		"Bearer ":               `Bearer realm="api"`,
		"Bearer not-a-jwt":      `Bearer error="invalid_token"`,
		"Bearer " + forged:      `Bearer error="invalid_token"`,
		"Bearer " + token + "x": `Bearer error="invalid_token"`,
	} {
		code, got, body := get(authz)
		if code != 401 || got != challenge || !strings.Contains(body, `"error"`) || strings.Contains(body, "someone-else") {
			t.Errorf("Authorization %q: %d %q %q, want 401 with %q", authz, code, got, body, challenge)
		}
	}
}
