package httpx

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// QueryUUIDs reads the query parameter param as a comma-separated list of
// 1 to maxIDs UUIDs (the batch endpoints' ?authors= and ?ids=), canonical
// and without duplicates, in the order given. On failure it answers 400 and
// returns false: a missing or empty list starts with missing (the original
// services' wording for a missing id), a malformed or too long one with
// invalid; the detail names the parameter and the bound.
func QueryUUIDs(w http.ResponseWriter, r *http.Request, param string, maxIDs int, missing, invalid string) ([]string, bool) {
	raw := r.URL.Query().Get(param)
	if strings.TrimSpace(raw) == "" {
		Error(w, http.StatusBadRequest, fmt.Sprintf("%s: %s must list 1 to %d comma-separated UUIDs", missing, param, maxIDs))
		return nil, false
	}
	// Bound the work before parsing: at most maxIDs commas are allowed.
	if strings.Count(raw, ",") >= maxIDs {
		Error(w, http.StatusBadRequest, fmt.Sprintf("%s: %s lists more than %d ids", invalid, param, maxIDs))
		return nil, false
	}
	parts := strings.Split(raw, ",")
	ids := make([]string, 0, len(parts))
	seen := make(map[string]bool, len(parts))
	for i, p := range parts {
		id, err := uuid.Parse(strings.TrimSpace(p))
		if err != nil {
			Error(w, http.StatusBadRequest, fmt.Sprintf("%s: %s entry %d is not a UUID", invalid, param, i+1))
			return nil, false
		}
		if s := id.String(); !seen[s] {
			seen[s] = true
			ids = append(ids, s)
		}
	}
	return ids, true
}
