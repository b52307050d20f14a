package main

// Events (docs/EVENTS.md): the outboxes of the gateway and the services and
// their relays to NATS JetStream, and the durable consumers.

// outbox selects the relays' series of the dashboard's instances.
const outbox = `instance=~"$instance"`

// consumer selects the consumers' series. A durable consumer is shared by
// a service's instances, which all report its lag: take the max, not the
// sum, of events_consumer_pending per consumer.
const consumer = `instance=~"$instance", consumer=~"$consumer"`

func events() board {
	return board{
		file:  "events",
		title: "Events (outbox and consumers)",
		description: "Each change's event waits in its producer's outbox until the relay has published it to " +
			"JetStream; durable consumers apply events and dead-letter those that keep failing.",
		vars: []variable{
			{name: "instance", label: "Instance", selector: "outbox_backlog", labelName: "instance"},
			{name: "consumer", label: "Consumer", selector: `events_consumer_pending{instance=~"$instance"}`, labelName: "consumer"},
		},
		rows: []row{
			{"Now", []panel{outboxBacklogNow(), outboxOldestNow(), consumerLagNow(), deadLettersInRange()}},
			{"Outbox", []panel{outboxBacklog(), outboxOldest(), outboxPublished(), outboxPublishFailures()}},
			{"Consumers", []panel{consumerLag(), consumerApplied(), consumerRetries(), consumerDeadLetters()}},
		},
	}
}

func outboxBacklogNow() panel {
	return panel{viz: vizStat, title: "Events waiting in outboxes",
		queries: []query{q(sum("", "outbox_backlog{"+outbox+"}"), "waiting")},
		steps:   []step{{100, "orange"}, {1000, "red"}},
		logs:    `"outbox relay"`}
}

func outboxOldestNow() panel {
	return panel{viz: vizStat, title: "Oldest unsent event", unit: "s",
		description: "0 when every outbox is empty. The OutboxBacklogOld alert fires above 30s for a minute.",
		queries:     []query{q("max(outbox_oldest_unsent_age_seconds{"+outbox+"})", "age")},
		steps:       []step{{10, "orange"}, {30, "red"}},
		logs:        `"outbox relay"`}
}

func consumerLagNow() panel {
	return panel{viz: vizStat, title: "Consumer lag (events)",
		description: "Events not yet delivered or acknowledged, all selected consumers.",
		queries:     []query{q(sum("", "max by (consumer) (events_consumer_pending{"+consumer+"})"), "lag")},
		steps:       []step{{100, "orange"}, {1000, "red"}}}
}

func deadLettersInRange() panel {
	return panel{viz: vizStat, title: "Dead-lettered in the time range",
		description: "Events given up on after repeated failures (published to the dead-letter subject).",
		queries:     []query{q(sum("", "increase(events_consumer_dead_lettered_total{"+consumer+"}[$__range])"), "dead letters")},
		steps:       []step{{1, "red"}},
		logs:        `"event dead-lettered"`}
}

func outboxBacklog() panel {
	return panel{title: "Outbox backlog by instance", unit: "short",
		queries: []query{q(sum("instance", "outbox_backlog{"+outbox+"}"), "{{instance}}")},
		logs:    `"outbox relay"`}
}

func outboxOldest() panel {
	return panel{title: "Oldest unsent event by instance", unit: "s",
		queries: []query{q("max by (instance) (outbox_oldest_unsent_age_seconds{"+outbox+"})", "{{instance}}")},
		logs:    `"outbox relay"`}
}

func outboxPublished() panel {
	return panel{title: "Events published per second by instance", unit: "short",
		queries: []query{q(rate("outbox_published_total", outbox, "instance"), "{{instance}}")}}
}

func outboxPublishFailures() panel {
	return panel{title: "Failed publish attempts per second by instance", unit: "short",
		description: "The relay retries; the events stay in the outbox meanwhile (NATS down or slow).",
		queries:     []query{q(rate("outbox_publish_failures_total", outbox, "instance"), "{{instance}}")},
		logs:        `"outbox relay"`}
}

func consumerLag() panel {
	return panel{title: "Consumer lag by consumer", unit: "short",
		queries: []query{q("max by (consumer) (events_consumer_pending{"+consumer+"})", "{{consumer}}")}}
}

func consumerApplied() panel {
	return panel{title: "Events applied per second by consumer", unit: "short",
		queries: []query{q(rate("events_consumer_processed_total", consumer, "consumer"), "{{consumer}}")}}
}

func consumerRetries() panel {
	return panel{title: "Failures and duplicates per second by consumer", unit: "short",
		description: "A failure is redelivered with backoff; a duplicate was applied before and is acknowledged without effect.",
		queries: []query{
			q(rate("events_consumer_failures_total", consumer, "consumer"), "{{consumer}} failed"),
			q(rate("events_consumer_duplicates_total", consumer, "consumer"), "{{consumer}} duplicate"),
		},
		logs: `"event failed"`}
}

func consumerDeadLetters() panel {
	return panel{title: "Dead-lettered events by consumer", unit: "short",
		queries: []query{q(sum("consumer", "increase(events_consumer_dead_lettered_total{"+consumer+"}[$__rate_interval])"), "{{consumer}}")},
		logs:    `"event dead-lettered"`}
}
