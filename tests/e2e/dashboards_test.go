package e2e

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddysocial/platform/grafana/dashcheck"
)

// The dashboards' files and the data sources Grafana is provisioned with.
const (
	dashboardsDir   = "../../grafana/dashboards"
	datasourcesFile = "../../grafana/provisioning/datasources/datasources.yaml"
)

// dashboardWindow is the time range the dashboards' queries run over:
// the run so far (run.sh calls this test after the Locust phase).
const dashboardWindow = 15 * time.Minute

// TestDashboards runs every query of every panel of grafana/dashboards on
// the live platform, as Grafana would with each variable on "All" (its
// values taken from Prometheus, as Grafana takes them):
//   - every PromQL query parses and returns at least one series over the
//     window (a renamed metric leaves its panel empty: the test fails);
//   - every variable has at least one value;
//   - each latency query with exemplars has exemplars, and their trace ids
//     (the provisioned exemplar link) are traces in Jaeger;
//   - every LogsQL query (logs panels, the panels' Explore links to
//     VictoriaLogs) runs, on fields the logs have; the trace_id of a log
//     line (the provisioned derived field) is a trace in Jaeger, and a
//     trace's logs (Jaeger's provisioned trace-to-logs query) are found.
//
// Grafana itself does not run here (no image): docs/dashboards.md.
func TestDashboards(t *testing.T) {
	dashes, err := dashcheck.Load(dashboardsDir)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dashcheck.LoadDatasources(datasourcesFile)
	if err != nil {
		t.Fatal(err)
	}
	c := &dashChecker{t: t, ds: ds, end: time.Now()}
	c.start = c.end.Add(-dashboardWindow)
	c.builtins = map[string]string{
		"__rate_interval": "1m", "__interval": "15s", "__range": fmt.Sprintf("%ds", int(dashboardWindow.Seconds())),
		"__from": strconv.FormatInt(c.start.UnixMilli(), 10), "__to": strconv.FormatInt(c.end.UnixMilli(), 10),
	}
	queries := 0
	for _, d := range dashes {
		t.Run(d.File, func(t *testing.T) {
			c.t = t
			values := c.variables(d)
			for _, p := range d.Panels {
				for _, q := range p.Queries {
					c.query(p.Title, q, values)
					queries++
				}
				for _, l := range p.Links {
					c.link(p.Title, l, values)
				}
			}
		})
	}
	c.t = t
	c.tracesOfLogs()
	c.logsOfTrace()
	t.Logf("%d dashboards, %d queries, %d links, %d exemplar traces and %d log traces found in Jaeger",
		len(dashes), queries, c.links, c.exemplarTraces, c.logTraces)
}

type dashChecker struct {
	t          *testing.T
	ds         map[string]dashcheck.Datasource
	start, end time.Time
	builtins   map[string]string

	links                     int
	exemplarTraces, logTraces int
	logTraceIDs               []string // from log lines of the link queries
	exemplarTraceIDs          []string
	fields                    map[string]bool // VictoriaLogs' field names in the window
}

// variables resolves d's variables in order, each to every value of its
// label on the series its selector (filled with the earlier ones) matches.
func (c *dashChecker) variables(d dashcheck.Dashboard) map[string][]string {
	values := map[string][]string{}
	for _, v := range d.Variables {
		sel, err := dashcheck.Fill(v.Selector, values, c.builtins)
		if err != nil {
			c.t.Fatalf("variable %s: %v", v.Name, err)
		}
		var res struct {
			Data []map[string]string `json:"data"`
		}
		q := url.Values{"match[]": {sel}, "start": {c.unix(c.start)}, "end": {c.unix(c.end)}}
		if err := getJSON(promURL()+"/api/v1/series?"+q.Encode(), &res); err != "" {
			c.t.Fatalf("variable %s: %s", v.Name, err)
		}
		var vals []string
		for _, s := range res.Data {
			if x := s[v.Label]; x != "" && !slices.Contains(vals, x) {
				vals = append(vals, x)
			}
		}
		if len(vals) == 0 {
			c.t.Fatalf("variable %s: no series %s has a %s label", v.Name, sel, v.Label)
		}
		slices.Sort(vals)
		values[v.Name] = vals
	}
	return values
}

func (c *dashChecker) query(panel string, q dashcheck.Query, values map[string][]string) {
	expr, err := dashcheck.Fill(q.Expr, values, c.builtins)
	if err != nil {
		c.t.Errorf("panel %q: %v", panel, err)
		return
	}
	switch c.ds[q.Datasource].Type {
	case "prometheus":
		var res struct {
			Data struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		u := promURL() + "/api/v1/query_range?" + url.Values{"query": {expr},
			"start": {c.unix(c.start)}, "end": {c.unix(c.end)}, "step": {"15"}}.Encode()
		if err := getJSON(u, &res); err != "" {
			c.t.Errorf("panel %q: %s", panel, err)
		} else if len(res.Data.Result) == 0 {
			c.t.Errorf("panel %q: no series over the last %s for %s", panel, dashboardWindow, expr)
		}
		if q.Exemplar {
			c.exemplars(panel, expr)
		}
	case "victoriametrics-logs-datasource":
		c.logsql(panel, expr, c.start, c.end)
	default:
		c.t.Errorf("panel %q: data source %q is not provisioned", panel, q.Datasource)
	}
}

// exemplars: the query's histogram has exemplars, and the newest of them
// that are older than the span exporters' delay are traces in Jaeger.
func (c *dashChecker) exemplars(panel, expr string) {
	dest := c.ds["prometheus"].JSON.ExemplarTraceIDDestinations
	if len(dest) == 0 {
		c.t.Errorf("panel %q: exemplars, and no exemplarTraceIdDestinations provisioned", panel)
		return
	}
	label := dest[0].Name
	var res struct {
		Data []struct {
			Exemplars []struct {
				Labels    map[string]string `json:"labels"`
				Timestamp float64           `json:"timestamp"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	u := promURL() + "/api/v1/query_exemplars?" + url.Values{"query": {expr},
		"start": {c.unix(c.start)}, "end": {c.unix(c.end)}}.Encode()
	if err := getJSON(u, &res); err != "" {
		c.t.Errorf("panel %q: exemplars: %s", panel, err)
		return
	}
	type ex struct {
		id string
		at float64
	}
	var all []ex
	settled := float64(c.end.Add(-15 * time.Second).Unix())
	for _, s := range res.Data {
		for _, e := range s.Exemplars {
			if id := e.Labels[label]; id != "" && e.Timestamp < settled {
				all = append(all, ex{id, e.Timestamp})
			}
		}
	}
	if len(all) == 0 {
		c.t.Errorf("panel %q: no exemplar with a %s label over the last %s", panel, label, dashboardWindow)
		return
	}
	slices.SortFunc(all, func(a, b ex) int { return cmp.Compare(b.at, a.at) })
	for _, e := range all[:min(3, len(all))] {
		if spans, err := traceSpans(e.id); err != "" || len(spans) == 0 {
			c.t.Errorf("panel %q: exemplar trace %s not in Jaeger: %v %s", panel, e.id, spans, err)
			continue
		}
		c.exemplarTraces++
		c.exemplarTraceIDs = append(c.exemplarTraceIDs, e.id)
	}
}

// link: a panel's Explore link, filled in as Grafana does, runs its LogsQL
// query over the link's time range.
func (c *dashChecker) link(panel, link string, values map[string][]string) {
	filled, err := dashcheck.Fill(link, values, c.builtins)
	if err != nil {
		c.t.Errorf("panel %q: link: %v", panel, err)
		return
	}
	eq, err := dashcheck.ParseExploreLink(filled)
	if err != nil {
		c.t.Errorf("panel %q: %v", panel, err)
		return
	}
	if c.ds[eq.Datasource].Type != "victoriametrics-logs-datasource" {
		c.t.Errorf("panel %q: link to data source %q, want VictoriaLogs", panel, eq.Datasource)
		return
	}
	from, err1 := strconv.ParseInt(eq.From, 10, 64)
	to, err2 := strconv.ParseInt(eq.To, 10, 64)
	if err1 != nil || err2 != nil || from != c.start.UnixMilli() || to != c.end.UnixMilli() {
		c.t.Errorf("panel %q: link's time range %s..%s is not the dashboard's", panel, eq.From, eq.To)
		return
	}
	c.links++
	rows := c.logsql(panel, eq.Expr, time.UnixMilli(from), time.UnixMilli(to))
	for _, r := range rows {
		if id := r[c.traceField()]; id != "" && !slices.Contains(c.logTraceIDs, id) {
			c.logTraceIDs = append(c.logTraceIDs, id)
		}
	}
}

// logsql runs query on VictoriaLogs; it must succeed and filter only on
// fields the logs have. It returns the newest rows settled for 15s.
func (c *dashChecker) logsql(panel, query string, start, end time.Time) []map[string]string {
	for _, f := range dashcheck.LogsQLFields(query) {
		if !c.logFields()[f] {
			c.t.Errorf("panel %q: LogsQL %s: no log line has the field %q", panel, query, f)
		}
	}
	q := url.Values{"query": {query}, "start": {c.unix(start)}, "end": {c.unix(end.Add(-15 * time.Second))}, "limit": {"20"}}
	res, err := plain.Get(vlogsURL() + "/select/logsql/query?" + q.Encode())
	if err != nil {
		c.t.Errorf("panel %q: LogsQL %s: %v", panel, query, err)
		return nil
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		body, _ := io.ReadAll(res.Body)
		c.t.Errorf("panel %q: LogsQL %s: %d %s", panel, query, res.StatusCode, body)
		return nil
	}
	var rows []map[string]string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row map[string]string
		if json.Unmarshal(sc.Bytes(), &row) == nil {
			rows = append(rows, row)
		}
	}
	return rows
}

// logFields are the field names of VictoriaLogs' log lines in the window.
func (c *dashChecker) logFields() map[string]bool {
	if c.fields == nil {
		var res struct {
			Values []struct {
				Value string `json:"value"`
			} `json:"values"`
		}
		q := url.Values{"query": {"*"}, "start": {c.unix(c.start)}, "end": {c.unix(c.end)}}
		if err := getJSON(vlogsURL()+"/select/logsql/field_names?"+q.Encode(), &res); err != "" {
			c.t.Fatalf("VictoriaLogs field names: %s", err)
		}
		c.fields = map[string]bool{}
		for _, v := range res.Values {
			c.fields[v.Value] = true
		}
	}
	return c.fields
}

// traceField is the log field the VictoriaLogs data source links to Jaeger.
func (c *dashChecker) traceField() string {
	for _, f := range c.ds["victorialogs"].JSON.DerivedFields {
		if c.ds[f.DatasourceUID].Type == "jaeger" {
			return f.MatcherRegex
		}
	}
	c.t.Fatal("no derived field of VictoriaLogs links to Jaeger")
	return ""
}

// tracesOfLogs: the trace links of log lines the dashboards' links found
// (the newest few) are traces in Jaeger.
func (c *dashChecker) tracesOfLogs() {
	if len(c.logTraceIDs) == 0 {
		c.t.Errorf("no log line found through the dashboards' links has a %s", c.traceField())
		return
	}
	for _, id := range c.logTraceIDs[:min(3, len(c.logTraceIDs))] {
		if spans, err := traceSpans(id); err != "" || len(spans) == 0 {
			c.t.Errorf("log line's trace %s not in Jaeger: %v %s", id, spans, err)
			continue
		}
		c.logTraces++
	}
}

// logsOfTrace: Jaeger's trace-to-logs query finds an exemplar trace's logs.
func (c *dashChecker) logsOfTrace() {
	l := c.ds["jaeger"].JSON.TracesToLogs
	if l == nil || len(c.exemplarTraceIDs) == 0 {
		c.t.Errorf("no trace-to-logs query (%v) or no exemplar trace to try it on", l)
		return
	}
	id := c.exemplarTraceIDs[0]
	// Provisioning files write a literal "$" as "$$".
	query := strings.ReplaceAll(strings.ReplaceAll(l.Query, "$$", "$"), "${__trace.traceId}", id)
	if rows := c.logsql("Jaeger trace to logs", query, c.start, c.end); len(rows) == 0 {
		c.t.Errorf("trace-to-logs query %s found no log line", query)
	}
}

func (c *dashChecker) unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
