package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"
)

func TestStartDebugServesProfiles(t *testing.T) {
	stop, err := StartDebug("", slog.New(slog.DiscardHandler))
	if err != nil || stop(context.Background()) != nil {
		t.Fatalf("StartDebug without an address: %v", err)
	}
	if runtime.SetMutexProfileFraction(-1) != 0 {
		t.Fatal("the mutex profile is on without a debug listener")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err = StartDebug(addr, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/debug/pprof/block", "/debug/pprof/mutex", "/debug/pprof/goroutine", "/debug/pprof/trace?seconds=0.1"} {
		res, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %d, %d bytes", path, res.StatusCode, len(body))
		}
	}
	if f := runtime.SetMutexProfileFraction(-1); f != debugMutexFraction {
		t.Errorf("mutex profile fraction %d with the debug listener on, want %d", f, debugMutexFraction)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if runtime.SetMutexProfileFraction(-1) != 0 {
		t.Error("the mutex profile is still on after stop")
	}
	if _, err := StartDebug("127.0.0.1:notaport", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("StartDebug with a bad address: no error")
	}
}
