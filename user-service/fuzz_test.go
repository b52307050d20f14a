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
// parameter or ?ids. route (mod len) picks one; param fills {userId}.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/profile/me"},
	{"GET", "/profile/{userId}"},
	{"POST", "/friends"},
	{"DELETE", "/friends"},
	{"GET", "/profiles?ids={userId}"},
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
		escaped := url.PathEscape(param)
		if strings.Contains(rt.path, "?") {
			escaped = url.QueryEscape(param)
		}
		path := strings.Replace(rt.path, "{userId}", escaped, 1)
		r, err := apitest.Send(rt.method, base+path, me, body)
		if err != nil {
			t.Fatalf("%s %s %q: %v", rt.method, path, body, err)
		}
		apitest.WantClientAnswer(t, fmt.Sprintf("%s %s %q", rt.method, path, body), r, "Invalid JSON", "Invalid friend ID", "username", "bio", "userId", "ids")
	})
}
