// Package api is user-service's HTTP API (SPEC.md section 3): profiles and
// one-way friendships of the caller named by X-User-ID.
package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/httpx"
	"github.com/caddysocial/platform/svckit/service"
	"github.com/caddysocial/platform/user-service/internal/store"
)

// Limits on profile fields, in characters.
const (
	MaxUsername = 64
	MaxBio      = 1000
	// MaxProfileIDs bounds the ids of one GET /profiles?ids= (the URL stays
	// under 40 KB, within our 64 KiB request-line limit).
	MaxProfileIDs = 1000
)

// API serves the endpoints over a Store.
type API struct {
	Store *store.Store
	Log   *slog.Logger
}

// Routes registers the service's endpoints on mux. Every one needs X-User-ID.
func (a *API) Routes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc { return httpx.RequireUserID(h).ServeHTTP }
	httpx.Handle(mux, "/profile/me", httpx.Methods{
		http.MethodGet:  auth(a.getMyProfile),
		http.MethodPost: auth(a.putMyProfile),
	})
	httpx.Handle(mux, "/profile/{userId}", httpx.Methods{http.MethodGet: auth(a.getProfile)})
	httpx.Handle(mux, "/profiles", httpx.Methods{http.MethodGet: auth(a.getProfiles)})
	httpx.Handle(mux, "/friends", httpx.Methods{
		http.MethodGet:    auth(a.listFriends),
		http.MethodPost:   auth(a.addFriend),
		http.MethodDelete: auth(a.removeFriend),
	})
}

func (a *API) getMyProfile(w http.ResponseWriter, r *http.Request) {
	a.sendProfile(w, r, httpx.UserID(r), "User not found: create your profile with POST /profile/me")
}

func (a *API) getProfile(w http.ResponseWriter, r *http.Request) {
	id, ok := httpx.PathUUID(w, r, "userId")
	if ok {
		a.sendProfile(w, r, id, "User not found")
	}
}

func (a *API) sendProfile(w http.ResponseWriter, r *http.Request, id, notFound string) {
	p, err := a.Store.Profile(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		httpx.Error(w, http.StatusNotFound, notFound)
	case err != nil:
		service.Fail(w, r, a.Log, err)
	default:
		httpx.WriteJSON(w, http.StatusOK, p)
	}
}

// getProfiles serves GET /profiles?ids=<id,...>: the profiles of those ids
// that have one, as a list ordered by uuid; ids without a profile are left
// out (a batch endpoint the original service lacks: its callers fall back to
// /profile/{userId} on 404 or 405).
func (a *API) getProfiles(w http.ResponseWriter, r *http.Request) {
	ids, ok := httpx.QueryUUIDs(w, r, "ids", MaxProfileIDs, "User ID is required", "Invalid user ID")
	if !ok {
		return
	}
	profiles, err := a.Store.Profiles(r.Context(), ids)
	if err != nil {
		service.Fail(w, r, a.Log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, profiles)
}

func (a *API) putMyProfile(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username *string `json:"username"`
		Bio      *string `json:"bio"`
	}
	if !httpx.DecodeJSON(w, r, &body) {
		return
	}
	if body.Username == nil || strings.TrimSpace(*body.Username) == "" {
		httpx.Error(w, http.StatusBadRequest, "username is required")
		return
	}
	bio := ""
	if body.Bio != nil {
		bio = *body.Bio
	}
	if !httpx.RequireText(w, "", "username", *body.Username) || !httpx.RequireText(w, "", "bio", bio) {
		return
	}
	if utf8.RuneCountInString(*body.Username) > MaxUsername || utf8.RuneCountInString(bio) > MaxBio {
		httpx.Error(w, http.StatusBadRequest, "username is at most 64 characters and bio at most 1000")
		return
	}
	p, err := a.Store.UpsertProfile(r.Context(), store.Profile{UUID: httpx.UserID(r), Username: *body.Username, Bio: bio})
	if err != nil {
		service.Fail(w, r, a.Log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, p)
}

func (a *API) listFriends(w http.ResponseWriter, r *http.Request) {
	a.sendFriends(w, r, http.StatusOK)
}

func (a *API) sendFriends(w http.ResponseWriter, r *http.Request, status int) {
	friends, err := a.Store.Friends(r.Context(), httpx.UserID(r))
	if err != nil {
		service.Fail(w, r, a.Log, err)
		return
	}
	httpx.WriteJSON(w, status, friends)
}

// friendUUID reads {"friend_uuid": "<uuid>"}.
func friendUUID(w http.ResponseWriter, r *http.Request) (string, bool) {
	var body struct {
		FriendUUID *string `json:"friend_uuid"`
	}
	if !httpx.DecodeJSON(w, r, &body) {
		return "", false
	}
	if body.FriendUUID == nil {
		httpx.Error(w, http.StatusBadRequest, "Invalid friend ID: friend_uuid is required")
		return "", false
	}
	id, err := uuid.Parse(*body.FriendUUID)
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, "Invalid friend ID: friend_uuid must be a UUID")
		return "", false
	}
	return id.String(), true
}

// addFriend answers 200 with the caller's friends after the change.
func (a *API) addFriend(w http.ResponseWriter, r *http.Request) {
	friend, ok := friendUUID(w, r)
	if !ok {
		return
	}
	if friend == httpx.UserID(r) {
		httpx.Error(w, http.StatusBadRequest, "Invalid friend ID: you cannot add yourself as a friend")
		return
	}
	err := a.Store.AddFriend(r.Context(), httpx.UserID(r), friend)
	switch {
	case errors.Is(err, store.ErrNoProfile):
		httpx.Error(w, http.StatusConflict, "your profile does not exist yet: create it with POST /profile/me")
	case errors.Is(err, store.ErrFriendNotFound):
		httpx.Error(w, http.StatusNotFound, "Friend not found")
	case err != nil:
		service.Fail(w, r, a.Log, err)
	default:
		a.sendFriends(w, r, http.StatusOK)
	}
}

// removeFriend answers 200 with the caller's friends after the change;
// removing a friendship that does not exist is not an error.
func (a *API) removeFriend(w http.ResponseWriter, r *http.Request) {
	friend, ok := friendUUID(w, r)
	if !ok {
		return
	}
	if err := a.Store.RemoveFriend(r.Context(), httpx.UserID(r), friend); err != nil {
		service.Fail(w, r, a.Log, err)
		return
	}
	a.sendFriends(w, r, http.StatusOK)
}
