package main

// The gateway's golden signals: traffic, errors, latency (with exemplars
// linking to the traces in Jaeger) and the requests its rate limits refused.

// gw selects the gateway series of the dashboard's variables.
const gw = `instance=~"$instance", endpoint=~"$endpoint"`

// gatewayLogs are the gateway's log lines (access log and its own).
const gatewayLogs = `service:gateway`

func overview() board {
	return board{
		file:  "overview",
		title: "Platform overview (gateway)",
		description: "Golden signals of the API as clients see it: every request through the gateway, by route " +
			"template. Latency panels carry exemplars: each dot is a request whose trace opens in Jaeger.",
		vars: []variable{
			{name: "instance", label: "Gateway", selector: "gateway_requests_total", labelName: "instance"},
			{name: "endpoint", label: "Endpoint", selector: `gateway_requests_total{instance=~"$instance"}`, labelName: "endpoint"},
		},
		rows: []row{
			{"Now", []panel{gatewayRequestRate(), gatewayServerErrorRatio(), gatewayClientErrorRatio(), gatewayP99()}},
			{"Traffic", []panel{gatewayRequestsByEndpoint(), gatewayRequestsByStatus()}},
			{"Errors", []panel{gatewayServerErrorsByEndpoint(), gatewayClientErrorsByEndpoint()}},
			{"Latency", []panel{gatewayLatencyByEndpoint(0.99), gatewayLatencyByEndpoint(0.5)}},
			{"Protection", []panel{gatewayRateLimited(), gatewayRequestsByMethod()}},
			{"Recording rules (prometheus/rules.yml)", []panel{ruleMeanLatency(), rulePostsRate(), ruleRequestsByMethod()}},
		},
	}
}

func gatewayRequestRate() panel {
	return panel{viz: vizStat, title: "Requests per second", unit: "reqps",
		description: "All requests through the gateway (the selected instances and endpoints).",
		queries:     []query{q(rate("gateway_requests_total", gw, ""), "requests/s")},
		logs:        gatewayLogs}
}

func gatewayServerErrorRatio() panel {
	return panel{viz: vizStat, title: "5xx ratio", unit: "percentunit",
		description: "Share of requests answered 5xx. The EndpointHighErrorRatio alert fires above 5% per endpoint.",
		queries:     []query{q(ratio("gateway_requests_total", gw, `code=~"5.."`, ""), "5xx")},
		steps:       []step{{0.01, "orange"}, {0.05, "red"}},
		logs:        gatewayLogs + ` status:>=500`}
}

func gatewayClientErrorRatio() panel {
	return panel{viz: vizStat, title: "4xx ratio", unit: "percentunit",
		description: "Share of requests answered 4xx: bad input, missing or expired tokens, rate limits. " +
			"A jump usually means a client or token problem, not a server one.",
		queries: []query{q(ratio("gateway_requests_total", gw, `code=~"4.."`, ""), "4xx")},
		steps:   []step{{0.1, "orange"}, {0.25, "red"}},
		logs:    gatewayLogs + ` status:>=400 status:<500`}
}

func gatewayP99() panel {
	return panel{viz: vizStat, title: "p99 latency", unit: "s",
		description: "99th percentile of the gateway's request latency, all selected endpoints together.",
		queries:     []query{q(quantile(0.99, "gateway_request_latency_seconds", gw, ""), "p99")},
		steps:       []step{{0.5, "orange"}, {1, "red"}}}
}

func gatewayRequestsByEndpoint() panel {
	return panel{title: "Requests per second by endpoint", unit: "reqps",
		queries: []query{q(rate("gateway_requests_total", gw, "method, endpoint"), "{{method}} {{endpoint}}")},
		logs:    gatewayLogs}
}

func gatewayRequestsByStatus() panel {
	return panel{title: "Requests per second by status", unit: "reqps", stacked: true,
		queries: []query{q(rate("gateway_requests_total", gw, "code"), "{{code}}")},
		logs:    gatewayLogs}
}

func gatewayServerErrorsByEndpoint() panel {
	return panel{title: "5xx ratio by endpoint", unit: "percentunit",
		description: "0 for an endpoint with traffic and no 5xx; no line for an endpoint without traffic.",
		queries:     []query{q(ratio("gateway_requests_total", gw, `code=~"5.."`, "endpoint"), "{{endpoint}}")},
		logs:        gatewayLogs + ` status:>=500`}
}

func gatewayClientErrorsByEndpoint() panel {
	return panel{title: "4xx ratio by endpoint", unit: "percentunit",
		queries: []query{q(ratio("gateway_requests_total", gw, `code=~"4.."`, "endpoint"), "{{endpoint}}")},
		logs:    gatewayLogs + ` status:>=400 status:<500`}
}

// gatewayLatencyByEndpoint: the quantile per endpoint, with the
// histogram's exemplars (trace ids) as dots that open the trace in Jaeger.
func gatewayLatencyByEndpoint(q float64) panel {
	return panel{title: percentile(q) + " latency by endpoint (exemplars: traces)", unit: "s",
		description: "Click an exemplar dot for its trace in Jaeger. The EndpointHighLatencyP99 alert fires when an " +
			"endpoint's p99 stays over 1s for 5 minutes.",
		queries: []query{qx(quantile(q, "gateway_request_latency_seconds", gw, "endpoint"), "{{endpoint}}")},
		logs:    gatewayLogs}
}

func gatewayRateLimited() panel {
	return panel{title: "Rate-limited requests (429) per second", unit: "reqps",
		description: "Requests a gateway rate limit refused, by endpoint (docs/rate-limits.md).",
		queries:     []query{q(rate("gateway_rate_limited_total", gw, "endpoint"), "{{endpoint}}")},
		logs:        gatewayLogs + ` status:429`}
}

func gatewayRequestsByMethod() panel {
	return panel{title: "Requests per second by method", unit: "reqps", stacked: true,
		queries: []query{q(rate("gateway_requests_total", gw, "method"), "{{method}}")}}
}

// The recording rules of SPEC.md section 5, as Prometheus evaluates them
// (all gateway instances together).

func ruleMeanLatency() panel {
	return panel{title: "Average latency by endpoint (1m)", unit: "s", width: 8,
		description: "Recording rule endpoint:gateway_request_latency_seconds:mean1m.",
		queries:     []query{q(`endpoint:gateway_request_latency_seconds:mean1m{endpoint=~"$endpoint"}`, "{{endpoint}}")}}
}

func rulePostsRate() panel {
	return panel{title: "POST /api/posts per second (1m)", unit: "reqps", width: 8,
		description: "Recording rule endpoint_method:gateway_requests:rate1m.",
		queries:     []query{q(`endpoint_method:gateway_requests:rate1m`, "{{method}} {{endpoint}}")}}
}

func ruleRequestsByMethod() panel {
	return panel{title: "Requests since start by method", unit: "short", width: 8,
		description: "Recording rule method:gateway_requests:sum: the counters' sum (it drops when a gateway restarts).",
		queries:     []query{q(`method:gateway_requests:sum`, "{{method}}")}}
}
