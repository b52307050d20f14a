package apitest

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/pgtest"
)

// WantDatabaseOutages checks how the service lives with its database going
// away, given requests that need it: each "METHOD /path" with an optional
// body after a space, made in order by one user, each answered 2xx while the
// database is up. Started before its database is reachable, the service
// answers them and /readyz 503 "unavailable" and serves once the database
// comes (applying the schema then); through an outage they are 503
// "database unavailable" with Retry-After while /healthz stays 200, and the
// service recovers by itself.
func (sv Service) WantDatabaseOutages(t *testing.T, requests ...string) {
	me := uuid.NewString()
	do := func(t *testing.T, base string, status int, contains string) {
		t.Helper()
		for _, req := range requests {
			method, rest, _ := strings.Cut(req, " ")
			path, body, _ := strings.Cut(rest, " ")
			r := Call(t, method, base+path, me, body)
			switch {
			case status == 200 && (r.Status < 200 || r.Status > 299):
				t.Fatalf("%s: %d %s, want 2xx", req, r.Status, r.Raw)
			case status != 200:
				WantStatus(t, r, status, contains)
				if r.Header.Get("Retry-After") == "" {
					t.Errorf("%s: 503 without Retry-After", req)
				}
			}
		}
	}
	t.Run("starts before its database", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		pgtest.SetConnections(t, dsn, false)
		base := sv.Start(t, dsn) // the schema cannot be applied yet
		do(t, base, 503, "unavailable")
		WantStatus(t, Call(t, "GET", base+"/readyz", "", ""), 503, "unavailable")
		pgtest.SetConnections(t, dsn, true)
		do(t, base, 200, "")
		WantStatus(t, Call(t, "GET", base+"/readyz", "", ""), 200, "ready")
	})
	t.Run("outage", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		base := sv.Start(t, dsn)
		do(t, base, 200, "")
		WantStatus(t, Call(t, "GET", base+"/readyz", "", ""), 200, "ready")
		pgtest.SetConnections(t, dsn, false)
		do(t, base, 503, "database unavailable")
		WantStatus(t, Call(t, "GET", base+"/readyz", "", ""), 503, "database unavailable")
		WantStatus(t, Call(t, "GET", base+"/healthz", "", ""), 200, "ok")
		pgtest.SetConnections(t, dsn, true)
		do(t, base, 200, "")
		WantStatus(t, Call(t, "GET", base+"/readyz", "", ""), 200, "ready")
	})
}
