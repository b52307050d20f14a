-- The transactional outbox: a producer inserts its events here in the same
-- transaction as the change they describe; the relay publishes them in seq
-- order and deletes them once JetStream has acknowledged them.
CREATE TABLE event_outbox (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          uuid        NOT NULL UNIQUE,
    subject     text        NOT NULL,
    aggregate   text        NOT NULL,
    payload     bytea       NOT NULL,
    -- W3C trace context of the producing request, forwarded as NATS headers.
    headers     jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Events a consumer has applied, recorded in the same transaction as their
-- effect: a redelivered or duplicated event finds its row and changes nothing.
CREATE TABLE event_processed (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX event_processed_at ON event_processed (processed_at);

---- create above / drop below ----

DROP TABLE event_processed;
DROP TABLE event_outbox;
