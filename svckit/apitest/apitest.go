// Package apitest calls a service's HTTP API in tests and checks the
// platform's response rules: JSON everywhere, errors as {"error": "..."}.
package apitest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Reply is a response, read whole.
type Reply struct {
	Status int
	Header http.Header
	Raw    string
}

// Decode unmarshals the body into v, failing the test if it is not JSON.
func (r Reply) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Raw), v); err != nil {
		t.Fatalf("decode %q: %v", r.Raw, err)
	}
}

// Call sends body to url as the caller user (no X-User-ID if empty) and
// fails the test unless the answer is JSON (or the Prometheus text format).
func Call(t testing.TB, method, url, user, body string) Reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("X-User-ID", user)
	}
	res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("%s %s: Content-Type %q", method, url, ct)
	}
	return Reply{res.StatusCode, res.Header, string(raw)}
}

// WantStatus fails the test unless r has status and contains the text; an
// error status must come with exactly {"error": "<message>"}.
func WantStatus(t testing.TB, r Reply, status int, contains string) {
	t.Helper()
	if r.Status != status || !strings.Contains(r.Raw, contains) {
		t.Fatalf("got %d %s; want %d containing %q", r.Status, r.Raw, status, contains)
	}
	if status >= 400 {
		var e map[string]string
		r.Decode(t, &e)
		if e["error"] == "" || len(e) != 1 {
			t.Fatalf("error body %s is not {\"error\": ...}", r.Raw)
		}
	}
}
