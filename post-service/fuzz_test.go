package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/pgtest"
)

// fuzzRoutes are the endpoints with client input: a JSON body, a path
// parameter, ?limit or ?authors. route (mod len) picks one; param fills {param}.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/posts/me"},
	{"GET", "/posts/{param}"},
	{"GET", "/posts/me?limit={param}"},
	{"GET", "/posts?authors={param}&limit=10"},
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
		apitest.WantClientAnswer(t, fmt.Sprintf("%s %s %q", rt.method, path, body), r, "Invalid JSON", "Invalid content", "userId", "limit", "authors")
	})
}
