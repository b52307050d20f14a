package feed

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddysocial/platform/feed-service/internal/upstream"
	"github.com/caddysocial/platform/svckit/httpx"
)

// Handler serves GET /feed.
type Handler struct {
	Builder  *Builder
	Deadline time.Duration // for the whole request
	Log      *slog.Logger
	Partial  *prometheus.CounterVec // feeds served incomplete, by reason
}

// NewPartialCounter registers feed_incomplete_total into reg, each reason
// at 0 (a dashboard shows 0, not no data, before the first incomplete feed).
func NewPartialCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "feed_incomplete_total",
		Help: "Feeds served without some friends' posts (reason=posts) or usernames (reason=usernames).",
	}, []string{"reason"})
	c.WithLabelValues("posts")
	c.WithLabelValues("usernames")
	reg.MustRegister(c)
	return c
}

// Routes registers /feed on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	httpx.Handle(mux, "/feed", httpx.Methods{http.MethodGet: httpx.RequireUserID(http.HandlerFunc(h.serve)).ServeHTTP})
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.Deadline)
	defer cancel()
	feed, err := h.Builder.Build(ctx, httpx.UserID(r))
	switch {
	case err == nil:
	case r.Context().Err() != nil:
		return // the client went away
	case errors.Is(err, upstream.ErrOpen):
		h.Log.WarnContext(r.Context(), "feed failed fast: circuit breaker open", "error", err.Error())
		w.Header().Set("Retry-After", "5")
		httpx.Error(w, http.StatusServiceUnavailable, "feed temporarily unavailable")
		return
	case errors.Is(err, ErrFriends):
		h.Log.ErrorContext(r.Context(), "feed failed: friends", "error", err.Error())
		httpx.Error(w, http.StatusBadGateway, "could not fetch your friends")
		return
	default:
		h.Log.ErrorContext(r.Context(), "feed failed: posts", "error", err.Error())
		httpx.Error(w, http.StatusBadGateway, "could not fetch your friends' posts")
		return
	}
	if feed.MissingPosts > 0 || feed.MissingAuthors > 0 {
		w.Header().Set("X-Feed-Incomplete", "posts="+strconv.Itoa(feed.MissingPosts)+", usernames="+strconv.Itoa(feed.MissingAuthors))
		if feed.MissingPosts > 0 {
			h.Partial.WithLabelValues("posts").Inc()
		}
		if feed.MissingAuthors > 0 {
			h.Partial.WithLabelValues("usernames").Inc()
		}
		h.Log.WarnContext(r.Context(), "feed incomplete", "missing_posts", feed.MissingPosts, "missing_usernames", feed.MissingAuthors)
	}
	httpx.WriteJSON(w, http.StatusOK, feed.Items)
}
