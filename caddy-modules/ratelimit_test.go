package caddymodules_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/caddy-modules/tokens"
)

// limitSite is a small gateway: one route per caddysocial_rate_limit directive given,
// answering 200 with the caller's user id (if any) when let through.
type limitSite struct {
	base, metrics string
	port, mport   int
}

func newLimitSite(t *testing.T) *limitSite {
	port, mport := caddyrun.FreePort(t), caddyrun.FreePort(t)
	return &limitSite{
		base:    "http://127.0.0.1:" + strconv.Itoa(port),
		metrics: "http://127.0.0.1:" + strconv.Itoa(mport) + "/metrics",
		port:    port, mport: mport,
	}
}

// config renders a Caddyfile; routes maps a path to its extra directives.
func (s *limitSite) config(global string, routes map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\tadmin off\n\tpersist_config off\n\tcaddysocial_auth {\n\t\tjwt_secret_env LIMIT_TEST_SECRET\n\t}\n%s\n}\n", global)
	fmt.Fprintf(&b, "http://127.0.0.1:%d {\n", s.port)
	for path, directives := range routes {
		fmt.Fprintf(&b, "\thandle %s {\n\t\tcaddysocial_gateway_metrics endpoint %s\n\t\t%s\n\t\trespond \"ok {http.auth.user.id}\" 200\n\t}\n", path, path, directives)
	}
	fmt.Fprintf(&b, "}\nhttp://127.0.0.1:%d {\n\tmetrics\n}\n", s.mport)
	return b.String()
}

func (s *limitSite) get(t *testing.T, path string, headers ...string) result {
	t.Helper()
	return httpGet(t, s.base+path, headers...)
}

// httpGet sends a GET with the given header name/value pairs. Many of
// these tests send it right after a reload, which replaces Caddy's HTTP
// server: its kept-alive connection can be closed under the request, or a
// new one accepted by the old server just before its shutdown and dropped
// (see load in rotation_test.go, which measures that). So a transport error
// is retried once; what these tests check is the answer.
func httpGet(t *testing.T, url string, headers ...string) result {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		res, err = http.DefaultClient.Do(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, string(raw)}
}

// statuses counts the status codes of n requests sent at once.
func (s *limitSite) statuses(t *testing.T, n int, path string, headers ...string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", s.base+path, nil)
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			code := -1
			if res, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				code = res.StatusCode
			}
			mu.Lock()
			got[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return got
}

// want429 checks a refusal whose next token comes in retryAfter seconds,
// give or take the few seconds a loaded test machine lets pass meanwhile.
func want429(t *testing.T, r result, retryAfter int) {
	t.Helper()
	wantJSONError(t, r, http.StatusTooManyRequests)
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra > retryAfter || ra < retryAfter-5 || ra < 1 {
		t.Errorf("Retry-After %q, want %d", r.header.Get("Retry-After"), retryAfter)
	}
	if rl := r.header.Get("RateLimit"); !strings.HasSuffix(rl, ";r=0;t="+r.header.Get("Retry-After")) {
		t.Errorf("429 with RateLimit %q; want r=0 and t equal to Retry-After", rl)
	}
}

func TestRateLimitExactUnderConcurrency(t *testing.T) {
	t.Setenv("LIMIT_TEST_SECRET", secret)
	s := newLimitSite(t)
	caddyrun.Load(t, s.config("", map[string]string{"/x": "caddysocial_rate_limit {http.request.header.X-Client} 7/1h"}))
	before := scrape(t, s.metrics)
	got := s.statuses(t, 60, "/x", "X-Client", "a")
	if got[200] != 7 || got[429] != 53 {
		t.Fatalf("60 parallel requests against 7/1h: %v, want 7 × 200 and 53 × 429", got)
	}
	after := scrape(t, s.metrics)
	if d := after[`gateway_rate_limited_total{endpoint="/x"}`] - before[`gateway_rate_limited_total{endpoint="/x"}`]; d != 53 {
		t.Errorf("gateway_rate_limited_total rose by %v, want 53", d)
	}
	// Another client has its own budget.
	if r := s.get(t, "/x", "X-Client", "b"); r.status != 200 {
		t.Fatalf("another client: %d", r.status)
	}
}

// A key made of several placeholders (and text) is one budget per
// combination; a single placeholder is looked up without parsing the key.
func TestRateLimitCompositeKey(t *testing.T) {
	t.Setenv("LIMIT_TEST_SECRET", secret)
	s := newLimitSite(t)
	caddyrun.Load(t, s.config("", map[string]string{"/x": "caddysocial_rate_limit tenant-{http.request.header.X-Tenant}/{http.request.header.X-Client} 1/1h"}))
	for _, c := range []struct {
		tenant, client string
		want           int
	}{{"t1", "a", 200}, {"t1", "a", 429}, {"t1", "b", 200}, {"t2", "a", 200}, {"t2", "a", 429}} {
		if r := s.get(t, "/x", "X-Tenant", c.tenant, "X-Client", c.client); r.status != c.want {
			t.Fatalf("tenant %s client %s: %d, want %d", c.tenant, c.client, r.status, c.want)
		}
	}
}

func TestRateLimitHeaders(t *testing.T) {
	t.Setenv("LIMIT_TEST_SECRET", secret)
	s := newLimitSite(t)
	caddyrun.Load(t, s.config("", map[string]string{
		"/x": "caddysocial_rate_limit {http.request.header.X-Client} 4/1h",
		"/y": "caddysocial_rate_limit {http.request.header.X-Client} 60/1h burst 2 {\n\t\t\tname per-user\n\t\t}",
	}))
	// A token comes back every 900 s: r counts down, t is the time to it.
	for i, remaining := range []string{"3", "2", "1", "0"} {
		r := s.get(t, "/x", "X-Client", "h")
		if r.status != 200 || r.header.Get("RateLimit-Policy") != `"default";q=4;w=3600` {
			t.Fatalf("request %d: %d, RateLimit-Policy %q", i, r.status, r.header.Get("RateLimit-Policy"))
		}
		if got := r.header.Get("RateLimit"); !regexp.MustCompile(`^"default";r=` + remaining + `;t=(89[0-9]|900)$`).MatchString(got) {
			t.Errorf("request %d: RateLimit %q, want r=%s;t=900", i, got, remaining)
		}
	}
	r := s.get(t, "/x", "X-Client", "h")
	want429(t, r, 900)
	if r.header.Get("RateLimit-Policy") != `"default";q=4;w=3600` {
		t.Errorf("429 without RateLimit-Policy")
	}
	// Bursts: two at once, then one a minute.
	got := s.statuses(t, 10, "/y", "X-Client", "b")
	if got[200] != 2 || got[429] != 8 {
		t.Fatalf("burst 2: %v", got)
	}
	r = s.get(t, "/y", "X-Client", "b")
	want429(t, r, 60)
	if r.header.Get("RateLimit-Policy") != `"per-user";q=60;w=3600` || !strings.HasPrefix(r.header.Get("RateLimit"), `"per-user";r=0;t=`) {
		t.Errorf("named policy: %q / %q", r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit"))
	}
}

func TestRateLimitWindowRefills(t *testing.T) {
	t.Setenv("LIMIT_TEST_SECRET", secret)
	s := newLimitSite(t)
	caddyrun.Load(t, s.config("", map[string]string{"/x": "caddysocial_rate_limit {http.request.header.X-Client} 5/1s"}))
	// At 5/s a token is back every 200 ms: a batch gets the five of a full
	// bucket plus those that arrive while it runs, never fewer, never more.
	batch := func(what string) {
		start := time.Now()
		got := s.statuses(t, 20, "/x", "X-Client", "w")
		refilled := int(time.Since(start)/(200*time.Millisecond)) + 1
		if got[200] < 5 || got[200] > 5+refilled || got[429] != 20-got[200] {
			t.Fatalf("%s: %v, want 5 to %d through", what, got, 5+refilled)
		}
	}
	batch("first window")
	time.Sleep(1100 * time.Millisecond) // a whole window: the bucket is full again
	batch("after the window")
}

func TestRateLimitStateSurvivesReload(t *testing.T) {
	t.Setenv("LIMIT_TEST_SECRET", secret)
	s := newLimitSite(t)
	limit := map[string]string{"/x": "caddysocial_rate_limit {http.request.header.X-Client} 3/1h"}
	caddyrun.Load(t, s.config("", limit))
	if got := s.statuses(t, 3, "/x", "X-Client", "r"); got[200] != 3 {
		t.Fatal(got)
	}
	// The same limit in a changed config: the client's bucket is still empty.
	limit["/other"] = ""
	if err := caddyrun.LoadErr(s.config("", limit)); err != nil {
		t.Fatal(err)
	}
	want429(t, s.get(t, "/x", "X-Client", "r"), 1200)
	// Another route with the same definition shares the budget.
	limit["/other"] = limit["/x"]
	if err := caddyrun.LoadErr(s.config("", limit)); err != nil {
		t.Fatal(err)
	}
	want429(t, s.get(t, "/other", "X-Client", "r"), 1200)
	// A changed limit starts afresh.
	limit["/x"] = "caddysocial_rate_limit {http.request.header.X-Client} 4/1h"
	if err := caddyrun.LoadErr(s.config("", limit)); err != nil {
		t.Fatal(err)
	}
	if r := s.get(t, "/x", "X-Client", "r"); r.status != 200 {
		t.Fatalf("new limit: %d", r.status)
	}
}

func TestRateLimitKeys(t *testing.T) {
	t.Setenv("LIMIT_TEST_SECRET", secret)
	s := newLimitSite(t)
	routes := map[string]string{
		"/auth": "caddysocial_rate_limit {client_ip} 2/1h",
		"/user": "caddysocial_jwt_auth\n\t\tcaddysocial_rate_limit {http.auth.user.id} 2/1h",
	}
	caddyrun.Load(t, s.config("", routes))
	// By client address: a spoofed X-Forwarded-For does not make a new client.
	for i := range 2 {
		if r := s.get(t, "/auth", "X-Forwarded-For", fmt.Sprint("10.0.0.", i)); r.status != 200 {
			t.Fatalf("auth %d: %d", i, r.status)
		}
	}
	want429(t, s.get(t, "/auth", "X-Forwarded-For", "10.0.0.9"), 1800)

	// By user: each token's sub has its own budget, whatever the address.
	alice, bob := tokenFor(t, "3b1be25a-d7eb-4e49-9a87-adf1364f4dca"), tokenFor(t, "aba1272b-c35a-4c4f-a869-2227a0867c7f")
	for range 2 {
		if r := s.get(t, "/user", "Authorization", "Bearer "+alice); r.status != 200 || !strings.Contains(r.raw, "3b1be25a") {
			t.Fatalf("alice: %d %s", r.status, r.raw)
		}
	}
	want429(t, s.get(t, "/user", "Authorization", "Bearer "+alice), 1800)
	if r := s.get(t, "/user", "Authorization", "Bearer "+bob); r.status != 200 {
		t.Fatalf("bob limited by alice's requests: %d", r.status)
	}
	// No token: 401 from caddysocial_jwt_auth, before and regardless of any limit.
	if r := s.get(t, "/user"); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}

	// Behind a trusted proxy, {client_ip} is the forwarded client.
	routes["/auth"] = "caddysocial_rate_limit {client_ip} 1/1h"
	if err := caddyrun.LoadErr(s.config("\tservers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}", routes)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if r := s.get(t, "/auth", "X-Forwarded-For", fmt.Sprint("192.0.2.", i)); r.status != 200 {
			t.Fatalf("forwarded client %d: %d", i, r.status)
		}
	}
	want429(t, s.get(t, "/auth", "X-Forwarded-For", "192.0.2.1"), 3600)
}

// tokenFor issues a token for sub with the test secret, as login does.
func tokenFor(t *testing.T, sub string) string {
	t.Helper()
	return issue(t, sub, tokens.Key{ID: tokens.KeyID([]byte(secret)), Secret: []byte(secret)})
}

func TestRateLimitDirectiveErrors(t *testing.T) {
	cases := map[string]string{
		"caddysocial_rate_limit":                                           "usage: caddysocial_rate_limit",
		"caddysocial_rate_limit {client_ip}":                               "usage: caddysocial_rate_limit",
		"caddysocial_rate_limit {client_ip} 10":                            "want <events>/<window>",
		"caddysocial_rate_limit {client_ip} x/1m":                          "want <events>/<window>",
		"caddysocial_rate_limit {client_ip} 10/soon":                       "window",
		"caddysocial_rate_limit {client_ip} 10/1m burst":                   "usage: caddysocial_rate_limit",
		"caddysocial_rate_limit {client_ip} 10/1m burst 0":                 "burst",
		"caddysocial_rate_limit {client_ip} 10/1m spurt 5":                 "usage: caddysocial_rate_limit",
		"caddysocial_rate_limit {client_ip} 10/1m {\n\t\tcolour blue\n\t}": `unknown option "colour"`,
		"caddysocial_rate_limit {client_ip} 10/1m {\n\t\tmax_keys -5\n\t}": "max_keys",
	}
	for directive, want := range cases {
		_, err := caddyrun.Adapt("{\n\tadmin off\n}\nhttp://127.0.0.1:1 {\n\t" + directive + "\n}\n")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to mention %q", directive, err, want)
		}
	}
	// Values the parser lets through but the limiter cannot work with.
	for directive, want := range map[string]string{
		"caddysocial_rate_limit {client_ip} 10/500ms":                       "window must be at least 1s",
		"caddysocial_rate_limit {client_ip} 10/1m {\n\t\tname \"a b\"\n\t}": "name",
	} {
		err := caddyrun.LoadErr("{\n\tadmin off\n}\nhttp://127.0.0.1:" + strconv.Itoa(caddyrun.FreePort(t)) + " {\n\t" + directive + "\n}\n")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to mention %q", directive, err, want)
		}
	}
}
