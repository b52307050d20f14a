package logship

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace"
)

func spanContext(t *testing.T) (context.Context, trace.SpanContext) {
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	sid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	return trace.ContextWithSpanContext(context.Background(), sc), sc
}

func TestTraceHandlerAddsIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(TraceHandler{slog.NewJSONHandler(&buf, nil)}).With("service", "s")
	ctx, _ := spanContext(t)
	log.InfoContext(ctx, "request")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first["trace_id"] != "0af7651916cd43dd8448eb211c80319c" || first["span_id"] != "b7ad6b7169203331" || first["service"] != "s" {
		t.Errorf("traced line = %v", first)
	}
	if _, ok := second["trace_id"]; ok {
		t.Errorf("untraced line has a trace_id: %v", second)
	}
}

func TestSetupShipsAllAndPrintsWarnings(t *testing.T) {
	st := newStore(t)
	var stdout bytes.Buffer
	lg, err := Setup(&stdout, st.srv.URL, "user-service")
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ := spanContext(t)
	lg.Log.InfoContext(ctx, "request", "status", 200)
	lg.Log.Warn("slow database")
	if err := lg.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.count() != 2 {
		t.Fatalf("shipped %d lines, want 2", st.count())
	}
	if st.lines[0]["trace_id"] != "0af7651916cd43dd8448eb211c80319c" || st.lines[0]["service"] != "user-service" {
		t.Errorf("shipped line = %v", st.lines[0])
	}
	if out := stdout.String(); strings.Contains(out, `"request"`) || !strings.Contains(out, "slow database") {
		t.Errorf("stdout = %q, want the warning only", out)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(lg.Collectors...)
	if n, err := testutil.GatherAndCount(reg, "log_shipper_lines_sent_total", "log_shipper_lines_dropped_total"); err != nil || n != 2 {
		t.Errorf("collectors: %d series, %v", n, err)
	}
}

func TestSetupWithoutURLWritesStdout(t *testing.T) {
	var stdout bytes.Buffer
	lg, err := Setup(&stdout, "", "post-service")
	if err != nil {
		t.Fatal(err)
	}
	lg.Log.Info("request")
	if !strings.Contains(stdout.String(), `"service":"post-service"`) || len(lg.Collectors) != 0 {
		t.Errorf("stdout = %q, collectors %d", stdout.String(), len(lg.Collectors))
	}
	if _, err := Setup(&stdout, "not a url", "x"); err == nil {
		t.Error("Setup accepted a bad URL")
	}
}
