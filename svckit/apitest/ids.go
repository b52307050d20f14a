package apitest

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// WantIDListRefusals checks how a batch endpoint refuses bad input: the GET
// at base+path taking a comma-separated list of user ids in the query
// parameter param (path already ends in "?" or "&" before it). No caller is
// 401 "Unauthorized"; no list is 400 "User ID is required"; a malformed id
// or more than 1000 are 400 "Invalid user ID"; another method is 405 with
// Allow: GET. The original services' wordings come first, as clients match
// on them.
func WantIDListRefusals(t testing.TB, base, path, param string) {
	t.Helper()
	me, a := uuid.NewString(), uuid.NewString()
	url := base + path + param + "="
	WantError(t, Call(t, "GET", url+a, "", ""), 401, "Unauthorized")
	WantError(t, Call(t, "GET", strings.TrimRight(base+path, "?&"), me, ""), 400, "User ID is required")
	WantError(t, Call(t, "GET", url, me, ""), 400, "User ID is required")
	WantError(t, Call(t, "GET", url+a+",nope", me, ""), 400, "Invalid user ID")
	many := strings.TrimSuffix(strings.Repeat(a+",", 1001), ",")
	r := Call(t, "GET", url+many, me, "")
	WantError(t, r, 400, "Invalid user ID")
	WantStatus(t, r, 400, "more than 1000")
	WantStatus(t, Call(t, "GET", url+strings.TrimSuffix(strings.Repeat(a+",", 1000), ","), me, ""), 200, "")
	r = Call(t, "POST", url+a, me, "{}")
	WantStatus(t, r, 405, "method")
	if r.Header.Get("Allow") != "GET" {
		t.Fatalf("Allow %q, want GET", r.Header.Get("Allow"))
	}
}
