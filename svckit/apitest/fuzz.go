package apitest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// Fuzz sends arbitrary bodies and parameters to routes of the service at
// base as user. A route is "METHOD /path" (as a ServeMux pattern); {param}
// in it is replaced by the fuzzed parameter, query-escaped in the query
// string and path-escaped in the path. The fuzzed arguments are (route uint8, param string, body
// string): route (mod len(routes)) picks the endpoint, and the seeds in
// testdata/fuzz/<FuzzTest> have this shape. Properties: an answer (no panic,
// no hang), never a 5xx, always JSON, errors as {"error": ...}, and a 400
// contains one of names (see WantClientAnswer).
func Fuzz(f *testing.F, base, user string, routes []string, names ...string) {
	f.Fuzz(func(t *testing.T, route uint8, param string, body string) {
		method, path, _ := strings.Cut(routes[int(route)%len(routes)], " ")
		escaped := url.PathEscape(param)
		if strings.Contains(path, "?") {
			escaped = url.QueryEscape(param)
		}
		path = strings.Replace(path, "{param}", escaped, 1)
		r, err := Send(method, base+path, user, body)
		if err != nil {
			t.Fatalf("%s %s %q: %v", method, path, body, err)
		}
		WantClientAnswer(t, fmt.Sprintf("%s %s %q", method, path, body), r, names...)
	})
}
