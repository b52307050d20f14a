package main

// The feed: its latency at the gateway (with exemplars) and in
// feed-service, feed-service's calls to the balancers, its username cache
// and the live feed (SSE).

// feedSvc selects feed-service's series of the dashboard's instances.
const feedSvc = `job="services", service="feed-service", instance=~"$instance"`

// feedGateway selects the gateway's GET /api/feed (not the SSE stream,
// whose requests last as long as the client stays).
const feedGateway = `endpoint="/api/feed", method="GET"`

const feedLogs = `service:feed-service`

func feed() board {
	return board{
		file:  "feed",
		title: "Feed",
		description: "GET /api/feed end to end: the gateway's view (with exemplars linking to traces), " +
			"feed-service's own latency, its calls to user-lb and post-lb, its username cache and the live feed.",
		vars: []variable{
			{name: "instance", label: "feed-service instance", selector: `http_requests_total{service="feed-service"}`, labelName: "instance"},
		},
		rows: []row{
			{"Now", []panel{feedP99Now(), feedCacheHitRatioNow(), feedIncompleteNow(), feedStreamsNow()}},
			{"Latency", []panel{feedLatencyAtGateway(), feedServiceLatency()}},
			{"Upstreams (user-lb, post-lb)", []panel{feedUpstreamLatency(), feedUpstreamOutcomes(), feedCircuitBreakers()}},
			{"Cache and live feed", []panel{feedCacheLookups(), feedIncomplete(), feedLiveFeed()}},
		},
	}
}

func feedP99Now() panel {
	return panel{viz: vizStat, title: "GET /api/feed p99 at the gateway", unit: "s",
		queries: []query{q(quantile(0.99, "gateway_request_latency_seconds", feedGateway, ""), "p99")},
		steps:   []step{{0.5, "orange"}, {1, "red"}}}
}

// feedCacheHitRatio is the share of usernames the cache answered.
func feedCacheHitRatio(by string) string {
	hits := rate("feed_username_cache_lookups_total", join(feedSvc, `result="hit"`), by)
	all := rate("feed_username_cache_lookups_total", feedSvc, by)
	return hits + " / " + all
}

func feedCacheHitRatioNow() panel {
	return panel{viz: vizStat, title: "Username cache hit ratio", unit: "percentunit",
		description: "Usernames feeds took from feed-service's cache rather than asking user-lb. " +
			"No value while nothing was looked up.",
		queries: []query{q(feedCacheHitRatio(""), "hit ratio")}}
}

func feedIncompleteNow() panel {
	return panel{viz: vizStat, title: "Incomplete feeds in the time range",
		description: "Feeds served without some friends' posts or usernames (an upstream failed or was too slow).",
		queries:     []query{q(sum("", "increase(feed_incomplete_total{"+feedSvc+"}[$__range])"), "incomplete")},
		steps:       []step{{1, "orange"}},
		logs:        feedLogs}
}

func feedStreamsNow() panel {
	return panel{viz: vizStat, title: "Live feeds open (SSE)",
		queries: []query{q(sum("", "feed_sse_connections_open{"+feedSvc+"}"), "open")}}
}

func feedLatencyAtGateway() panel {
	return panel{title: "GET /api/feed latency at the gateway (exemplars: traces)", unit: "s",
		description: "What clients wait for. Click an exemplar dot for the request's trace across the services.",
		queries: []query{
			qx(quantile(0.99, "gateway_request_latency_seconds", feedGateway, ""), "p99"),
			qx(quantile(0.5, "gateway_request_latency_seconds", feedGateway, ""), "p50"),
		},
		logs: `service:gateway`}
}

func feedServiceLatency() panel {
	return panel{title: "feed-service latency by route", unit: "s",
		queries: []query{
			q(quantile(0.99, "http_request_duration_seconds", feedSvc, "route"), "p99 {{route}}"),
			q(quantile(0.5, "http_request_duration_seconds", feedSvc, "route"), "p50 {{route}}"),
		},
		logs: feedLogs}
}

func feedUpstreamLatency() panel {
	return panel{title: "Upstream call p99 by upstream and route", unit: "s", width: 8,
		description: "Each attempt of feed-service's calls through the balancers (retries count separately).",
		queries:     []query{q(quantile(0.99, "feed_upstream_request_duration_seconds", feedSvc, "upstream, route"), "{{upstream}} {{route}}")}}
}

func feedUpstreamOutcomes() panel {
	return panel{title: "Upstream calls per second by outcome", unit: "short", width: 8,
		description: "Outcome: the status code, or the error (timeout, refused, circuit open).",
		queries:     []query{q(rate("feed_upstream_request_duration_seconds_count", feedSvc, "upstream, outcome"), "{{upstream}} {{outcome}}")},
		logs:        feedLogs}
}

func feedCircuitBreakers() panel {
	return panel{viz: vizStateTimeline, title: "Circuit breakers", width: 8,
		queries: []query{q("max by (upstream) (feed_upstream_circuit_breaker_state{"+feedSvc+"})", "{{upstream}}")},
		mappings: []mapping{
			{value: "0", text: "closed", color: "green"},
			{value: "1", text: "half-open", color: "orange"},
			{value: "2", text: "open", color: "red"},
		},
		logs: feedLogs}
}

func feedCacheLookups() panel {
	return panel{title: "Username lookups per second by result", unit: "short", width: 8,
		description: "hit: from the cache; miss: asked of user-lb; bypass: cache off (not connected to the event bus).",
		queries:     []query{q(rate("feed_username_cache_lookups_total", feedSvc, "result"), "{{result}}")}}
}

func feedIncomplete() panel {
	return panel{title: "Incomplete feeds per second by reason", unit: "short", width: 8,
		queries: []query{q(rate("feed_incomplete_total", feedSvc, "reason"), "{{reason}}")},
		logs:    feedLogs}
}

func feedLiveFeed() panel {
	return panel{title: "Live feed: open streams and posts sent per second", unit: "short", width: 8,
		queries: []query{
			q(sum("", "feed_sse_connections_open{"+feedSvc+"}"), "open streams"),
			q(rate("feed_sse_events_sent_total", feedSvc, ""), "posts sent/s"),
		}}
}
