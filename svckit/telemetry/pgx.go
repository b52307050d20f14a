package telemetry

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// QueryTracer is a pgx v5 QueryTracer that records a client span per query
// (set it as pgxpool.Config.ConnConfig.Tracer). Hand-written because no
// maintained pgx tracing module (otelpgx) is available to this build; it is
// small: a span per Query/Exec with the statement text (parameters are never
// recorded: they carry user data) and the error.
//
// A query outside any trace (migrations, readiness pings) starts no span:
// only work done for a traced request is worth a span.
type QueryTracer struct {
	// DBName is db.namespace; empty leaves it out.
	DBName string
}

type spanKey struct{}

// TraceQueryStart implements pgx.QueryTracer.
func (t QueryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	attrs := []attribute.KeyValue{
		attribute.String("db.system.name", "postgresql"),
		attribute.String("db.query.text", data.SQL),
	}
	if t.DBName != "" {
		attrs = append(attrs, attribute.String("db.namespace", t.DBName))
	}
	ctx, span := StartSpan(ctx, queryName(data.SQL), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, spanKey{}, span)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (QueryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span, ok := ctx.Value(spanKey{}).(trace.Span)
	if !ok {
		return
	}
	if data.Err != nil && !errors.Is(data.Err, pgx.ErrNoRows) {
		span.RecordError(data.Err)
		span.SetStatus(codes.Error, "query failed")
		if pgErr, ok := errors.AsType[*pgconn.PgError](data.Err); ok {
			span.SetAttributes(attribute.String("db.response.status_code", pgErr.Code))
		}
	} else {
		span.SetAttributes(attribute.Int64("db.response.returned_rows", data.CommandTag.RowsAffected()))
	}
	span.End()
}

// queryName is the span name: the statement's first keyword ("SELECT",
// "INSERT", ...), low-cardinality as the semantic conventions ask.
func queryName(sql string) string {
	f := strings.Fields(sql)
	if len(f) == 0 {
		return "query"
	}
	kw := strings.ToUpper(f[0])
	if kw == "WITH" || len(kw) > 16 {
		return "query"
	}
	return kw
}

var _ pgx.QueryTracer = QueryTracer{}
