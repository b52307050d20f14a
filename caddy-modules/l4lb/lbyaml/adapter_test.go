package lbyaml

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
)

// echoBackend greets with its name, then echoes lines.
func echoBackend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
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
		Apps  map[string]json.RawMessage
	}
	if err := json.Unmarshal(cfg, &doc); err != nil {
		t.Fatal(err)
	}
	l4 := string(doc.Apps["l4lb"])
	for _, want := range []string{`"listen":":9001"`, `"algorithm":"roundrobin"`, `"user-service-2:5000"`, `"name":"test-lb"`} {
		if !strings.Contains(l4, want) {
			t.Errorf("l4lb app %s lacks %s", l4, want)
		}
	}
	if !strings.Contains(string(doc.Apps["http"]), `":9100"`) || !doc.Admin.Disabled {
		t.Errorf("config %s", cfg)
	}
	_, _, err = Adapter{}.Adapt([]byte("port: 9001\nalgorithm: fastest\nbackends: [a:1]\n"), map[string]any{"filename": "lb-configs/user-lb.yaml"})
	if err == nil || !strings.Contains(err.Error(), `lb-configs/user-lb.yaml: algorithm: unknown algorithm "fastest"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestReloadKeepsListenerAndConnections(t *testing.T) {
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
			c, err := net.DialTimeout("tcp", lbAddr, time.Second)
			dialed.Add(1)
			if err != nil {
				refused.Add(1)
				continue
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
				refused.Add(1)
			}
			c.Close()
		}
	})
	time.Sleep(100 * time.Millisecond)
	load(t, config(port, metricsPort, b))
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if refused.Load() != 0 {
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
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(body)
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
