package allowmethods

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("caddysocial_allow_methods get POST")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.Methods, []string{"get", "POST"}) {
		t.Errorf("methods = %q", h.Methods)
	}
	err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser("caddysocial_allow_methods"))
	if err == nil || !strings.Contains(err.Error(), "wrong argument count") {
		t.Errorf("no methods: err = %v", err)
	}
	if err := new(Handler).Validate(); err == nil {
		t.Error("Validate accepted a handler without methods")
	}
}

// A provisioned handler lets listed methods (any case in the config) down
// the route and answers others itself with 405, Allow and a JSON error.
func TestServeHTTP(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	h := &Handler{Methods: []string{"get", "post"}}
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	var reached []string
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		reached = append(reached, r.Method)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete, "get"} {
		w := httptest.NewRecorder()
		if err := h.ServeHTTP(w, httptest.NewRequest(m, "/x", nil), next); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		want := http.StatusMethodNotAllowed
		if m == http.MethodGet || m == http.MethodPost {
			want = http.StatusNoContent
		}
		if w.Code != want {
			t.Errorf("%s: status %d, want %d", m, w.Code, want)
		}
		if want != http.StatusMethodNotAllowed {
			continue
		}
		var body struct{ Error string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != "method not allowed" {
			t.Errorf("%s: body %q (%v)", m, w.Body, err)
		}
		if got := w.Header().Get("Allow"); got != "GET, POST" {
			t.Errorf("%s: Allow %q", m, got)
		}
	}
	if !slices.Equal(reached, []string{http.MethodGet, http.MethodPost}) {
		t.Errorf("next handler reached by %q, want GET and POST only", reached)
	}
}
