package httpx

import (
	"net/http"
	"slices"
	"strings"
)

// Methods maps HTTP methods to the handler of one path.
type Methods map[string]http.HandlerFunc

// otherMethods get a JSON 405 where a path does not serve them. (A
// method-less fallback pattern would conflict in ServeMux with patterns such
// as "GET /profile/{userId}" next to "/profile/me".)
var otherMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// Handle registers each method of path on mux, and answers the other
// standard methods with 405, Allow and a JSON body (ServeMux's own 405 is
// text/plain).
func Handle(mux *http.ServeMux, path string, methods Methods) {
	allowed := make([]string, 0, len(methods))
	for m, h := range methods {
		mux.Handle(m+" "+path, h)
		allowed = append(allowed, m)
	}
	slices.Sort(allowed)
	allow := strings.Join(allowed, ", ")
	notAllowed := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		Error(w, http.StatusMethodNotAllowed, "method not allowed")
	}
	for _, m := range otherMethods {
		_, served := methods[m]
		if m == http.MethodHead {
			_, served = methods[http.MethodGet] // GET patterns serve HEAD
		}
		if !served {
			mux.HandleFunc(m+" "+path, notAllowed)
		}
	}
}

// NotFound answers every request no other pattern matches with a JSON 404.
func NotFound(mux *http.ServeMux) {
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		Error(w, http.StatusNotFound, "not found")
	})
}
