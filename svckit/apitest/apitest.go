// Package apitest calls a service's HTTP API in tests and checks the
// platform's response rules: JSON everywhere, errors as {"error": "..."}.
package apitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
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
	r, err := Send(method, url, user, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Send is Call for goroutines, which must not end the test: the failure is
// returned.
func Send(method, url, user, body string) (Reply, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	if user != "" {
		req.Header.Set("X-User-ID", user)
	}
	res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return Reply{}, fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		return Reply{}, fmt.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return Reply{res.StatusCode, res.Header, string(raw)}, nil
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

// WantError fails the test unless r is an error of status whose message
// starts with prefix (clients of the original services match on it).
func WantError(t testing.TB, r Reply, status int, prefix string) {
	t.Helper()
	WantStatus(t, r, status, "")
	var e map[string]string
	r.Decode(t, &e)
	if !strings.HasPrefix(e["error"], prefix) {
		t.Fatalf("error %q does not start with %q", e["error"], prefix)
	}
}

// WantClientAnswer checks the answer to arbitrary client input (what fuzz
// tests send): never a 5xx, an error is exactly {"error": "..."}, and a 400
// says what is wrong, containing one of names (a field, a parameter or an
// original wording such as "Invalid JSON"). what describes the request.
func WantClientAnswer(t testing.TB, what string, r Reply, names ...string) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("%s: %d %s", what, r.Status, r.Raw)
	}
	if r.Status < 400 {
		return
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(r.Raw), &e); err != nil || len(e) != 1 || e["error"] == "" {
		t.Fatalf("%s: error body %s is not {\"error\": ...}", what, r.Raw)
	}
	msg, _ := e["error"].(string)
	if r.Status == 400 && !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(msg, n) }) {
		t.Fatalf("%s: 400 %q names none of %q", what, msg, names)
	}
}
