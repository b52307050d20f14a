package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// Profiling rates while the debug listener is on. Block events of 10 µs or
// more are all recorded (shorter ones sampled in proportion) and one mutex
// contention event in 10: cheap enough to leave on under load, fine enough
// to show a lock that requests queue on.
const (
	debugBlockRateNs     = 10_000
	debugMutexFraction   = 10
	debugShutdownTimeout = 2 * time.Second
)

// StartDebug serves Go's profiles (net/http/pprof: CPU, heap, goroutine,
// block, mutex, execution trace) on addr, a separate listener that is off
// when addr is empty. Never publish it: it is for an operator or a benchmark
// on the internal network (DEBUG_ADDR, e.g. 127.0.0.1:6060 or :6060 on the
// compose network). It turns on the block and mutex profiles, which are off
// by default in Go. The returned stop closes the listener.
func StartDebug(addr string, log *slog.Logger) (stop func(context.Context) error, err error) {
	if addr == "" {
		return func(context.Context) error { return nil }, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listener %s: %w", addr, err)
	}
	runtime.SetBlockProfileRate(debugBlockRateNs)
	runtime.SetMutexProfileFraction(debugMutexFraction)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a CPU profile or trace streams for its ?seconds=.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug listener", "error", err.Error())
		}
	}()
	log.Info("debug listener (pprof)", "addr", ln.Addr().String())
	return func(ctx context.Context) error {
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
		return srv.Shutdown(ctx)
	}, nil
}
