package httpx

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// UserIDHeader names the caller; the gateway sets it from the verified token.
const UserIDHeader = "X-User-ID"

type userIDKey struct{}

// RequireUserID admits only requests with a UUID in X-User-ID (401
// otherwise) and puts the canonical form in the context. The 401 text holds
// both original wordings for the case: user-service's "Unauthorized" first,
// post-service's "User ID is required" after it.
func RequireUserID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.Header.Get(UserIDHeader)
		if raw == "" {
			Error(w, http.StatusUnauthorized, "Unauthorized: User ID is required (X-User-ID header)")
			return
		}
		id, err := uuid.Parse(raw)
		if err != nil {
			Error(w, http.StatusUnauthorized, "Unauthorized: X-User-ID must be a UUID")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userIDKey{}, id.String())))
	})
}

// UserID is the caller's UUID set by RequireUserID.
func UserID(r *http.Request) string {
	id, _ := r.Context().Value(userIDKey{}).(string)
	return id
}

// PathUUID parses the {name} path value as a UUID; on failure it answers 400
// and returns false.
func PathUUID(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		Error(w, http.StatusBadRequest, name+" must be a UUID")
		return "", false
	}
	return id.String(), true
}
