package httpx

import (
	"context"
	"net"
	"net/http"
	"time"
)

// MaxConnAge is how long a client's keep-alive connection is reused: the
// first response after it says "Connection: close". Callers (the gateway,
// feed-service) reach a service through a layer-4 balancer that picks a
// backend per TCP connection, and keep large pools of keep-alive
// connections: without an end, an instance that restarts (or is added)
// would get no traffic until those callers happen to open new connections.
// Envoy's max_connection_duration does the same. One reconnection per
// connection per 30 s costs nothing measurable.
const MaxConnAge = 30 * time.Second

type connStartKey struct{}

// clock is the time source of the connection ages; tests move it instead
// of waiting.
var clock = time.Now

// connStart records when the server accepted each connection.
func connStart(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connStartKey{}, clock())
}

// closeOldConns asks the client to close a connection older than maxAge
// after this response (net/http then closes it once the response is sent).
func closeOldConns(next http.Handler, maxAge time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if start, ok := r.Context().Value(connStartKey{}).(time.Time); ok && clock().Sub(start) > maxAge {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
