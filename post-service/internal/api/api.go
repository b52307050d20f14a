// Package api is post-service's HTTP API (SPEC.md section 3).
package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/caddysocial/platform/post-service/internal/store"
	"github.com/caddysocial/platform/svckit/httpx"
	"github.com/caddysocial/platform/svckit/pgservice"
)

const (
	// MaxContent is the longest post, in characters.
	MaxContent = 5000
	// MaxLimit is the most posts one GET returns, and the default.
	MaxLimit = 1000
)

// API serves the endpoints over a Store.
type API struct {
	Store *store.Store
	Log   *slog.Logger
}

// Routes registers the endpoints on mux. Every one needs X-User-ID.
func (a *API) Routes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc { return httpx.RequireUserID(h).ServeHTTP }
	httpx.Handle(mux, "/posts/me", httpx.Methods{
		http.MethodGet:  auth(func(w http.ResponseWriter, r *http.Request) { a.list(w, r, httpx.UserID(r)) }),
		http.MethodPost: auth(a.create),
	})
	httpx.Handle(mux, "/posts/{userId}", httpx.Methods{
		http.MethodGet: auth(func(w http.ResponseWriter, r *http.Request) {
			if id, ok := httpx.PathUUID(w, r, "userId"); ok {
				a.list(w, r, id)
			}
		}),
	})
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Content *string `json:"content"`
	}
	if !httpx.DecodeJSON(w, r, &body) {
		return
	}
	if body.Content == nil || strings.TrimSpace(*body.Content) == "" {
		httpx.Error(w, http.StatusBadRequest, "Invalid content: content must not be empty")
		return
	}
	if utf8.RuneCountInString(*body.Content) > MaxContent {
		httpx.Error(w, http.StatusBadRequest, fmt.Sprintf("Invalid content: content is at most %d characters", MaxContent))
		return
	}
	if !httpx.RequireText(w, "Invalid content", "content", *body.Content) {
		return
	}
	p, err := a.Store.Create(r.Context(), httpx.UserID(r), *body.Content)
	if err != nil {
		pgservice.Fail(w, r, a.Log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, p)
}

func (a *API) list(w http.ResponseWriter, r *http.Request, author string) {
	limit := MaxLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			httpx.Error(w, http.StatusBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d", MaxLimit))
			return
		}
		limit = n
	}
	posts, err := a.Store.ByAuthor(r.Context(), author, limit)
	if err != nil {
		pgservice.Fail(w, r, a.Log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, posts)
}
