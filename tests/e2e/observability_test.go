package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// The observability backends, published on 127.0.0.1 by compose.override.yaml.
func jaegerURL() string { return envOr("E2E_JAEGER_URL", "http://127.0.0.1:26686") }
func vlogsURL() string  { return envOr("E2E_VLOGS_URL", "http://127.0.0.1:19428") }
func promURL() string   { return envOr("E2E_PROMETHEUS_URL", "http://127.0.0.1:19090") }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

var plain = &http.Client{Timeout: 10 * time.Second}

// getJSON GETs u and decodes the JSON answer; "" or what went wrong.
func getJSON(u string, v any) string {
	res, err := plain.Get(u)
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Sprintf("%s: %d %s", u, res.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Sprintf("%s: %v", u, err)
	}
	return ""
}

// newTraceparent is a sampled W3C traceparent with a fresh trace id.
func newTraceparent() (header, traceID string) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	traceID = hex.EncodeToString(b[:16])
	return "00-" + traceID + "-" + hex.EncodeToString(b[16:]) + "-01", traceID
}

// jaegerTrace is Jaeger's /api/traces/{id} answer.
type jaegerTrace struct {
	Data []struct {
		Spans []struct {
			OperationName string `json:"operationName"`
			ProcessID     string `json:"processID"`
			Tags          []struct {
				Key   string `json:"key"`
				Value any    `json:"value"`
			} `json:"tags"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
}

// traceSpans returns service -> span names of trace id in Jaeger.
func traceSpans(id string) (map[string][]string, string) {
	var tr jaegerTrace
	if err := getJSON(jaegerURL()+"/api/traces/"+id, &tr); err != "" {
		return nil, err
	}
	out := map[string][]string{}
	for _, d := range tr.Data {
		for _, s := range d.Spans {
			svc := d.Processes[s.ProcessID].ServiceName
			out[svc] = append(out[svc], s.OperationName)
		}
	}
	return out, ""
}

// logsOf returns the services of the log lines with trace_id id in VictoriaLogs.
func logsOf(id string) ([]string, string) {
	q := url.Values{"query": {fmt.Sprintf("trace_id:%q", id)}, "limit": {"100"}}
	res, err := plain.Get(vlogsURL() + "/select/logsql/query?" + q.Encode())
	if err != nil {
		return nil, err.Error()
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		return nil, fmt.Sprintf("logsql: %d %s", res.StatusCode, b)
	}
	var services []string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil {
			if s, _ := line["service"].(string); s != "" && !slices.Contains(services, s) {
				services = append(services, s)
			}
		}
	}
	slices.Sort(services)
	return services, ""
}

var allServices = []string{"feed-service", "gateway", "post-service", "user-service"}

// friendsWithPosts makes a reader who follows two authors with a post each.
func friendsWithPosts(t *testing.T) account {
	t.Helper()
	reader := newAccount(t, "tracer")
	for _, name := range []string{"traced1", "traced2"} {
		author := newAccount(t, name)
		want(t, call(t, "POST", "/api/posts", author.token, map[string]string{"content": "post by " + name}), 201)
		want(t, call(t, "POST", "/api/friends", reader.token, map[string]string{"friend_uuid": author.id}), 200)
	}
	return reader
}

// One GET /api/feed is one trace across the gateway, feed-service,
// user-service and post-service, with their database queries; its trace id
// finds log lines of each of them in VictoriaLogs within 5 s; the gateway's
// latency histogram has an exemplar pointing at a stored trace.
func TestTelemetryFeedTrace(t *testing.T) {
	reader := friendsWithPosts(t)
	tp, traceID := newTraceparent()
	r := call(t, "GET", "/api/feed", reader.token, nil, "traceparent", tp)
	want(t, r, 200)
	done := time.Now()

	// Logs first: the 5 s budget runs from the answer.
	var services []string
	eventually(t, 5*time.Second, "log lines of every hop in VictoriaLogs", func() string {
		var err string
		if services, err = logsOf(traceID); err != "" {
			return err
		}
		if !slices.Equal(services, allServices) {
			return fmt.Sprintf("services %v", services)
		}
		return ""
	})
	t.Logf("logs of %v found %.1fs after the answer", services, time.Since(done).Seconds())
	// The balancers' own logs (startup, health) are there too.
	for _, lb := range []string{"user-lb", "post-lb"} {
		q := url.Values{"query": {"service:" + lb}, "limit": {"1"}}
		res, err := plain.Get(vlogsURL() + "/select/logsql/query?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), `"service":"`+lb+`"`) {
			t.Errorf("no log line of %s in VictoriaLogs: %d %s", lb, res.StatusCode, body)
		}
	}

	eventually(t, 30*time.Second, "the trace in Jaeger", func() string {
		spans, err := traceSpans(traceID)
		if err != "" {
			return err
		}
		for _, svc := range allServices {
			if len(spans[svc]) == 0 {
				return fmt.Sprintf("no span of %s yet: %v", svc, spans)
			}
		}
		if !slices.Contains(spans["gateway"], "GET /api/feed") {
			return fmt.Sprintf("gateway spans %v", spans["gateway"])
		}
		for _, svc := range []string{"user-service", "post-service"} {
			if !slices.Contains(spans[svc], "SELECT") {
				return fmt.Sprintf("no database query span of %s: %v", svc, spans[svc])
			}
		}
		return ""
	})

	// An exemplar of the gateway histogram names a trace Jaeger has.
	eventually(t, 60*time.Second, "an exemplar pointing at a stored trace", func() string {
		q := url.Values{
			"query": {`gateway_request_latency_seconds_bucket{endpoint="/api/feed"}`},
			"start": {fmt.Sprint(done.Add(-10 * time.Minute).Unix())},
			"end":   {fmt.Sprint(time.Now().Unix() + 1)},
		}
		var ex struct {
			Data []struct {
				Exemplars []struct {
					Labels map[string]string `json:"labels"`
				} `json:"exemplars"`
			} `json:"data"`
		}
		if err := getJSON(promURL()+"/api/v1/query_exemplars?"+q.Encode(), &ex); err != "" {
			return err
		}
		for _, series := range ex.Data {
			for _, e := range series.Exemplars {
				if id := e.Labels["trace_id"]; id != "" {
					if spans, err := traceSpans(id); err == "" && len(spans["gateway"]) > 0 {
						return ""
					}
				}
			}
		}
		return "no exemplar of /api/feed with a trace in Jaeger yet"
	})
}

// TestOutageTelemetryBackends: with VictoriaLogs and Jaeger stopped, every
// request still succeeds; when they return, new requests' logs and traces
// arrive again.
func TestOutageTelemetryBackends(t *testing.T) {
	reader := friendsWithPosts(t)
	compose(t, "stop", "victoria-logs", "jaeger")
	restarted := false
	defer func() {
		if !restarted {
			compose(t, "start", "victoria-logs", "jaeger")
		}
	}()
	for i := range 40 {
		tp, _ := newTraceparent()
		path := "/api/feed"
		if i%2 == 1 {
			path = "/api/profile/me"
		}
		if r := call(t, "GET", path, reader.token, nil, "traceparent", tp); r.status != 200 {
			t.Fatalf("request %d during the outage: %d %s", i, r.status, r.raw)
		}
	}
	compose(t, "start", "victoria-logs", "jaeger")
	restarted = true

	// The shippers and exporters retry on their own: a request made after
	// the backends are back is found in both.
	// Up to the shippers' 10 s backoff plus the restarted containers' start.
	eventually(t, 90*time.Second, "telemetry of a request after the outage", func() string {
		tp, traceID := newTraceparent()
		if r := call(t, "GET", "/api/feed", reader.token, nil, "traceparent", tp); r.status != 200 {
			return fmt.Sprintf("feed %d", r.status)
		}
		// Each process sends its spans every 5 s (the batch span
		// processor's default delay) and its logs every 0.5 s: give this
		// request's telemetry that long before trying a new request.
		var last string
		for deadline := time.Now().Add(12 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
			services, err := logsOf(traceID)
			if err != "" || !slices.Equal(services, allServices) {
				last = fmt.Sprintf("logs: %v %s", services, err)
				continue
			}
			spans, err := traceSpans(traceID)
			if err != "" || len(spans) < len(allServices) {
				last = fmt.Sprintf("trace: %v %s", spans, err)
				continue
			}
			return ""
		}
		return last
	})
}
