package caddymodules_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddysocial/platform/svckit/eventually"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// span is what the OTLP receiver keeps of an exported span.
type span struct {
	service, name, traceID, spanID, parentID string
}

// collector receives OTLP/HTTP protobuf traces (what Jaeger's receiver on
// 4318 takes) and VictoriaLogs /insert/jsonline lines.
type collector struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []span
	lines []map[string]any
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/v1/traces":
			var req coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			c.mu.Lock()
			for _, rs := range req.ResourceSpans {
				service := ""
				for _, a := range rs.Resource.GetAttributes() {
					if a.Key == "service.name" {
						service = a.Value.GetStringValue()
					}
				}
				for _, ss := range rs.ScopeSpans {
					for _, s := range ss.Spans {
						c.spans = append(c.spans, span{service, s.Name, hex.EncodeToString(s.TraceId),
							hex.EncodeToString(s.SpanId), hex.EncodeToString(s.ParentSpanId)})
					}
				}
			}
			c.mu.Unlock()
			w.Header().Set("Content-Type", "application/x-protobuf")
			b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
			w.Write(b)
		case "/insert/jsonline":
			c.mu.Lock()
			sc := bufio.NewScanner(strings.NewReader(string(body)))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var m map[string]any
				if json.Unmarshal(sc.Bytes(), &m) == nil {
					c.lines = append(c.lines, m)
				}
			}
			c.mu.Unlock()
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) spansOf(traceID string) []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []span
	for _, s := range c.spans {
		if s.traceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

func (c *collector) logsOf(traceID string) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, l := range c.lines {
		if l["trace_id"] == traceID {
			out = append(out, l)
		}
	}
	return out
}

// The repository's Caddyfile with tracing exported over OTLP and logs
// shipped: a request continuing a caller's trace gets a gateway span named
// after its route, passes the trace on upstream, has an exemplar on the
// latency histogram and an access log line with its trace_id in the log
// store; a login's trace shows the password hashing and auth-db queries.
func TestGatewayTelemetry(t *testing.T) {
	c := newCollector(t)
	g := startGatewayEnv(t, map[string]string{
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": c.srv.URL,
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_SERVICE_NAME":           "gateway",
		"OTEL_TRACES_SAMPLER":         "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":     "1",
		"OTEL_BSP_SCHEDULE_DELAY":     "50",
		"VICTORIA_LOGS_URL":           c.srv.URL,
	})
	token, _ := g.login(t, "telemetry@example.com")

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	seen := g.proxied(t, "GET", "/api/profile/me", token, "traceparent", "00-"+traceID+"-"+parentID+"-01")
	if tp := seen.Header.Get("Traceparent"); !strings.HasPrefix(tp, "00-"+traceID+"-") || strings.Contains(tp, parentID) {
		t.Errorf("upstream got traceparent %q, want the trace continued with the gateway's span", tp)
	}

	eventually.True(t, 0, "the gateway span", func() bool { return len(c.spansOf(traceID)) > 0 })
	gw := c.spansOf(traceID)[0]
	if gw.name != "GET /api/profile/me" || gw.parentID != parentID || gw.service != "gateway" {
		t.Errorf("gateway span = %+v", gw)
	}

	// The login's trace: argon2id and auth-db spans under the gateway span.
	var loginTrace string
	eventually.True(t, 0, "the login trace", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, s := range c.spans {
			if s.name == "POST /api/auth/login" {
				loginTrace = s.traceID
				return true
			}
		}
		return false
	})
	eventually.True(t, 0, "hashing and query spans", func() bool {
		names := map[string]bool{}
		for _, s := range c.spansOf(loginTrace) {
			names[s.name] = true
		}
		return names["argon2id verify"] && (names["SELECT"] || names["WITH"] || names["query"] || names["INSERT"])
	})

	// The exemplar, in the OpenMetrics exposition Prometheus asks for.
	req, _ := http.NewRequest("GET", g.metrics, nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	want := fmt.Sprintf(`# {trace_id="%s"}`, traceID)
	found := false
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, "gateway_request_latency_seconds_bucket{") && strings.Contains(line, `endpoint="/api/profile/me"`) && strings.Contains(line, want) {
			found = true
		}
	}
	if !found {
		t.Errorf("no latency bucket of /api/profile/me has the exemplar %s", want)
	}

	// The access log line, with the trace and span ids.
	eventually.True(t, 0, "the access log line in the log store", func() bool { return len(c.logsOf(traceID)) > 0 })
	line := c.logsOf(traceID)[0]
	if line["service"] != "gateway" || line["span_id"] != gw.spanID || line["msg"] != "handled request" {
		t.Errorf("access log line = %v", line)
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(line["ts"])); err != nil {
		t.Errorf("ts %v is not RFC 3339 (VictoriaLogs' _time_field): %v", line["ts"], err)
	}
	// The shipper's counters are on the metrics endpoint.
	if !strings.Contains(string(body), `log_shipper_lines_sent_total{writer="gateway"}`) {
		t.Error("no log_shipper_lines_sent_total on the metrics endpoint")
	}
}
