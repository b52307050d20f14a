package main

// The state of the alerting rules of prometheus/alerts.yml: Prometheus's
// ALERTS series, one per active (pending or firing) alert.

// noAlert stands in for "nothing pending or firing" at the instants when
// ALERTS has no series, so that a calm time range shows a green "(none)"
// rather than no data: "or on ()" adds it only at instants when the left
// side is empty, so it disappears whenever an alert is active.
const noAlert = `label_replace(vector(0), "alertname", "(none)", "", "")`

func alerts() board {
	return board{
		file:  "alerts",
		title: "Alerts",
		description: "The alerting rules of prometheus/alerts.yml (BackendDown, BalancerNoHealthyBackend, TargetDown, " +
			"EndpointHighErrorRatio, EndpointHighLatencyP99, OutboxBacklogOld, LogShippingDropping): what is firing " +
			"or pending now and over the time range. Prometheus evaluates them; each links to the dashboard that shows its signal.",
		rows: []row{
			{"Now", []panel{alertsActive("firing", "red"), alertsActive("pending", "orange"), alertsCriticalFiring(), targetsDown()}},
			{"Over time", []panel{alertStates()}},
		},
	}
}

// alertsActive counts the alerts in state; 0 (not no data) when none is.
func alertsActive(state, color string) panel {
	return panel{viz: vizStat, title: "Alerts " + state,
		queries: []query{q(`count(ALERTS{alertstate="`+state+`"}) or vector(0)`, state)},
		steps:   []step{{1, color}}}
}

func alertsCriticalFiring() panel {
	return panel{viz: vizStat, title: "Critical alerts firing",
		description: "severity=critical: BalancerNoHealthyBackend (every request through that balancer fails).",
		queries:     []query{q(`count(ALERTS{alertstate="firing", severity="critical"}) or vector(0)`, "critical")},
		steps:       []step{{1, "red"}}}
}

func targetsDown() panel {
	return panel{viz: vizStat, title: "Scrape targets down",
		description: "Targets Prometheus cannot scrape now (TargetDown fires after a minute).",
		queries:     []query{q(`count(up == 0) or vector(0)`, "down")},
		steps:       []step{{1, "red"}}}
}

// alertStates: 2 firing, 1 pending per alert name, "(none)" when none.
func alertStates() panel {
	return panel{viz: vizStateTimeline, title: "Alert states", width: 24,
		queries: []query{q(`max by (alertname) (2 * ALERTS{alertstate="firing"} or ALERTS{alertstate="pending"}) or on () `+noAlert, "{{alertname}}")},
		mappings: []mapping{
			{value: "0", text: "none active", color: "green"},
			{value: "1", text: "pending", color: "orange"},
			{value: "2", text: "firing", color: "red"},
		}}
}
