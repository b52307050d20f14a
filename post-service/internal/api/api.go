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
	"github.com/caddysocial/platform/svckit/service"
)

const (
	// MaxContent is the longest post, in characters.
	MaxContent = 5000
	// MaxLimit is the most posts one GET returns, and the default.
	MaxLimit = 1000
	// MaxAuthors bounds the ids of one GET /posts?authors= (its URL stays
	// under 40 KB, within every server's request-line limit including ours,
	// 64 KiB); callers with more split them.
	MaxAuthors = 1000
	// MaxBatchLimit is the most posts GET /posts?authors= returns, and its
	// default: a feed page, not an export.
	MaxBatchLimit = 100
)

// API serves the endpoints over a Store.
type API struct {
	Store *store.Store
	Log   *slog.Logger
}

// Routes registers the endpoints on mux. Every one needs X-User-ID.
func (a *API) Routes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc { return httpx.RequireUserID(h).ServeHTTP }
	httpx.Handle(mux, "/posts", httpx.Methods{http.MethodGet: auth(a.newest)})
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
		service.Fail(w, r, a.Log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, p)
}

// parseLimit reads ?limit= (1 to most, most when absent); on failure it has
// answered 400.
func parseLimit(w http.ResponseWriter, r *http.Request, most int) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return most, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		httpx.Error(w, http.StatusBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d", most))
		return 0, false
	}
	return n, true
}

func (a *API) list(w http.ResponseWriter, r *http.Request, author string) {
	limit, ok := parseLimit(w, r, MaxLimit)
	if !ok {
		return
	}
	posts, err := a.Store.ByAuthor(r.Context(), author, limit)
	if err != nil {
		service.Fail(w, r, a.Log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, posts)
}

// newest serves GET /posts?authors=<id,...>&limit=N: the N newest posts
// across those authors (a batch endpoint the original service lacks; its
// callers fall back to /posts/{userId} on 404 or 405).
func (a *API) newest(w http.ResponseWriter, r *http.Request) {
	authors, ok := httpx.QueryUUIDs(w, r, "authors", MaxAuthors, "User ID is required", "Invalid user ID")
	if !ok {
		return
	}
	limit, ok := parseLimit(w, r, MaxBatchLimit)
	if !ok {
		return
	}
	posts, err := a.Store.NewestByAuthors(r.Context(), authors, limit)
	if err != nil {
		service.Fail(w, r, a.Log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, posts)
}
