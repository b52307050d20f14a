package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/caddysocial/platform/svckit/pgtest"
)

var recorder = tracetest.NewSpanRecorder()

func TestMain(m *testing.M) {
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))
	otel.SetTextMapPropagator(Propagator())
	os.Exit(m.Run())
}

// spansOf returns the ended spans of trace tid.
func spansOf(tid trace.TraceID) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range recorder.Ended() {
		if s.SpanContext().TraceID() == tid {
			out = append(out, s)
		}
	}
	return out
}

const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func TestEnabled(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://jaeger:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_SDK_DISABLED": "true"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
	} {
		if got := Enabled(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("Enabled(%v) = %v, want %v", c.env, got, c.want)
		}
	}
}

// The server span continues the caller's trace, is named after the route
// pattern, and the client span of a call made while serving carries the
// trace on to the next hop; probes make no span.
func TestHandlerAndTransportPropagate(t *testing.T) {
	var gotParent string
	next := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotParent = r.Header.Get("traceparent")
	}))
	defer next.Close()
	client := &http.Client{Transport: Transport(http.DefaultTransport)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /profile/{userId}", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, next.URL, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		res.Body.Close()
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if trace.SpanContextFromContext(r.Context()).IsValid() {
			t.Error("a probe got a span")
		}
	})
	srv := httptest.NewServer(Handler(mux, "user-service"))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/profile/0b4b0a52-1f5e-4d4c-9a1c-9d1f1c1e1a1b", nil)
	req.Header.Set("traceparent", parent)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if _, err := http.Get(srv.URL + "/healthz"); err != nil {
		t.Fatal(err)
	}

	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	spans := spansOf(tid)
	var server, clientSpan sdktrace.ReadOnlySpan
	for _, s := range spans {
		switch s.SpanKind() {
		case trace.SpanKindServer:
			server = s
		case trace.SpanKindClient:
			clientSpan = s
		}
	}
	if server == nil || clientSpan == nil {
		t.Fatalf("spans of the trace: %d, want a server and a client span", len(spans))
	}
	if server.Name() != "GET /profile/{userId}" || server.Parent().SpanID().String() != "b7ad6b7169203331" {
		t.Errorf("server span %q with parent %s", server.Name(), server.Parent().SpanID())
	}
	if clientSpan.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Error("the client span is not the server span's child")
	}
	want := "00-0af7651916cd43dd8448eb211c80319c-" + clientSpan.SpanContext().SpanID().String() + "-01"
	if gotParent != want {
		t.Errorf("next hop got traceparent %q, want %q", gotParent, want)
	}
}

// Against a real PostgreSQL: a query of a traced request is a child span
// named by its verb with the statement (never the arguments); a failing
// query is an error span; a query outside a trace makes no span.
func TestQueryTracer(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = QueryTracer{DBName: cfg.ConnConfig.Database}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	before := len(recorder.Ended())
	if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if n := len(recorder.Ended()); n != before {
		t.Fatalf("an untraced query made %d spans", n-before)
	}

	tctx, span := otel.Tracer("test").Start(ctx, "request")
	var n int
	if err := pool.QueryRow(tctx, "SELECT $1::int + 1", 41).Scan(&n); err != nil || n != 42 {
		t.Fatal(n, err)
	}
	if _, err := pool.Exec(tctx, "INSERT INTO missing_table VALUES (1)"); err == nil {
		t.Fatal("insert into a missing table succeeded")
	}
	span.End()

	spans := spansOf(span.SpanContext().TraceID())
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
	}
	sel, ins := byName["SELECT"], byName["INSERT"]
	if sel == nil || ins == nil {
		t.Fatalf("spans: %v", byName)
	}
	attrs := map[string]string{}
	for _, a := range sel.Attributes() {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs["db.query.text"] != "SELECT $1::int + 1" || attrs["db.system.name"] != "postgresql" || attrs["db.namespace"] != cfg.ConnConfig.Database {
		t.Errorf("SELECT attributes = %v", attrs)
	}
	if sel.Parent().SpanID() != span.SpanContext().SpanID() || sel.SpanKind() != trace.SpanKindClient {
		t.Error("the query span is not a client child of the request span")
	}
	if ins.Status().Code.String() != "Error" {
		t.Errorf("failed INSERT status = %v", ins.Status())
	}
}

func TestQueryName(t *testing.T) {
	for sql, want := range map[string]string{
		"select 1": "SELECT", "\n  INSERT INTO t": "INSERT", "WITH x AS (...) SELECT": "query", "": "query",
	} {
		if got := queryName(sql); got != want {
			t.Errorf("queryName(%q) = %q, want %q", sql, got, want)
		}
	}
}
