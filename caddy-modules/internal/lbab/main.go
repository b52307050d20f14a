//go:build ignore

package main

import (
	"context"
	"flag"
	"net"
	"os"
	"os/signal"
	"time"

	"go.uber.org/zap"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:16380", "")
	backend := flag.String("backend", "127.0.0.1:15080", "")
	flag.Parse()
	lc := net.ListenConfig{}
	if os.Getenv("X_NOKA") != "" {
		lc.KeepAlive = -1
	}
	ln, err := lc.Listen(context.Background(), "tcp", *listen)
	if err != nil {
		panic(err)
	}
	sel, _ := l4lb.NewSelector("roundrobin")
	b := &l4lb.Balancer{Name: "ab", Backends: []*l4lb.Backend{l4lb.NewBackend(*backend)}, Selector: sel,
		DialTimeout: 2 * time.Second, HealthCheck: l4lb.HealthCheck{Interval: time.Hour, Timeout: time.Second, Fall: 3, Rise: 2, Type: "tcp"},
		Metrics: l4lb.NewMetrics()}
	b.Start()
	s, _ := l4lb.NewServer(ln, zap.NewNop())
	s.SetBalancer(b)
	s.Serve()
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	<-c
}
