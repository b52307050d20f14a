package caddymodules_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/events/natstest"
	"github.com/caddysocial/platform/svckit/eventually"
)

// DELETE /api/account: the password is checked again; then login fails and
// the email is free at once, the account's tokens (verified and cached
// before) get 401, and accounts.deleted reaches NATS through auth-db's
// outbox.
func TestAccountDeletion(t *testing.T) {
	ns := natstest.Start(t)
	t.Setenv("NATS_URL", ns.URL())
	g := startGateway(t)
	token, user := g.login(t, "leaver@example.com")
	other, _ := g.login(t, "stayer@example.com")
	g.proxied(t, "GET", "/api/profile/me", token) // the token is in the verified cache now

	wantJSONError(t, g.do(t, "DELETE", "/api/account", token, `{"password":"wrong-password"}`), 401)
	wantJSONError(t, g.do(t, "DELETE", "/api/account", token, `{}`), 400)
	wantJSONError(t, g.do(t, "DELETE", "/api/account", token, `{"password":`), 400)
	wantJSONError(t, g.do(t, "DELETE", "/api/account", "", `{"password":"password1"}`), 401)
	wantJSONError(t, g.do(t, "POST", "/api/account", token, `{"password":"password1"}`), 405)
	g.proxied(t, "GET", "/api/profile/me", token) // a wrong password deleted nothing

	// The counter lives as long as the process (it survives config reloads),
	// so other tests and -count runs add to it: compare with this reading.
	published := scrape(t, g.metrics)["outbox_published_total"]
	r := g.do(t, "DELETE", "/api/account", token, `{"password":"password1"}`)
	if r.status != 202 || !strings.Contains(r.raw, user) {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	creds := `{"email":"leaver@example.com","password":"password1"}`
	wantJSONError(t, g.do(t, "POST", "/api/auth/login", "", creds), 401)
	r = g.do(t, "POST", "/api/auth/register", "", creds)
	if r.status != 201 || strings.Contains(r.raw, user) {
		t.Fatalf("register again: %d %s, want 201 and a new uuid", r.status, r.raw)
	}

	eventually.NoError(t, 0, "the deleted account's token is refused", func() error {
		r = g.do(t, "GET", "/api/profile/me", token, "")
		if r.status != 401 {
			return fmt.Errorf("still accepted: %d", r.status)
		}
		return nil
	})
	if r.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	g.proxied(t, "GET", "/api/profile/me", other) // other accounts unaffected
	wantJSONError(t, g.do(t, "DELETE", "/api/account", token, `{"password":"password1"}`), 401)

	e := natstest.Next(t, natstest.Reader(t, ns.Bus(t), events.AccountDeleted))
	var d events.AccountDeletedData
	if err := e.DataAs(&d); err != nil || d.UserUUID != user || e.Version != 1 {
		t.Fatalf("accounts.deleted %+v %+v %v", e, d, err)
	}
	if n := scrape(t, g.metrics)["outbox_published_total"]; n != published+1 {
		t.Errorf("outbox_published_total = %v, want %v", n, published+1)
	}
}
