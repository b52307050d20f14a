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

// fuzzRoutes are the endpoints with client input: a JSON body, a path
// parameter or ?limit. route (mod len) picks one; param fills {param}.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/posts/me"},
	{"GET", "/posts/{param}"},
	{"GET", "/posts/me?limit={param}"},
}

// FuzzAPI sends arbitrary bodies, path parameters and limits to the service
// on a real database. Properties: an answer (no panic, no hang), never a
// 5xx, always JSON, errors as {"error": ...}, and a 400 names what is wrong.
// Seeds: testdata/fuzz/FuzzAPI.
func FuzzAPI(f *testing.F) {
	base := instance(f, pgtest.NewDatabase(f))
	me := uuid.NewString()
	f.Fuzz(func(t *testing.T, route uint8, param string, body string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		escaped := url.PathEscape(param)
		if strings.Contains(rt.path, "?") {
			escaped = url.QueryEscape(param)
		}
		path := strings.Replace(rt.path, "{param}", escaped, 1)
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
		if r.Status == 400 && !strings.HasPrefix(msg, "Invalid JSON") && !strings.HasPrefix(msg, "Invalid content") &&
			!strings.Contains(msg, "userId") && !strings.Contains(msg, "limit") {
			t.Fatalf("%s %s %q: 400 %q names no field", rt.method, path, body, msg)
		}
	})
}
