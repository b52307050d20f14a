package lbyaml

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/svckit/eventually"
)

// With VICTORIA_LOGS_URL set, a balancer's log lines reach VictoriaLogs'
// jsonline API named after the balancer; without it, the JSON config has
// no writer (stderr).
func TestLogsShippedWhenVictoriaLogsIsSet(t *testing.T) {
	var mu sync.Mutex
	var lines []map[string]any
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				mu.Lock()
				lines = append(lines, m)
				mu.Unlock()
			}
		}
	}))
	defer store.Close()

	off, _, err := Adapter{}.Adapt([]byte(config(caddyrun.FreePort(t), 0, echoBackend(t, "a"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg caddy.Config
	if err := json.Unmarshal(off, &cfg); err != nil || cfg.Logging.Logs["default"].WriterRaw != nil {
		t.Fatalf("without VICTORIA_LOGS_URL the log has a writer: %s", off)
	}

	t.Setenv("VICTORIA_LOGS_URL", store.URL)
	load(t, config(caddyrun.FreePort(t), 0, echoBackend(t, "a")))
	defer caddy.Stop()
	eventually.True(t, 0, "log lines in the store", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lines) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(lines) == 0 {
		t.Fatal("no log line reached the store")
	}
	if lines[0]["service"] != "test-lb" {
		t.Errorf("line = %v, want service test-lb", lines[0])
	}
	if _, err := time.Parse(time.RFC3339Nano, lines[0]["ts"].(string)); err != nil {
		t.Errorf("ts: %v", err)
	}
}
