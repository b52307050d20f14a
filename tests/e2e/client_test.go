// Package e2e tests the running platform through the gateway over HTTPS, as
// a client would. tests/e2e/run.sh (make e2e) starts the compose stack and
// sets E2E_BASE_URL and E2E_CA_CERT; without them the tests fail.
package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	clientOnce sync.Once
	client     *http.Client
	baseURL    string
)

// gateway returns the HTTPS client trusting Caddy's root CA, and the base URL.
func gateway(t testing.TB) (*http.Client, string) {
	t.Helper()
	clientOnce.Do(func() {
		baseURL = os.Getenv("E2E_BASE_URL")
		pemFile := os.Getenv("E2E_CA_CERT")
		if baseURL == "" || pemFile == "" {
			return
		}
		pem, err := os.ReadFile(pemFile)
		if err != nil {
			return
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		dialer := &net.Dialer{Timeout: 5 * time.Second}
		client = &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
				DialContext:         dialer.DialContext,
				MaxIdleConnsPerHost: 32,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
	if client == nil {
		t.Fatal("E2E_BASE_URL and E2E_CA_CERT must name the running gateway and Caddy's root CA: run `make e2e`")
	}
	return client, baseURL
}

type reply struct {
	status int
	header http.Header
	raw    []byte
}

func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.raw, v); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}

// call sends a request; body is JSON-encoded unless it is a string.
func call(t *testing.T, method, path, token string, body any, headers ...string) reply {
	t.Helper()
	c, base := gateway(t)
	r, err := send(c, base, method, path, token, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is call for goroutines, which must not end the test (get c and base
// from gateway first).
func send(c *http.Client, base, method, path, token string, body any, headers ...string) (reply, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, _ := json.Marshal(b)
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return reply{res.StatusCode, res.Header, raw}, nil
}

func want(t *testing.T, r reply, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	if status >= 400 {
		var e map[string]string
		r.decode(t, &e)
		if e["error"] == "" || len(e) != 1 {
			t.Fatalf("error body %s", r.raw)
		}
		for _, leak := range []string{"goroutine", ".go:", "sql", "dial tcp", "user-lb", "post-lb", "feed-service", "auth-db"} {
			if strings.Contains(strings.ToLower(string(r.raw)), leak) {
				t.Fatalf("error body leaks %q: %s", leak, r.raw)
			}
		}
	}
}

// account is a registered, logged-in user with a profile.
type account struct {
	id, email, password, token, username string
}

func newAccount(t *testing.T, name string) account {
	t.Helper()
	a := account{email: fmt.Sprintf("e2e-%s-%d@Example.test", name, time.Now().UnixNano()), password: "e2e password " + name, username: name}
	r := call(t, "POST", "/api/auth/register", "", map[string]string{"email": a.email, "password": a.password})
	want(t, r, 201)
	var reg struct{ UUID, Email string }
	r.decode(t, &reg)
	if reg.Email != strings.ToLower(a.email) {
		t.Fatalf("registered email %q", reg.Email)
	}
	a.id = reg.UUID
	a.token = login(t, a)
	want(t, call(t, "POST", "/api/profile/me", a.token, map[string]string{"username": name, "bio": "bio of " + name}), 200)
	return a
}

func login(t *testing.T, a account) string {
	t.Helper()
	r := call(t, "POST", "/api/auth/login", "", map[string]string{"email": a.email, "password": a.password})
	want(t, r, 200)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	r.decode(t, &tok)
	if tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 || strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("login answer %s", r.raw)
	}
	return tok.AccessToken
}
