package dashcheck

import (
	"slices"
	"testing"
)

func TestFillAsGrafana(t *testing.T) {
	values := map[string][]string{
		"endpoint": {"/api/profile/{userId}", "/api/feed"},
		"instance": {"gateway:9180"},
		"service":  {"user-service", "o'brien"},
	}
	builtins := map[string]string{"__rate_interval": "1m", "__from": "100"}
	for _, c := range []struct{ in, want string }{
		// The Prometheus data source: regex-escaped for a PromQL string
		// (each regex backslash doubled), alternation for several values.
		{`x{endpoint=~"$endpoint"}[$__rate_interval]`, `x{endpoint=~"(/api/profile/\\{userId\\}|/api/feed)"}[1m]`},
		{`x{instance=~"${instance}"}`, `x{instance=~"gateway:9180"}`},
		{`service:in(${service:singlequote})`, `service:in('user-service','o\'brien')`},
		{`${service:csv} ${__from}`, `user-service,o'brien 100`},
		{`no variables`, `no variables`},
	} {
		got, err := Fill(c.in, values, builtins)
		if err != nil || got != c.want {
			t.Errorf("Fill(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`$nope`, `${service:percentencode}`, `${__to}`} {
		if _, err := Fill(bad, values, builtins); err == nil {
			t.Errorf("Fill(%s): no error", bad)
		}
	}
}

func TestParseExploreLink(t *testing.T) {
	link := `/explore?schemaVersion=1&orgId=1&panes=%7B%22a%22%3A%7B%22datasource%22%3A%22vl%22%2C%22queries%22%3A%5B%7B%22expr%22%3A%22service%3Agateway%22%7D%5D%2C%22range%22%3A%7B%22from%22%3A%221%22%2C%22to%22%3A%222%22%7D%7D%7D`
	q, err := ParseExploreLink(link)
	if err != nil || q != (ExploreQuery{Datasource: "vl", Expr: "service:gateway", From: "1", To: "2"}) {
		t.Fatalf("%+v %v", q, err)
	}
	for _, bad := range []string{"/d/x", "/explore?panes=%7B", "/explore?panes=%7B%7D"} {
		if _, err := ParseExploreLink(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestLogsQLFields(t *testing.T) {
	got := LogsQLFields(`service:in('a:b') level:in(WARN, ERROR) "backend: down" (status:>=500 or trace_id:x) _msg:foo`)
	if want := []string{"service", "level", "status", "trace_id", "_msg"}; !slices.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
}

func TestParseLabelValues(t *testing.T) {
	sel, label, err := ParseLabelValues(`label_values(x{a=~"$b", c="d"}, instance)`)
	if err != nil || sel != `x{a=~"$b", c="d"}` || label != "instance" {
		t.Fatalf("%q %q %v", sel, label, err)
	}
	if _, _, err := ParseLabelValues(`query_result(up)`); err == nil {
		t.Fatal("no error")
	}
}
