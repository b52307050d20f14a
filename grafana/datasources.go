package main

import (
	"encoding/json"
	"net/url"
	"regexp"

	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// The data sources of provisioning/datasources/datasources.yaml, by uid
// (dashboards_test.go checks that the file provisions exactly these).
const (
	prometheusUID   = "prometheus"
	jaegerUID       = "jaeger"
	victoriaLogsUID = "victorialogs"

	// The VictoriaLogs data source plugin (victoriametrics-logs-datasource,
	// docs/dashboards.md says how it is installed).
	victoriaLogsType = "victoriametrics-logs-datasource"
)

var (
	prometheusDS   = common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr(prometheusUID)}
	victoriaLogsDS = common.DataSourceRef{Type: ptr(victoriaLogsType), Uid: ptr(victoriaLogsUID)}
)

// exploreLogsURL is a Grafana Explore link that runs logsql on VictoriaLogs
// over the dashboard's time range. logsql may use dashboard variables in
// the ${name:singlequote} format ('a','b': LogsQL's quoting, and no double
// quote to break the JSON of the link). Grafana fills ${__from}, ${__to}
// and the variables in when the link is opened, so they stay unescaped.
func exploreLogsURL(logsql string) string {
	pane := map[string]any{
		"logs": map[string]any{
			"datasource": victoriaLogsUID,
			"queries": []map[string]any{{
				"refId":      "A",
				"datasource": victoriaLogsDS,
				"editorMode": "code",
				"expr":       logsql,
				"queryType":  "instant",
			}},
			"range": map[string]string{"from": "${__from}", "to": "${__to}"},
		},
	}
	js, err := json.Marshal(pane)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	q := url.QueryEscape(string(js))
	q = escapedVar.ReplaceAllStringFunc(q, func(s string) string {
		v, _ := url.QueryUnescape(s)
		return v
	})
	return "/explore?schemaVersion=1&orgId=1&panes=" + q
}

// escapedVar is a ${name} or ${name:format} after url.QueryEscape.
var escapedVar = regexp.MustCompile(`%24%7B[A-Za-z0-9_]+(%3A[a-z]+)?%7D`)
