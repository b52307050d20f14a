package caddymodules_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	_ "github.com/caddysocial/platform/caddy-modules"
	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/caddy-modules/internal/redistest"
	"github.com/caddysocial/platform/svckit/eventually"
	"github.com/caddysocial/platform/svckit/pgtest"
)

const secret = "gateway-test-secret-0123456789abcdef"

// seen is what a test upstream received.
type seen struct {
	Upstream string      `json:"upstream"`
	Method   string      `json:"method"`
	URI      string      `json:"uri"`
	Header   http.Header `json:"header"`
	Body     string      `json:"body"`
}

// upstream answers every request with a JSON description of it.
func upstream(t *testing.T, name string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" || r.URL.Query().Get("sleep") != "" {
			time.Sleep(3 * time.Second)
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{name, r.Method, r.RequestURI, r.Header, string(body)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type gatewayUnderTest struct {
	base    string // https://localhost:<port>
	httpURL string // http://localhost:<port>
	metrics string // http://127.0.0.1:<port>/metrics
	client  *http.Client
}

// startGateway runs the repository's Caddyfile, unchanged except for a
// private certificate storage, with test ports and upstreams; tracing
// exports nothing and logs go to stderr.
func startGateway(t *testing.T) *gatewayUnderTest {
	t.Helper()
	return startGatewayEnv(t, nil)
}

// startGatewayEnv is startGateway with more (or other) environment variables.
func startGatewayEnv(t *testing.T, extra map[string]string) *gatewayUnderTest {
	t.Helper()
	src, err := os.ReadFile("../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	storage := t.TempDir()
	caddyfile := strings.Replace(string(src), "{\n", fmt.Sprintf("{\n\tstorage file_system %q\n", storage), 1)

	deadLB := caddyrun.FreePort(t) // nothing listens here
	env := map[string]string{
		"CADDY_ADMIN":      "off",
		"AUTH_DB_DSN":      pgtest.NewDatabase(t),
		"JWT_SECRET_FILE":  "",
		"JWT_SECRET":       secret,
		"USER_LB":          strings.TrimPrefix(upstream(t, "user-lb").URL, "http://"),
		"POST_LB":          strings.TrimPrefix(upstream(t, "post-lb").URL, "http://"),
		"FEED_SERVICE":     "127.0.0.1:" + strconv.Itoa(deadLB),
		"UPSTREAM_TIMEOUT": "1s",
		// A loaded test machine must not turn a slow answer of the rate
		// limits' shared store into a fallback to the local limiter.
		"VALKEY_TIMEOUT": "10s",

		// The SDK reads the service name once per process (resource.Default).
		"OTEL_SERVICE_NAME":    "gateway",
		"OTEL_TRACES_EXPORTER": "none",
		"VICTORIA_LOGS_URL":    "",
	}
	maps.Copy(env, extra)
	if _, ok := env["VALKEY_ADDR"]; !ok {
		env["VALKEY_ADDR"] = redistest.Start(t).Addr()
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	ports := caddyrun.LoadOnFreePorts(t, 3, func(ports []int) string {
		t.Setenv("HTTPS_PORT", strconv.Itoa(ports[0]))
		t.Setenv("HTTP_PORT", strconv.Itoa(ports[1]))
		t.Setenv("METRICS_PORT", strconv.Itoa(ports[2]))
		return caddyfile
	})
	httpsPort, httpPort, metricsPort := ports[0], ports[1], ports[2]

	// Trust exactly the root of Caddy's internal CA, as a client would after
	// exporting it.
	var root []byte
	eventually.NoError(t, 0, "internal CA root", func() (err error) {
		root, err = os.ReadFile(filepath.Join(storage, "pki", "authorities", "local", "root.crt"))
		return err
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(root)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	client := &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"},
			DialContext: func(ctx ctxT, network, addr string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(addr)
				return dialer.DialContext(ctx, network, "127.0.0.1:"+port)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// The leaf certificate is issued asynchronously after start.
	eventually.NoError(t, 0, "a TLS handshake with the gateway", func() error {
		conn, err := tls.DialWithDialer(dialer, "tcp", "127.0.0.1:"+strconv.Itoa(httpsPort), &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err == nil {
			conn.Close()
		}
		return err
	})
	return &gatewayUnderTest{
		base:    "https://localhost:" + strconv.Itoa(httpsPort),
		httpURL: "http://localhost:" + strconv.Itoa(httpPort),
		metrics: "http://127.0.0.1:" + strconv.Itoa(metricsPort) + "/metrics",
		client:  client,
	}
}

type result struct {
	status int
	header http.Header
	raw    string
}

func (g *gatewayUnderTest) do(t *testing.T, method, path, token, body string, headers ...string) result {
	t.Helper()
	req, err := http.NewRequest(method, g.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, string(raw)}
}

func (g *gatewayUnderTest) proxied(t *testing.T, method, path, token string, headers ...string) seen {
	t.Helper()
	r := g.do(t, method, path, token, `{"x":1}`, headers...)
	var s seen
	if r.status != 200 || json.Unmarshal([]byte(r.raw), &s) != nil {
		t.Fatalf("%s %s: %d %s", method, path, r.status, r.raw)
	}
	return s
}

func (g *gatewayUnderTest) login(t *testing.T, email string) (token, userID string) {
	t.Helper()
	body := fmt.Sprintf(`{"email":%q,"password":"password1"}`, email)
	r := g.do(t, "POST", "/api/auth/register", "", body)
	var reg struct{ UUID string }
	if r.status != 201 || json.Unmarshal([]byte(r.raw), &reg) != nil {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	r = g.do(t, "POST", "/api/auth/login", "", body)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.raw), &tok) != nil {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	return tok.AccessToken, reg.UUID
}

func wantJSONError(t *testing.T, r result, status int) {
	t.Helper()
	var body map[string]string
	if r.status != status || r.header.Get("Content-Type") != "application/json" ||
		json.Unmarshal([]byte(r.raw), &body) != nil || body["error"] == "" || len(body) != 1 {
		t.Fatalf("got %d %q %s; want %d with a JSON error", r.status, r.header.Get("Content-Type"), r.raw, status)
	}
	for _, leak := range []string{"127.0.0.1", "dial", "sql", "goroutine", ".go:"} {
		if strings.Contains(strings.ToLower(r.raw), leak) {
			t.Fatalf("error body leaks %q: %s", leak, r.raw)
		}
	}
}

func TestGatewayRoutingTable(t *testing.T) {
	g := startGateway(t)
	token, me := g.login(t, "routes@example.com")
	other := "aba1272b-c35a-4c4f-a869-2227a0867c7f"

	routes := []struct{ method, path, upstream, uri string }{
		{"GET", "/api/profile/me", "user-lb", "/profile/me"},
		{"POST", "/api/profile/me", "user-lb", "/profile/me"},
		{"GET", "/api/profile/" + other, "user-lb", "/profile/" + other},
		{"GET", "/api/friends", "user-lb", "/friends"},
		{"POST", "/api/friends", "user-lb", "/friends"},
		{"DELETE", "/api/friends", "user-lb", "/friends"},
		{"GET", "/api/posts", "post-lb", "/posts/me"},
		{"POST", "/api/posts", "post-lb", "/posts/me"},
		{"GET", "/api/posts?limit=5", "post-lb", "/posts/me?limit=5"},
		{"GET", "/api/posts/me", "post-lb", "/posts/me"},
		// Clients of the original statement (/api/posts/{userId} forwarded
		// as is) post to /api/posts/me.
		{"POST", "/api/posts/me", "post-lb", "/posts/me"},
		{"GET", "/api/posts/" + other + "?limit=3", "post-lb", "/posts/" + other + "?limit=3"},
	}
	for _, rt := range routes {
		s := g.proxied(t, rt.method, rt.path, token, "X-User-ID", other)
		if s.Upstream != rt.upstream || s.Method != rt.method || strings.TrimSuffix(s.URI, "?") != rt.uri {
			t.Errorf("%s %s reached %s %s %s; want %s %s", rt.method, rt.path, s.Upstream, s.Method, s.URI, rt.upstream, rt.uri)
		}
		if got := s.Header.Values("X-User-Id"); len(got) != 1 || got[0] != me {
			t.Errorf("%s %s: X-User-ID %v, want only the token's sub %s", rt.method, rt.path, got, me)
		}
		if s.Header.Get("Authorization") != "" {
			t.Errorf("%s %s: Authorization forwarded", rt.method, rt.path)
		}
		if rt.method != "GET" && s.Body != `{"x":1}` {
			t.Errorf("%s %s: body %q not forwarded", rt.method, rt.path, s.Body)
		}
	}
}

func TestGatewayRejectsBadTokensAndSpoofing(t *testing.T) {
	g := startGateway(t)
	token, _ := g.login(t, "tokens@example.com")
	sub := "3b1be25a-d7eb-4e49-9a87-adf1364f4dca"
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	future := time.Now().Add(time.Hour).Unix()
	parts := strings.Split(token, ".")
	bad := map[string]string{
		"expired":   sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": sub, "exp": time.Now().Add(-time.Second).Unix()}),
		"alg none":  sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": sub, "exp": future}),
		"HS384":     sign(jwt.SigningMethodHS384, []byte(secret), jwt.MapClaims{"sub": sub, "exp": future}),
		"wrong key": sign(jwt.SigningMethodHS256, []byte(strings.Repeat("k", 32)), jwt.MapClaims{"sub": sub, "exp": future}),
		"tampered":  parts[0] + "." + strings.TrimRight(jwtPayload(sub, future), "=") + "." + parts[2],
		"malformed": "abc.def",
	}
	for name, tok := range bad {
		r := g.do(t, "GET", "/api/feed", tok, "")
		wantJSONError(t, r, 401)
		if r.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Errorf("%s: WWW-Authenticate %q", name, r.header.Get("WWW-Authenticate"))
		}
	}
	// No token, or a spoofed identity without one: 401, nothing forwarded.
	r := g.do(t, "GET", "/api/profile/me", "", "", "X-User-ID", sub)
	wantJSONError(t, r, 401)
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	wantJSONError(t, g.do(t, "GET", "/api/profile/me", "", "", "Authorization", "Basic dTpw"), 401)
}

func jwtPayload(sub string, exp int64) string {
	b, _ := json.Marshal(map[string]any{"sub": sub, "exp": exp})
	return base64URL(b)
}

func TestGatewayErrors(t *testing.T) {
	g := startGateway(t)
	token, _ := g.login(t, "errors@example.com")

	for _, path := range []string{"/api/nope", "/api/profile/a/b", "/api/posts/", "/elsewhere"} {
		wantJSONError(t, g.do(t, "GET", path, "", ""), 404)
		wantJSONError(t, g.do(t, "GET", path, token, ""), 404)
	}
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/api/profile/me", "GET, POST"},
		{"DELETE", "/api/posts", "GET, POST"},
		{"POST", "/api/feed", "GET"},
		{"GET", "/api/auth/login", "POST"},
		{"PATCH", "/api/friends", "GET, POST, DELETE"},
	} {
		r := g.do(t, c.method, c.path, token, "")
		wantJSONError(t, r, 405)
		if r.header.Get("Allow") != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, r.header.Get("Allow"), c.allow)
		}
	}
	// feed-service is down: 502; a slow upstream: 504 after UPSTREAM_TIMEOUT.
	wantJSONError(t, g.do(t, "GET", "/api/feed", token, ""), 502)
	wantJSONError(t, g.do(t, "GET", "/api/posts/me?sleep=1", token, ""), 504)
	// Bodies over the proxied routes' limit.
	wantJSONError(t, g.do(t, "POST", "/api/posts", token, strings.Repeat("x", 2<<20)), 413)
	wantJSONError(t, g.do(t, "POST", "/api/auth/register", "", strings.Repeat("x", 100<<10)), 413)
	wantJSONError(t, g.do(t, "POST", "/api/auth/login", "", "{not json"), 400)

	// Plain HTTP redirects to HTTPS.
	res, err := g.client.Get(g.httpURL + "/api/feed")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusPermanentRedirect || !strings.HasPrefix(res.Header.Get("Location"), "https://localhost") {
		t.Errorf("http: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestGatewayMetricsLabels(t *testing.T) {
	g := startGateway(t)
	token, me := g.login(t, "metrics@example.com")
	other := "aba1272b-c35a-4c4f-a869-2227a0867c7f"
	before := scrape(t, g.metrics)
	g.proxied(t, "GET", "/api/profile/"+other, token)
	g.proxied(t, "GET", "/api/profile/"+me, token)
	g.proxied(t, "POST", "/api/posts", token)
	g.proxied(t, "POST", "/api/posts/me", token)
	g.do(t, "GET", "/api/posts/"+other, "", "")
	g.do(t, "GET", "/api/"+other, token, "")
	g.do(t, "GET", "/api/feed", token, "")
	g.do(t, "BREW", "/api/posts", token, "")

	after := scrape(t, g.metrics)
	// The collectors live as long as the process (they survive reloads), so
	// compare increments.
	for series, want := range map[string]float64{
		`gateway_requests_total{code="200",endpoint="/api/profile/{userId}",method="GET"}`:      2,
		`gateway_requests_total{code="200",endpoint="/api/posts",method="POST"}`:                1,
		`gateway_requests_total{code="200",endpoint="/api/posts/me",method="POST"}`:             1,
		`gateway_requests_total{code="401",endpoint="/api/posts/{userId}",method="GET"}`:        1,
		`gateway_requests_total{code="404",endpoint="unmatched",method="GET"}`:                  1,
		`gateway_requests_total{code="502",endpoint="/api/feed",method="GET"}`:                  1,
		`gateway_requests_total{code="405",endpoint="/api/posts",method="OTHER"}`:               1,
		`gateway_request_latency_seconds_count{endpoint="/api/profile/{userId}",method="GET"}`:  2,
		`gateway_request_latency_seconds_bucket{endpoint="/api/posts",method="POST",le="+Inf"}`: 1,
		`gateway_request_latency_seconds_count{endpoint="/api/auth/login",method="POST"}`:       0,
		`gateway_requests_total{code="200",endpoint="/api/profile/me",method="GET"}`:            0,
	} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s rose by %v, want %v", series, got, want)
		}
	}
	if after[`gateway_requests_total{code="201",endpoint="/api/auth/register",method="POST"}`] < 1 ||
		after[`gateway_requests_total{code="200",endpoint="/api/auth/login",method="POST"}`] < 1 {
		t.Error("register and login are not counted")
	}
	uuidRE := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-`)
	for series := range after {
		if strings.HasPrefix(series, "gateway_") && (uuidRE.MatchString(series) || strings.Contains(series, "@")) {
			t.Errorf("a label holds a user id or email: %s", series)
		}
	}
}

// scrape reads a Prometheus text exposition into series -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	out := map[string]float64{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}
