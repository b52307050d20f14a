package main

// The layer-4 balancers (caddy-modules/l4lb): which backends are in the
// pool, the connections and bytes they forward, and health changes.

// lb selects the balancer series of the dashboard's variables.
const lb = `lb=~"$lb", instance=~"$instance", backend=~"$backend"`

// balancerLogs are the selected balancers' own log lines (health changes,
// reloads); a balancer's service name is its lb label.
const balancerLogs = `service:in(${lb:singlequote})`

func balancers() board {
	return board{
		file:  "balancers",
		title: "Load balancers",
		description: "The layer-4 balancers in front of user-service and post-service: backends in the pool " +
			"(health checks), connections and bytes forwarded per backend, failed dials.",
		vars: []variable{
			{name: "lb", label: "Balancer", selector: "l4lb_backend_up", labelName: "lb"},
			{name: "instance", label: "Instance", selector: `l4lb_backend_up{lb=~"$lb"}`, labelName: "instance"},
			{name: "backend", label: "Backend", selector: `l4lb_backend_up{lb=~"$lb", instance=~"$instance"}`, labelName: "backend"},
		},
		rows: []row{
			{"Pool", []panel{backendsUp(), backendsOut(), healthTransitions(), dialFailuresTotal(), backendInPool()}},
			{"Connections", []panel{newConnections(), activeConnections()}},
			{"Bytes", []panel{bytesForwarded(), dialFailures()}},
			{"Health", []panel{healthChanges(), dnsFailures()}},
		},
	}
}

func backendsUp() panel {
	return panel{viz: vizStat, title: "Backends in the pool",
		description: "Backends passing health checks, over all selected balancers.",
		queries:     []query{q(sum("", "l4lb_backend_up{"+lb+"}"), "in pool")},
		logs:        balancerLogs}
}

func backendsOut() panel {
	return panel{viz: vizStat, title: "Backends out of the pool",
		description: "Backends health checks or dials took out (the BackendDown alert after 30s).",
		queries:     []query{q(sum("", "l4lb_backend_up{"+lb+"} == bool 0"), "out")},
		steps:       []step{{1, "red"}},
		logs:        balancerLogs + ` "backend down"`}
}

func healthTransitions() panel {
	return panel{viz: vizStat, title: "Health changes in the time range",
		description: "How often a backend went in or out of the pool in the dashboard's time range.",
		queries:     []query{q(sum("", "changes(l4lb_backend_up{"+lb+"}[$__range])"), "changes")},
		steps:       []step{{1, "orange"}},
		logs:        balancerLogs + ` ("backend down" or "backend up")`}
}

func dialFailuresTotal() panel {
	return panel{viz: vizStat, title: "Failed dials in the time range",
		queries: []query{q(sum("", "increase(l4lb_dial_failures_total{"+lb+"}[$__range])"), "failed dials")},
		steps:   []step{{1, "orange"}},
		logs:    balancerLogs}
}

func backendInPool() panel {
	return panel{viz: vizStateTimeline, title: "Backend in the pool", width: 24,
		queries: []query{q("max by (lb, backend) (l4lb_backend_up{"+lb+"})", "{{lb}} {{backend}}")},
		mappings: []mapping{
			{value: "1", text: "in pool", color: "green"},
			{value: "0", text: "out", color: "red"},
		},
		logs: balancerLogs + ` ("backend down" or "backend up")`}
}

func newConnections() panel {
	return panel{title: "New connections per second by backend", unit: "cps",
		queries: []query{q(rate("l4lb_connections_total", lb, "lb, backend"), "{{lb}} {{backend}}")}}
}

func activeConnections() panel {
	return panel{title: "Open connections by backend", unit: "short",
		description: "Connections being forwarded now (pooled keep-alive connections of the gateway and feed-service count).",
		queries:     []query{q(sum("lb, backend", "l4lb_connections_active{"+lb+"}"), "{{lb}} {{backend}}")}}
}

func bytesForwarded() panel {
	return panel{title: "Bytes per second by direction", unit: "Bps",
		description: "Counted when a connection ends, so long-lived connections show up when they close.",
		queries:     []query{q(rate("l4lb_bytes_total", lb, "lb, direction"), "{{lb}} {{direction}}")}}
}

func dialFailures() panel {
	return panel{title: "Failed dials per second by backend", unit: "short",
		queries: []query{q(rate("l4lb_dial_failures_total", lb, "lb, backend"), "{{lb}} {{backend}}")},
		logs:    balancerLogs}
}

func healthChanges() panel {
	return panel{title: "Health changes by backend", unit: "short",
		description: "Pool membership changes per rate interval: a flapping backend shows as a row of bars.",
		queries:     []query{q(sum("lb, backend", "changes(l4lb_backend_up{"+lb+"}[$__rate_interval])"), "{{lb}} {{backend}}")},
		logs:        balancerLogs + ` ("backend down" or "backend up")`}
}

// dnsFailures: only balancers with dns_backends (Kubernetes) have the
// series; "or on () vector(0)" shows the true 0 when none has any (on ():
// only when the left side is empty, not as an extra line beside it).
func dnsFailures() panel {
	return panel{title: "Failed DNS lookups per second (dns_backends)", unit: "short",
		description: "Lookups of a dns_backends name that failed (its previous addresses stay in use). " +
			"0 where the balancers have static backends only, as in compose.",
		queries: []query{q(rate("l4lb_dns_lookup_failures_total", `lb=~"$lb", instance=~"$instance"`, "lb, name")+" or on () vector(0)", "{{lb}} {{name}}")},
		logs:    balancerLogs}
}
