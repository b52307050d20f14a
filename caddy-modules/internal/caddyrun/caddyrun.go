// Package caddyrun runs a real Caddy inside a test process: it adapts a
// Caddyfile with the same adapter `caddy run` uses and loads it into this
// process's Caddy instance. Caddy is a process-wide singleton, so tests that
// use it must not run in parallel with each other.
package caddyrun

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile" // the caddyfile adapter
	_ "github.com/caddyserver/caddy/v2/modules/standard"      // reverse_proxy, respond, ...
)

// Adapt turns Caddyfile text into Caddy's JSON config.
func Adapt(caddyfile string) ([]byte, error) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	cfg, _, err := adapter.Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return nil, fmt.Errorf("adapt Caddyfile: %w", err)
	}
	return cfg, nil
}

// Load adapts and (re)loads caddyfile; Caddy is stopped when the test ends.
// The Caddyfile should set `admin off` in its global options so parallel
// test processes do not fight over the admin port.
func Load(t testing.TB, caddyfile string) {
	t.Helper()
	if err := LoadErr(caddyfile); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := caddy.Stop(); err != nil {
			t.Errorf("stop caddy: %v", err)
		}
	})
}

// LoadErr adapts and loads caddyfile and returns the error instead of
// failing the test, for tests of configurations that must be refused.
func LoadErr(caddyfile string) error {
	cfg, err := Adapt(caddyfile)
	if err != nil {
		return err
	}
	if err := caddy.Load(cfg, true); err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	return nil
}

// FreePort returns a TCP port that was free on all interfaces a moment
// ago. It picks below Linux's ephemeral range (32768-60999), where the
// outgoing connections of tests running in parallel take their ports. The
// port is not held: another process may bind it before the caller does, so
// a Caddy config that listens on it should be loaded with LoadOnFreePorts,
// which tries again with other ports when that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port found in 20000-31999")
	return 0
}

// LoadOnFreePorts picks n distinct free ports, builds a Caddyfile for them
// and loads it, stopping Caddy when the test ends. If a port was taken
// between the pick and Caddy's bind, it picks new ports and loads again.
func LoadOnFreePorts(t testing.TB, n int, caddyfile func(ports []int) string) []int {
	t.Helper()
	const attempts = 10
	for attempt := 1; ; attempt++ {
		ports := make([]int, 0, n)
		for len(ports) < n {
			if p := FreePort(t); !slices.Contains(ports, p) {
				ports = append(ports, p)
			}
		}
		err := LoadErr(caddyfile(ports))
		if err == nil {
			t.Cleanup(func() {
				if err := caddy.Stop(); err != nil {
					t.Errorf("stop caddy: %v", err)
				}
			})
			return ports
		}
		if attempt == attempts || !addressInUse(err) {
			t.Fatal(err)
		}
	}
}

func addressInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

const migrateReq = "/proc/sys/net/ipv4/tcp_migrate_req"

// RequireMigrateReq sets net.ipv4.tcp_migrate_req to 1 for the test, as
// docker-compose.yaml does for the gateway and the balancers. Caddy binds a
// configuration's listeners with SO_REUSEPORT next to the old ones and then
// closes the old ones; without this setting the kernel resets the
// connections still waiting in a closed socket's accept queue instead of
// moving them to the new socket (Linux 5.14+), so a reload under a stream of
// new connections loses some of them. Without root (and the setting not
// already 1) the test is skipped with that reason; as root, failing to set
// it fails the test.
func RequireMigrateReq(t testing.TB) {
	t.Helper()
	old, err := os.ReadFile(migrateReq)
	if err != nil {
		t.Fatalf("%s: %v (Linux 5.14 or later is needed for loss-free reloads)", migrateReq, err)
	}
	if strings.TrimSpace(string(old)) == "1" {
		return
	}
	if err := os.WriteFile(migrateReq, []byte("1"), 0o644); err != nil {
		if os.Geteuid() != 0 {
			// Only here: CI runs as root, and there a failure is a failure.
			t.Skipf("needs root to set %s to 1 (or `sysctl -w net.ipv4.tcp_migrate_req=1` beforehand); running as uid %d: %v",
				migrateReq, os.Geteuid(), err)
		}
		t.Fatalf("set %s to 1 as root: %v", migrateReq, err)
	}
	t.Cleanup(func() { os.WriteFile(migrateReq, old, 0o644) })
}
