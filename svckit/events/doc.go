// Package events is the platform's event plumbing on NATS JetStream (SPEC.md
// section 7, docs/EVENTS.md): the envelope every event travels in, the
// transactional outbox a producer writes inside its own database transaction,
// the relay that publishes the outbox to JetStream with the event id as
// Nats-Msg-Id, and durable shared consumers that apply an event in their own
// transaction, exactly once per event, and dead-letter what keeps failing.
//
// Everything degrades to "feature off" without NATS: producers still write the
// outbox (the events wait there), services still answer.
package events
