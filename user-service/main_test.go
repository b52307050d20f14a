package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/pgtest"
)

func profile(t testing.TB, base, user, name string) {
	t.Helper()
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", user, fmt.Sprintf(`{"username":%q,"bio":"b"}`, name)), 200, name)
}

func TestUserIDIsRequired(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	for _, c := range []struct{ method, path string }{
		{"GET", "/profile/me"}, {"POST", "/profile/me"}, {"GET", "/profile/" + uuid.NewString()},
		{"GET", "/friends"}, {"POST", "/friends"}, {"DELETE", "/friends"},
	} {
		for _, user := range []string{"", "not-a-uuid", "1234"} {
			apitest.WantStatus(t, apitest.Call(t, c.method, base+c.path, user, `{}`), 401, "X-User-ID")
		}
	}
}

func TestProfiles(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/profile/me", me, ""), 404, "POST /profile/me")

	r := apitest.Call(t, "POST", base+"/profile/me", strings.ToUpper(me), `{"username":"CortezTheKiller","bio":"Famous spanish conquistador","age":50}`)
	apitest.WantStatus(t, r, 200, "")
	var p map[string]string
	r.Decode(t, &p)
	if p["uuid"] != me || p["username"] != "CortezTheKiller" || p["bio"] != "Famous spanish conquistador" || len(p) != 3 {
		t.Fatalf("profile %v", p)
	}
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", me, `{"username":"Cortez"}`), 200, `"bio":""`)
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/profile/me", me, ""), 200, `"username":"Cortez"`)
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/profile/"+me, uuid.NewString(), ""), 200, `"username":"Cortez"`)
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/profile/"+uuid.NewString(), me, ""), 404, "not found")
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/profile/nope", me, ""), 400, "UUID")

	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", me, `{"bio":"x"}`), 400, "username")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", me, `{"username":"  "}`), 400, "username")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", me, `{"username":"`+strings.Repeat("u", 65)+`"}`), 400, "64")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", me, `{"username":`), 400, "JSON")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", me, `{"username":"x","bio":"`+strings.Repeat("b", 70<<10)+`"}`), 413, "larger")
	r = apitest.Call(t, "PUT", base+"/profile/me", me, `{}`)
	apitest.WantStatus(t, r, 405, "method")
	if r.Header.Get("Allow") != "GET, POST" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/nothing/here", me, ""), 404, "not found")
}

func friends(t *testing.T, base, user string) []string {
	t.Helper()
	r := apitest.Call(t, "GET", base+"/friends", user, "")
	apitest.WantStatus(t, r, 200, "")
	var list []string
	r.Decode(t, &list)
	return list
}

func TestFriends(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	a, b, c := uuid.NewString(), uuid.NewString(), uuid.NewString()
	if r := apitest.Call(t, "GET", base+"/friends", a, ""); r.Raw != "[]\n" {
		t.Fatalf("no friends: %q, want []", r.Raw)
	}
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 409, "POST /profile/me")
	profile(t, base, a, "alice")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 404, "Friend not found")
	profile(t, base, b, "bob")
	profile(t, base, c, "carol")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+a+`"}`), 400, "yourself")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/friends", a, `{"friend_uuid":"x"}`), 400, "UUID")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/friends", a, `{}`), 400, "friend_uuid")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 200, b)
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 200, b) // idempotent
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+c+`"}`), 200, c)
	if got := friends(t, base, a); len(got) != 2 || got[0] != b || got[1] != c {
		t.Fatalf("friends of a: %v, want [b c] in order added", got)
	}
	if got := friends(t, base, b); len(got) != 0 {
		t.Fatalf("friendship is one-way, b has %v", got)
	}
	apitest.WantStatus(t, apitest.Call(t, "DELETE", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 200, c)
	apitest.WantStatus(t, apitest.Call(t, "DELETE", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 200, c) // idempotent
	if got := friends(t, base, a); len(got) != 1 || got[0] != c {
		t.Fatalf("after delete: %v", got)
	}
	r := apitest.Call(t, "PATCH", base+"/friends", a, "")
	apitest.WantStatus(t, r, 405, "method")
	if r.Header.Get("Allow") != "DELETE, GET, POST" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
}

func TestConcurrentAddAndDeleteOfOnePair(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	a, b := uuid.NewString(), uuid.NewString()
	profile(t, base, a, "a")
	profile(t, base, b, "b")
	body := `{"friend_uuid":"` + b + `"}`
	var wg sync.WaitGroup
	for i := range 40 {
		method := "POST"
		if i%2 == 1 {
			method = "DELETE"
		}
		wg.Go(func() {
			if r, err := apitest.Send(method, base+"/friends", a, body); err != nil || r.Status != 200 {
				t.Errorf("%s: %d %s %v", method, r.Status, r.Raw, err)
			}
		})
	}
	wg.Wait()
	apitest.Call(t, "POST", base+"/friends", a, body)
	if got := friends(t, base, a); len(got) != 1 || got[0] != b {
		t.Fatalf("friends after the storm: %v, want exactly [b]", got)
	}
}

func TestTwoInstancesShareOneDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	one, two := svc.StartTwo(t, dsn) // both apply the schema at once
	a, b := uuid.NewString(), uuid.NewString()
	profile(t, one, a, "a")
	profile(t, two, b, "b")
	apitest.WantStatus(t, apitest.Call(t, "POST", one+"/friends", a, `{"friend_uuid":"`+b+`"}`), 200, b)
	if got := friends(t, two, a); len(got) != 1 || got[0] != b {
		t.Fatalf("instance two sees %v", got)
	}
}

func TestDatabaseOutages(t *testing.T) {
	svc.WantDatabaseOutages(t,
		`POST /profile/me {"username":"me"}`,
		"GET /profile/me",
		"GET /friends",
	)
}

// Clients of the original service match on its error texts: ours start
// with them.
func TestOriginalErrorWordings(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	a, b := uuid.NewString(), uuid.NewString()
	for _, user := range []string{"", "1234"} {
		apitest.WantError(t, apitest.Call(t, "GET", base+"/friends", user, ""), 401, "Unauthorized")
	}
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/friends", "", ""), 401, "User ID is required")
	apitest.WantError(t, apitest.Call(t, "GET", base+"/profile/me", a, ""), 404, "User not found")
	apitest.WantError(t, apitest.Call(t, "GET", base+"/profile/"+b, a, ""), 404, "User not found")
	apitest.WantError(t, apitest.Call(t, "POST", base+"/profile/me", a, `{"username":`), 400, "Invalid JSON")
	profile(t, base, a, "alice")
	apitest.WantError(t, apitest.Call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 404, "Friend not found")
	for _, body := range []string{`{"friend_uuid":"x"}`, `{}`, `{"friend_uuid":"` + a + `"}`} {
		apitest.WantError(t, apitest.Call(t, "POST", base+"/friends", a, body), 400, "Invalid friend ID")
	}
	apitest.WantError(t, apitest.Call(t, "DELETE", base+"/friends", a, `{"friend_uuid":"x"}`), 400, "Invalid friend ID")
	apitest.WantError(t, apitest.Call(t, "DELETE", base+"/friends", a, `[`), 400, "Invalid JSON")
}

// PostgreSQL cannot store NUL in text: a 400 naming the field, not a
// database error.
func TestNULInTextIs400NamingTheField(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", me, `{"username":"a\u0000b","bio":"x"}`), 400, "username must not contain NUL")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", me, `{"username":"\u0000"}`), 400, "username")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", me, `{"username":"ok","bio":"\u0000"}`), 400, "bio must not contain NUL")
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/profile/me", me, ""), 404, "User not found")
	// Lone surrogates and invalid UTF-8 are replaced by the JSON decoder.
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/profile/me", me, "{\"username\":\"a\\ud800b\",\"bio\":\"\xff\"}"), 200, "a\ufffdb")
}

// A fault that is not the database being unreachable (here its table is
// gone) is a 500 that promises nothing and shows nothing.
func TestDatabaseFaultIs500WithoutDetail(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := svc.Start(t, dsn)
	me := uuid.NewString()
	profile(t, base, me, "me")
	pgtest.Exec(t, dsn, "DROP TABLE friendships")
	r := apitest.Call(t, "GET", base+"/friends", me, "")
	apitest.WantStatus(t, r, 500, "internal error")
	if r.Header.Get("Retry-After") != "" || strings.Contains(r.Raw, "friendships") || strings.Contains(r.Raw, "SQLSTATE") {
		t.Fatalf("500 with Retry-After or detail: %v %s", r.Header, r.Raw)
	}
}

func TestMetricsByRoutePattern(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	apitest.Call(t, "GET", base+"/profile/"+me, me, "")
	apitest.Call(t, "GET", base+"/profile/"+uuid.NewString(), me, "")
	apitest.Call(t, "GET", base+"/unknown/"+me, me, "")
	r := apitest.Call(t, "GET", base+"/metrics", "", "")
	for _, want := range []string{
		`http_requests_total{code="404",method="GET",route="GET /profile/{userId}",service="user-service"} 2`,
		`http_requests_total{code="404",method="GET",route="unmatched",service="user-service"} 1`,
		`http_request_duration_seconds_count{method="GET",route="GET /profile/{userId}",service="user-service"} 2`,
	} {
		if !strings.Contains(r.Raw, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(r.Raw, me) {
		t.Error("a user id appears in the metrics")
	}
}

// FuzzAPI sends arbitrary bodies and path parameters to the endpoints with
// client input (a JSON body, a path parameter or ?ids) on a real database:
// see apitest.Fuzz for the properties. Seeds: testdata/fuzz/FuzzAPI.
func FuzzAPI(f *testing.F) {
	base := svc.Start(f, pgtest.NewDatabase(f))
	me, friend := uuid.NewString(), uuid.NewString()
	profile(f, base, me, "fuzzer")
	profile(f, base, friend, "friend")
	apitest.Fuzz(f, base, me, []string{
		"POST /profile/me",
		"GET /profile/{param}",
		"POST /friends",
		"DELETE /friends",
		"GET /profiles?ids={param}",
	}, "Invalid JSON", "Invalid friend ID", "username", "bio", "userId", "ids")
}

// svc is the service under test, built as main builds it.
var svc = apitest.Service{Name: "user-service", Build: build}
