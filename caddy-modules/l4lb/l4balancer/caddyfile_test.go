package l4balancer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

// The Caddyfile form: a balancer inside caddy-l4's layer4 global option
// forwards connections, with every key set.
func TestCaddyfile(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	port := caddyrun.FreePort(t)
	caddyrun.Load(t, fmt.Sprintf(`{
	admin off
	layer4 {
		127.0.0.1:%d {
			route {
				caddysocial_balancer %s {
					backends %s
					name cf
					algorithm roundrobin
					rate 50
					dial_timeout 1s
					drain_timeout 1s
					idle_timeout 1m
					max_connections 10
					health_check {
						type tcp
						path /
						interval 1h
						timeout 1s
						fall 2
						rise 1
					}
				}
			}
		}
	}
}`, port, a.addr(), b.addr()))
	lb := lbUnderTest{addr: tcpAddr(port)}
	if got := dial(t, lb.Addr()).backend + dial(t, lb.Addr()).backend; got != "ab" {
		t.Fatalf("order %q, want ab", got)
	}
}

func TestCaddyfileParsesEveryKey(t *testing.T) {
	cfg, err := caddyrun.Adapt(`{
	layer4 {
		:9001 {
			route {
				caddysocial_balancer a:1 {
					backends b:2 c:3
					dns_backends svc-headless:5000 other:5001
					dns_refresh 3s
					name user-lb
					algorithm hashing
					rate 2.5
					idle_timeout 5m
					max_connections 7
					health_check {
						type http
						path /healthz
						fall 4
					}
				}
			}
		}
	}
}`)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Apps struct {
			Layer4 struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []struct {
							Handler string `json:"handler"`
							l4lb.Spec
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(cfg, &doc); err != nil {
		t.Fatal(err)
	}
	srv := doc.Apps.Layer4.Servers["srv0"]
	if len(srv.Routes) != 1 || len(srv.Routes[0].Handle) != 1 || srv.Routes[0].Handle[0].Handler != "caddysocial_balancer" {
		t.Fatalf("no balancer route in %s", cfg)
	}
	h := srv.Routes[0].Handle[0]
	if strings.Join(h.Backends, ",") != "a:1,b:2,c:3" || strings.Join(h.DNSBackends, ",") != "svc-headless:5000,other:5001" ||
		h.DNSRefresh != "3s" || h.Name != "user-lb" || h.Algorithm != "hashing" ||
		h.Rate != 2.5 || h.IdleTimeout != "5m" || h.MaxConnections != 7 || h.HealthCheck == nil ||
		h.HealthCheck.Type != "http" || h.HealthCheck.Path != "/healthz" || *h.HealthCheck.Fall != 4 {
		t.Fatalf("parsed %+v (health %+v)", h.Spec, h.HealthCheck)
	}
	for _, bad := range []string{"colour blue", "rate fast", "name", "dns_backends", "dns_refresh", "health_check {\n retries 3\n}"} {
		_, err := caddyrun.Adapt("{\n layer4 {\n  :9001 {\n   route {\n    caddysocial_balancer a:1 {\n     " + bad + "\n    }\n   }\n  }\n }\n}")
		if err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
