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
// otherwise) and puts the canonical form in the context.
func RequireUserID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := uuid.Parse(r.Header.Get(UserIDHeader))
		if err != nil || r.Header.Get(UserIDHeader) == "" {
			Error(w, http.StatusUnauthorized, "missing or invalid X-User-ID header")
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
