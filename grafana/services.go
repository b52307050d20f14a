package main

// The services behind the balancers (user-service, post-service,
// feed-service): requests per route, errors, latency, and the processes'
// saturation.

// svc selects the services' request series of the dashboard's variables.
const svc = `service=~"$service", instance=~"$instance", route=~"$route"`

// svcProc selects the services' process series (no route label).
const svcProc = `job="services", service=~"$service", instance=~"$instance"`

// serviceLogs are the selected services' log lines.
const serviceLogs = `service:in(${service:singlequote})`

func services() board {
	return board{
		file:  "services",
		title: "Services",
		description: "user-service, post-service and feed-service as the balancers and the gateway see them: " +
			"requests per route (method and pattern), errors, latency, and each process's saturation.",
		vars: []variable{
			{name: "service", label: "Service", selector: "http_requests_total", labelName: "service"},
			{name: "instance", label: "Instance", selector: `http_requests_total{service=~"$service"}`, labelName: "instance"},
			{name: "route", label: "Endpoint (route)", selector: `http_requests_total{service=~"$service", instance=~"$instance"}`, labelName: "route"},
		},
		rows: []row{
			{"Now", []panel{serviceRequestRate(), serviceServerErrorRatio(), serviceP99(), serviceInstancesUp()}},
			{"Traffic and errors", []panel{serviceRequestsByRoute(), serviceErrorsByRoute()}},
			{"Latency", []panel{serviceLatencyByRoute(0.99), serviceLatencyByRoute(0.5)}},
			{"Saturation", []panel{serviceCPU(), serviceMemory(), serviceGoroutines(), serviceOpenFDs()}},
			{"Database pool", []panel{poolConnections(), poolAcquireWait(), poolAcquiresWaited()}},
			{"Logs", []panel{serviceWarnings()}},
		},
	}
}

func serviceRequestRate() panel {
	return panel{viz: vizStat, title: "Requests per second", unit: "reqps",
		description: "Including the balancers' health checks (GET /healthz) and Prometheus's scrapes (GET /metrics).",
		queries:     []query{q(rate("http_requests_total", svc, ""), "requests/s")},
		logs:        serviceLogs}
}

func serviceServerErrorRatio() panel {
	return panel{viz: vizStat, title: "5xx ratio", unit: "percentunit",
		queries: []query{q(ratio("http_requests_total", svc, `code=~"5.."`, ""), "5xx")},
		steps:   []step{{0.01, "orange"}, {0.05, "red"}},
		logs:    serviceLogs + ` status:>=500`}
}

func serviceP99() panel {
	return panel{viz: vizStat, title: "p99 latency", unit: "s",
		queries: []query{q(quantile(0.99, "http_request_duration_seconds", svc, ""), "p99")},
		steps:   []step{{0.25, "orange"}, {1, "red"}}}
}

func serviceInstancesUp() panel {
	return panel{viz: vizStat, title: "Instances scraped",
		description: "Service instances answering Prometheus's scrape (up == 1) out of those it knows.",
		queries:     []query{q(sum("", "up{"+svcProc+"}"), "up")},
		logs:        serviceLogs}
}

func serviceRequestsByRoute() panel {
	return panel{title: "Requests per second by route", unit: "reqps",
		queries: []query{q(rate("http_requests_total", svc, "service, route"), "{{service}} {{route}}")},
		logs:    serviceLogs}
}

func serviceErrorsByRoute() panel {
	return panel{title: "Errors (4xx, 5xx) per second by route and status", unit: "reqps",
		description: "One line at 0 when no request of the selection failed.",
		queries: []query{q(rate("http_requests_total", join(svc, `code=~"[45].."`), "service, route, code")+
			" or on () "+rate("http_requests_total", svc, "")+" * 0", "{{service}} {{route}} {{code}}")},
		logs: serviceLogs + ` status:>=400`}
}

func serviceLatencyByRoute(q float64) panel {
	return panel{title: percentile(q) + " latency by route", unit: "s",
		queries: []query{query{expr: quantile(q, "http_request_duration_seconds", svc, "service, route"), legend: "{{service}} {{route}}"}},
		logs:    serviceLogs}
}

func serviceCPU() panel {
	return panel{title: "CPU (cores) by instance", unit: "short", width: 6,
		queries: []query{q(rate("process_cpu_seconds_total", svcProc, "instance"), "{{instance}}")}}
}

func serviceMemory() panel {
	return panel{title: "Resident memory by instance", unit: "bytes", width: 6,
		queries: []query{q(sum("instance", "process_resident_memory_bytes{"+svcProc+"}"), "{{instance}}")}}
}

func serviceGoroutines() panel {
	return panel{title: "Goroutines by instance", unit: "short", width: 6,
		queries: []query{q(sum("instance", "go_goroutines{"+svcProc+"}"), "{{instance}}")}}
}

func serviceOpenFDs() panel {
	return panel{title: "Open file descriptors (sockets) by instance", unit: "short", width: 6,
		description: "Database and balancer connections are sockets: a steady climb is a leak.",
		queries:     []query{q(sum("instance", "process_open_fds{"+svcProc+"}"), "{{instance}}")}}
}

func serviceWarnings() panel {
	return panel{viz: vizLogs, title: "Warnings and errors",
		description: "The selected services' WARN and ERROR log lines from VictoriaLogs.",
		queries:     []query{{expr: serviceLogs + ` level:in(WARN, ERROR)`}},
		logs:        serviceLogs}
}

// The PostgreSQL pool of user-service and post-service (pgstore's pgxpool_*
// metrics; feed-service has no database). Requests queue in the pool's
// Acquire when every connection is busy: issue 27 found that queue before
// the CPU was busy, so the wait is a saturation signal of its own.

func poolConnections() panel {
	return panel{title: "Pool connections in use and pool size by instance", unit: "short", width: 8,
		description: "In use near the size for long means requests wait for a connection (POSTGRES_MAX_CONNS).",
		queries: []query{
			q(sum("instance", "pgxpool_acquired_conns{"+svcProc+"}"), "{{instance}} in use"),
			q(sum("instance", "pgxpool_max_conns{"+svcProc+"}"), "{{instance}} size"),
		}}
}

func poolAcquireWait() panel {
	return panel{title: "Mean wait for a connection per acquire", unit: "s", width: 8,
		description: "Time requests spent in the pool's Acquire because no connection was idle, per acquire.",
		queries: []query{q(rate("pgxpool_empty_acquire_wait_seconds_total", svcProc, "instance")+
			" / "+rate("pgxpool_acquires_total", svcProc, "instance"), "{{instance}}")}}
}

func poolAcquiresWaited() panel {
	return panel{title: "Share of acquires that waited", unit: "percentunit", width: 8,
		description: "Acquires that found no idle connection, of all acquires.",
		queries: []query{q(rate("pgxpool_empty_acquires_total", svcProc, "instance")+
			" / "+rate("pgxpool_acquires_total", svcProc, "instance"), "{{instance}}")}}
}
