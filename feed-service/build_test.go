package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/service"
)

// buildWith builds the service as main does, with the settings env.
func buildWith(env map[string]string) (*service.Service, error) {
	getenv := func(key string) string { return env[key] }
	return service.New(context.Background(), service.Options{Name: "feed-service", Log: quiet, Getenv: getenv}, build)
}

// A bad setting stops the service at start with a message naming it.
func TestBadSettingIsAClearError(t *testing.T) {
	for key, value := range map[string]string{"FEED_FANOUT": "0", "FEED_DEADLINE": "soon", "NATS_URL": "nats://%zz"} {
		_, err := buildWith(map[string]string{key: value})
		if err == nil || !strings.HasPrefix(err.Error(), "feed-service: ") || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: %v, want an error naming %s", key, value, err, key)
		}
	}
}

// Built from its settings, the service finds its upstreams: /readyz follows
// them.
func TestBuildFromSettings(t *testing.T) {
	f := newFake()
	users := httptest.NewServer(f.users())
	posts := httptest.NewServer(f.postsHandler())
	t.Cleanup(func() { users.Close(); posts.Close() })
	s, err := buildWith(map[string]string{"USER_LB_URL": users.URL, "POST_LB_URL": posts.URL})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/readyz", "", ""), 200, "ready")
	users.Close()
	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/readyz", "", ""), 503, "upstreams unavailable")
}
