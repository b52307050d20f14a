package lbyaml

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/svckit/eventually"
)

// backends are the listeners of the echo backends by address.
var backends sync.Map

// echoBackend greets with its name, then echoes lines.
func echoBackend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	backends.Store(ln.Addr().String(), ln)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				io.WriteString(c, name+"\n")
				io.Copy(c, c)
			})
		}
	})
	return ln.Addr().String()
}

func load(t *testing.T, yaml string) {
	t.Helper()
	cfg, _, err := Adapter{}.Adapt([]byte(yaml), map[string]any{"filename": "test.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatal(err)
	}
}

func greet(t *testing.T, addr string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	name, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("greeting: %v", err)
	}
	return c, r, strings.TrimSpace(name)
}

func config(port, metricsPort int, backends ...string) string {
	return fmt.Sprintf("port: %d\nalgorithm: roundrobin\nbackends: [%s]\nrate: 0\nname: test-lb\nmetrics_port: %d\nadmin: \"off\"\ndrain_timeout: 300ms\nhealth_check: {interval: 1h}\n",
		port, strings.Join(backends, ", "), metricsPort)
}

func TestAdaptShowsTheJSON(t *testing.T) {
	cfg, _, err := Adapter{}.Adapt([]byte(config(9001, 9100, "user-service-1:5000", "user-service-2:5000")), nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Admin struct{ Disabled bool }
		Apps  struct {
			Layer4 struct {
				Servers map[string]struct {
					Listen []string
					Routes []struct {
						Match  []json.RawMessage
						Handle []map[string]any
					}
				}
			}
			HTTP json.RawMessage
		}
	}
	if err := json.Unmarshal(cfg, &doc); err != nil {
		t.Fatal(err)
	}
	srv, ok := doc.Apps.Layer4.Servers["test-lb"]
	if !ok || len(doc.Apps.Layer4.Servers) != 1 {
		t.Fatalf("want one layer4 server named after the balancer: %s", cfg)
	}
	if len(srv.Listen) != 1 || srv.Listen[0] != ":9001" || len(srv.Routes) != 1 || len(srv.Routes[0].Match) != 0 ||
		len(srv.Routes[0].Handle) != 1 {
		t.Fatalf("want listen [:9001] and one route without matchers with one handler: %s", cfg)
	}
	h := srv.Routes[0].Handle[0]
	if h["handler"] != "caddysocial_balancer" || h["algorithm"] != "roundrobin" || h["name"] != "test-lb" ||
		fmt.Sprint(h["backends"]) != "[user-service-1:5000 user-service-2:5000]" || h["drain_timeout"] != "300ms" {
		t.Errorf("handler %v", h)
	}
	for _, key := range []string{"port", "metrics_port", "admin"} {
		if _, ok := h[key]; ok {
			t.Errorf("the handler carries the process-level key %q: %v", key, h)
		}
	}
	if !strings.Contains(string(doc.Apps.HTTP), `":9100"`) || !doc.Admin.Disabled {
		t.Errorf("config %s", cfg)
	}
	_, _, err = Adapter{}.Adapt([]byte("port: 9001\nalgorithm: fastest\nbackends: [a:1]\n"), map[string]any{"filename": "lb-configs/user-lb.yaml"})
	if err == nil || !strings.Contains(err.Error(), `lb-configs/user-lb.yaml: algorithm: unknown algorithm "fastest"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestReloadKeepsListenerAndConnections(t *testing.T) {
	caddyrun.RequireMigrateReq(t) // it dials during the reload: see TestReloadsUnderConnectionStreamLoseNothing
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	port, metricsPort := caddyrun.FreePort(t), caddyrun.FreePort(t)
	lbAddr := fmt.Sprintf("127.0.0.1:%d", port)
	load(t, config(port, metricsPort, a))
	t.Cleanup(func() { caddy.Stop() })

	old, oldR, name := greet(t, lbAddr)
	if name != "a" {
		t.Fatalf("went to %s", name)
	}
	// Dial continuously while the config is reloaded: none may be refused.
	var refused, dialed atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			dialed.Add(1)
			if greetAsAClient(t, lbAddr) != nil {
				refused.Add(1)
			}
		}
	})
	// Connections before, during and after the reload: wait for the stream
	// to have moved on, not for a window.
	waitDialed(t, &dialed, 5)
	load(t, config(port, metricsPort, b))
	waitDialed(t, &dialed, 5)
	close(stop)
	wg.Wait()
	if refused.Load() != 0 || dialed.Load() == 0 {
		t.Fatalf("%d of %d connections failed across the reload", refused.Load(), dialed.Load())
	}
	// The established connection still works, through the old backend.
	fmt.Fprintln(old, "still here")
	if line, err := oldR.ReadString('\n'); err != nil || line != "still here\n" {
		t.Fatalf("established connection after reload: %q %v", line, err)
	}
	if _, _, name := greet(t, lbAddr); name != "b" {
		t.Fatalf("new connection went to %s, want b (the new backend list)", name)
	}

	// Metrics on metrics_port: the new backend is there, the removed one is gone.
	text := scrape(t, metricsPort)
	if !strings.Contains(text, fmt.Sprintf(`l4lb_backend_up{backend=%q,lb="test-lb"} 1`, b)) ||
		!strings.Contains(text, fmt.Sprintf(`l4lb_connections_total{backend=%q,lb="test-lb"}`, b)) {
		t.Fatalf("metrics lack backend b:\n%s", grep(text, "l4lb_"))
	}
	if strings.Contains(text, fmt.Sprintf(`l4lb_backend_up{backend=%q`, a)) {
		t.Fatalf("metrics still report the removed backend a:\n%s", grep(text, "l4lb_"))
	}
	old.Close()
}

func TestStopDrainsThenClosesWithinTheTimeout(t *testing.T) {
	a := echoBackend(t, "a")
	port := caddyrun.FreePort(t)
	load(t, config(port, 0, a))
	conn, r, _ := greet(t, fmt.Sprintf("127.0.0.1:%d", port))
	defer conn.Close()
	start := time.Now()
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took < 250*time.Millisecond || took > 5*time.Second {
		t.Fatalf("Stop took %s; want about the 300ms drain timeout", took)
	}
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("connection still open after the drain timeout")
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		t.Fatal("still listening after stop")
	}
}

func grep(text, prefix string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// Reloads under a steady stream of new connections refuse or reset none.
// caddy-l4 opens a new SO_REUSEPORT socket for each configuration and closes
// the old one after the new one is serving; connections the kernel queued
// on the old socket meanwhile are reset when it closes, unless
// net.ipv4.tcp_migrate_req is 1 (Linux 5.14+), which moves them to the new
// socket. docker-compose.yaml sets it for the balancers; this test sets it
// for its network namespace (as root, like CI) and puts it back.
func TestReloadsUnderConnectionStreamLoseNothing(t *testing.T) {
	caddyrun.RequireMigrateReq(t)
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	port := caddyrun.FreePort(t)
	lbAddr := fmt.Sprintf("127.0.0.1:%d", port)
	load(t, config(port, 0, a))
	t.Cleanup(func() { caddy.Stop() })

	var failed, dialed atomic.Int32
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				dialed.Add(1)
				if err := greetAsAClient(t, lbAddr); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	// Between reloads the stream makes progress (at least 10 connections),
	// however slow the machine: the count of connections, not a window,
	// says the reloads happened under a steady stream.
	const reloads = 10
	for i := range reloads {
		waitDialed(t, &dialed, 10)
		load(t, config(port, 0, []string{a, b}[i%2]))
	}
	waitDialed(t, &dialed, 10)
	close(stop)
	wg.Wait()
	t.Logf("%d connections across %d reloads, %d failed", dialed.Load(), reloads, failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d of %d connections failed across %d reloads; first: %v", failed.Load(), dialed.Load(), reloads, firstErr.Load())
	}
}

// waitDialed waits until the dialers have started n more connections.
func waitDialed(t *testing.T, dialed *atomic.Int32, n int32) {
	t.Helper()
	from := dialed.Load()
	eventually.True(t, 0, fmt.Sprintf("%d more connections (from %d)", n, from), func() bool { return dialed.Load() >= from+n })
}

// greetAsAClient greets through addr as a client would: a handshake the
// listener reset (ECONNRESET from connect: the connection never existed) is
// tried once more, and then must succeed. A reload hands the port from the
// old listener socket to the new one (SO_REUSEPORT, with tcp_migrate_req
// moving the queued connections); a SYN that meets the old socket as it
// closes can be answered with a reset: seen once in ~1,400 connections
// across 50 reloads of five `make test` runs under load. What the balancer
// promises (SPEC section 4) holds and is what fails this test: the
// listener stays (a second attempt is served) and no established
// connection is cut (an error after connect is not retried).
func greetAsAClient(t *testing.T, addr string) error {
	err := greetOnce(addr)
	if errors.Is(err, syscall.ECONNRESET) && isDialError(err) {
		t.Logf("handshake reset, tried again: %v", err)
		err = greetOnce(addr)
	}
	return err
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// greetOnce connects, reads the backend's greeting and closes.
func greetOnce(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = bufio.NewReader(c).ReadString('\n')
	return err
}

// A backend that is down stays down across a reload: its state lives in
// the usage pool, and the new configuration's first check confirms it.
func TestReloadKeepsADownBackendDown(t *testing.T) {
	live, dead := echoBackend(t, "live"), echoBackend(t, "dead")
	port, metricsPort := caddyrun.FreePort(t), caddyrun.FreePort(t)
	cfg := func(rate int) string {
		return fmt.Sprintf("port: %d\nalgorithm: roundrobin\nbackends: [%s, %s]\nrate: %d\nname: test-lb\nmetrics_port: %d\n"+
			"admin: \"off\"\nhealth_check: {interval: 50ms, timeout: 200ms, fall: 1, rise: 3}\n", port, live, dead, rate, metricsPort)
	}
	stopBackend(t, dead)
	load(t, cfg(0))
	t.Cleanup(func() { caddy.Stop() })
	upSeries := fmt.Sprintf(`l4lb_backend_up{backend=%q,lb="test-lb"}`, dead)
	waitMetric(t, metricsPort, upSeries+" 0")

	load(t, cfg(50)) // any change makes a new configuration
	for range 10 {
		if text := scrape(t, metricsPort); !strings.Contains(text, upSeries+" 0") {
			t.Fatalf("after the reload the dead backend is not down:\n%s", grep(text, "l4lb_backend_up"))
		}
		_, _, name := greet(t, fmt.Sprintf("127.0.0.1:%d", port))
		if name != "live" {
			t.Fatalf("a connection went to %s after the reload", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Renaming a balancer moves its series to the new name; none stay behind
// under the old one (they would feed lb:l4lb_backend_up:sum forever).
func TestRenameLeavesNoStaleSeries(t *testing.T) {
	a := echoBackend(t, "a")
	port, metricsPort := caddyrun.FreePort(t), caddyrun.FreePort(t)
	named := func(name string) string {
		return strings.Replace(config(port, metricsPort, a), "name: test-lb", "name: "+name, 1)
	}
	load(t, named("old-name"))
	t.Cleanup(func() { caddy.Stop() })
	waitMetric(t, metricsPort, `l4lb_backend_up{backend="`+a+`",lb="old-name"} 1`)
	load(t, named("new-name"))
	text := scrape(t, metricsPort)
	if !strings.Contains(text, `l4lb_backend_up{backend="`+a+`",lb="new-name"} 1`) {
		t.Fatalf("no series under the new name:\n%s", grep(text, "l4lb_"))
	}
	if strings.Contains(text, `lb="old-name"`) {
		t.Fatalf("series left under the old name:\n%s", grep(text, "l4lb_"))
	}
}

// stopBackend closes the listener of an echoBackend: new connections to it
// are refused from now on.
func stopBackend(t *testing.T, addr string) {
	t.Helper()
	stopped, ok := backends.LoadAndDelete(addr)
	if !ok {
		t.Fatalf("%s is not a test backend", addr)
	}
	stopped.(net.Listener).Close()
}

// scrape reads the metrics page. The metrics listener is a Caddy HTTP
// server, replaced on every reload: a scrape racing the old server's
// shutdown can be reset (its kept-alive connection closed, or a new one
// accepted just before the shutdown), so one error is retried; the series
// are what these tests check, not the scrape.
func scrape(t *testing.T, port int) string {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	res, err := http.Get(url)
	if err != nil {
		res, err = http.Get(url)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

func waitMetric(t *testing.T, port int, line string) {
	t.Helper()
	eventually.NoError(t, 0, "metrics line "+line, func() error {
		if text := scrape(t, port); !strings.Contains(text, line) {
			return fmt.Errorf("not in:\n%s", grep(text, "l4lb_"))
		}
		return nil
	})
}

// dns_backends through config.yaml and the system resolver: "localhost"
// resolves (from /etc/hosts) to the loopback address(es), each a backend.
func TestDNSBackendsFromConfigYAML(t *testing.T) {
	addr := echoBackend(t, "dns")
	_, port, _ := net.SplitHostPort(addr)
	lbPort := caddyrun.FreePort(t)
	load(t, fmt.Sprintf("port: %d\nalgorithm: roundrobin\ndns_backends: [localhost:%s]\ndns_refresh: 1h\nname: dns-lb\n"+
		"metrics_port: 0\nadmin: \"off\"\nhealth_check: {interval: 1h}\n", lbPort, port))
	t.Cleanup(func() { caddy.Stop() })
	for range 3 { // an address nothing listens on (::1) is skipped after its first failed dial
		c, _, name := greet(t, fmt.Sprintf("127.0.0.1:%d", lbPort))
		c.Close()
		if name != "dns" {
			t.Fatalf("greeted by %q", name)
		}
	}
}
