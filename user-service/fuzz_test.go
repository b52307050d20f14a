package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/pgtest"
)

// fuzzRoutes are the endpoints with client input: a JSON body or a path
// parameter. route (mod len) picks one; param fills {userId}.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/profile/me"},
	{"GET", "/profile/{userId}"},
	{"POST", "/friends"},
	{"DELETE", "/friends"},
}

// FuzzAPI sends arbitrary bodies and path parameters to the service on a
// real database. Properties: an answer (no panic, no hang), never a 5xx,
// always JSON, errors as {"error": ...}, and a 400 names what is wrong (the
// JSON, a field or the path parameter). Seeds: testdata/fuzz/FuzzAPI.
func FuzzAPI(f *testing.F) {
	base := instance(f, pgtest.NewDatabase(f))
	me, friend := uuid.NewString(), uuid.NewString()
	profile(f, base, me, "fuzzer")
	profile(f, base, friend, "friend")
	f.Fuzz(func(t *testing.T, route uint8, param string, body string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := strings.Replace(rt.path, "{userId}", url.PathEscape(param), 1)
		r, err := apitest.Send(rt.method, base+path, me, body)
		if err != nil {
			t.Fatalf("%s %s %q: %v", rt.method, path, body, err)
		}
		if r.Status >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, path, body, r.Status, r.Raw)
		}
		if r.Status < 400 {
			return
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(r.Raw), &e); err != nil || len(e) != 1 || e["error"] == "" {
			t.Fatalf("%s %s %q: error body %s", rt.method, path, body, r.Raw)
		}
		msg, _ := e["error"].(string)
		if r.Status == 400 && !strings.HasPrefix(msg, "Invalid JSON") && !strings.HasPrefix(msg, "Invalid friend ID") &&
			!strings.Contains(msg, "username") && !strings.Contains(msg, "bio") && !strings.Contains(msg, "userId") {
			t.Fatalf("%s %s %q: 400 %q names no field", rt.method, path, body, msg)
		}
	})
}
