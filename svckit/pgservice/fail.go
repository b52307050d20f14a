package pgservice

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/caddysocial/platform/svckit/httpx"
	"github.com/caddysocial/platform/svckit/pgstore"
)

// Fail answers for an error that is not the client's: a connection-level
// database failure is 503 with Retry-After (it will pass); anything else is
// 500. Either way the cause is logged and never shown. A client that went
// away gets nothing.
func Fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return
	}
	if pgstore.IsUnavailable(err) {
		log.Warn("database unavailable", "error", err.Error(), "method", r.Method, "path", r.URL.Path)
		w.Header().Set("Retry-After", "1")
		httpx.Error(w, http.StatusServiceUnavailable, "database unavailable, try again")
		return
	}
	log.Error("internal error", "error", err.Error(), "method", r.Method, "path", r.URL.Path)
	httpx.Error(w, http.StatusInternalServerError, "internal error")
}
