package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// Write stores e in the outbox inside tx, the caller's transaction that makes
// the change e describes: both commit or neither does. aggregate names the
// thing that changed (e.g. a user UUID); the relay keeps its events in order.
// The trace context of ctx goes with the event.
func Write(ctx context.Context, tx pgx.Tx, aggregate string, e Envelope) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("outbox: marshal %s: %w", e.Type, err)
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	headers, err := json.Marshal(map[string]string(carrier))
	if err != nil {
		return fmt.Errorf("outbox: marshal headers: %w", err)
	}
	if _, err := tx.Exec(ctx,
		`INSERT INTO event_outbox (id, subject, aggregate, payload, headers) VALUES ($1, $2, $3, $4, $5)`,
		e.ID, e.Type, aggregate, payload, headers); err != nil {
		return fmt.Errorf("outbox: insert %s: %w", e.Type, err)
	}
	return nil
}
