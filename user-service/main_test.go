package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/pgtest"
	"github.com/caddysocial/platform/svckit/service"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

var (
	call       = apitest.Call
	wantStatus = apitest.WantStatus
)

// instance starts the service's handler on dsn behind a test server.
func instance(t testing.TB, dsn string) string {
	t.Helper()
	url, err := startInstance(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// startInstance is instance for goroutines: it returns the failure.
func startInstance(t testing.TB, dsn string) (string, error) {
	env := func(k string) string {
		if k == "POSTGRES_DSN" {
			return dsn
		}
		return os.Getenv(k)
	}
	s, err := service.New(context.Background(), service.Options{Name: "user-service", Log: quiet, Getenv: env}, build)
	if err != nil {
		return "", err
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	return srv.URL, nil
}

func profile(t testing.TB, base, user, name string) {
	t.Helper()
	wantStatus(t, call(t, "POST", base+"/profile/me", user, fmt.Sprintf(`{"username":%q,"bio":"b"}`, name)), 200, name)
}

func TestUserIDIsRequired(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	for _, c := range []struct{ method, path string }{
		{"GET", "/profile/me"}, {"POST", "/profile/me"}, {"GET", "/profile/" + uuid.NewString()},
		{"GET", "/friends"}, {"POST", "/friends"}, {"DELETE", "/friends"},
	} {
		for _, user := range []string{"", "not-a-uuid", "1234"} {
			wantStatus(t, call(t, c.method, base+c.path, user, `{}`), 401, "X-User-ID")
		}
	}
}

func TestProfiles(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	wantStatus(t, call(t, "GET", base+"/profile/me", me, ""), 404, "POST /profile/me")

	r := call(t, "POST", base+"/profile/me", strings.ToUpper(me), `{"username":"CortezTheKiller","bio":"Famous spanish conquistador","age":50}`)
	wantStatus(t, r, 200, "")
	var p map[string]string
	r.Decode(t, &p)
	if p["uuid"] != me || p["username"] != "CortezTheKiller" || p["bio"] != "Famous spanish conquistador" || len(p) != 3 {
		t.Fatalf("profile %v", p)
	}
	wantStatus(t, call(t, "POST", base+"/profile/me", me, `{"username":"Cortez"}`), 200, `"bio":""`)
	wantStatus(t, call(t, "GET", base+"/profile/me", me, ""), 200, `"username":"Cortez"`)
	wantStatus(t, call(t, "GET", base+"/profile/"+me, uuid.NewString(), ""), 200, `"username":"Cortez"`)
	wantStatus(t, call(t, "GET", base+"/profile/"+uuid.NewString(), me, ""), 404, "not found")
	wantStatus(t, call(t, "GET", base+"/profile/nope", me, ""), 400, "UUID")

	wantStatus(t, call(t, "POST", base+"/profile/me", me, `{"bio":"x"}`), 400, "username")
	wantStatus(t, call(t, "POST", base+"/profile/me", me, `{"username":"  "}`), 400, "username")
	wantStatus(t, call(t, "POST", base+"/profile/me", me, `{"username":"`+strings.Repeat("u", 65)+`"}`), 400, "64")
	wantStatus(t, call(t, "POST", base+"/profile/me", me, `{"username":`), 400, "JSON")
	wantStatus(t, call(t, "POST", base+"/profile/me", me, `{"username":"x","bio":"`+strings.Repeat("b", 70<<10)+`"}`), 413, "larger")
	r = call(t, "PUT", base+"/profile/me", me, `{}`)
	wantStatus(t, r, 405, "method")
	if r.Header.Get("Allow") != "GET, POST" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
	wantStatus(t, call(t, "GET", base+"/nothing/here", me, ""), 404, "not found")
}

func friends(t *testing.T, base, user string) []string {
	t.Helper()
	r := call(t, "GET", base+"/friends", user, "")
	wantStatus(t, r, 200, "")
	var list []string
	r.Decode(t, &list)
	return list
}

func TestFriends(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	a, b, c := uuid.NewString(), uuid.NewString(), uuid.NewString()
	if r := call(t, "GET", base+"/friends", a, ""); r.Raw != "[]\n" {
		t.Fatalf("no friends: %q, want []", r.Raw)
	}
	wantStatus(t, call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 409, "POST /profile/me")
	profile(t, base, a, "alice")
	wantStatus(t, call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 404, "Friend not found")
	profile(t, base, b, "bob")
	profile(t, base, c, "carol")
	wantStatus(t, call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+a+`"}`), 400, "yourself")
	wantStatus(t, call(t, "POST", base+"/friends", a, `{"friend_uuid":"x"}`), 400, "UUID")
	wantStatus(t, call(t, "POST", base+"/friends", a, `{}`), 400, "friend_uuid")
	wantStatus(t, call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 200, b)
	wantStatus(t, call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 200, b) // idempotent
	wantStatus(t, call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+c+`"}`), 200, c)
	if got := friends(t, base, a); len(got) != 2 || got[0] != b || got[1] != c {
		t.Fatalf("friends of a: %v, want [b c] in order added", got)
	}
	if got := friends(t, base, b); len(got) != 0 {
		t.Fatalf("friendship is one-way, b has %v", got)
	}
	wantStatus(t, call(t, "DELETE", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 200, c)
	wantStatus(t, call(t, "DELETE", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 200, c) // idempotent
	if got := friends(t, base, a); len(got) != 1 || got[0] != c {
		t.Fatalf("after delete: %v", got)
	}
	r := call(t, "PATCH", base+"/friends", a, "")
	wantStatus(t, r, 405, "method")
	if r.Header.Get("Allow") != "DELETE, GET, POST" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
}

func TestConcurrentAddAndDeleteOfOnePair(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
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
	call(t, "POST", base+"/friends", a, body)
	if got := friends(t, base, a); len(got) != 1 || got[0] != b {
		t.Fatalf("friends after the storm: %v, want exactly [b]", got)
	}
}

func TestTwoInstancesShareOneDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var one, two string
	var wg sync.WaitGroup // both start (and migrate) at once
	var errOne, errTwo error
	wg.Go(func() { one, errOne = startInstance(t, dsn) })
	wg.Go(func() { two, errTwo = startInstance(t, dsn) })
	wg.Wait()
	if errOne != nil || errTwo != nil {
		t.Fatalf("start two instances: %v; %v", errOne, errTwo)
	}
	a, b := uuid.NewString(), uuid.NewString()
	profile(t, one, a, "a")
	profile(t, two, b, "b")
	wantStatus(t, call(t, "POST", one+"/friends", a, `{"friend_uuid":"`+b+`"}`), 200, b)
	if got := friends(t, two, a); len(got) != 1 || got[0] != b {
		t.Fatalf("instance two sees %v", got)
	}
}

func TestDatabaseOutageIs503AndRecovers(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := instance(t, dsn)
	me := uuid.NewString()
	profile(t, base, me, "me")
	wantStatus(t, call(t, "GET", base+"/readyz", "", ""), 200, "ready")

	pgtest.SetConnections(t, dsn, false)
	wantStatus(t, call(t, "GET", base+"/profile/me", me, ""), 503, "database unavailable")
	wantStatus(t, call(t, "GET", base+"/friends", me, ""), 503, "database unavailable")
	wantStatus(t, call(t, "GET", base+"/readyz", "", ""), 503, "database unavailable")
	wantStatus(t, call(t, "GET", base+"/healthz", "", ""), 200, "ok")

	pgtest.SetConnections(t, dsn, true)
	wantStatus(t, call(t, "GET", base+"/profile/me", me, ""), 200, `"username":"me"`)
	wantStatus(t, call(t, "GET", base+"/readyz", "", ""), 200, "ready")
}

func TestStartsBeforeItsDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.SetConnections(t, dsn, false)
	base := instance(t, dsn) // the schema cannot be applied yet
	me := uuid.NewString()
	wantStatus(t, call(t, "GET", base+"/readyz", "", ""), 503, "unavailable")
	wantStatus(t, call(t, "POST", base+"/profile/me", me, `{"username":"late"}`), 503, "unavailable")
	pgtest.SetConnections(t, dsn, true)
	profile(t, base, me, "late")
}

// Clients of the original service match on its error texts: ours start
// with them.
func TestOriginalErrorWordings(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	a, b := uuid.NewString(), uuid.NewString()
	for _, user := range []string{"", "1234"} {
		apitest.WantError(t, call(t, "GET", base+"/friends", user, ""), 401, "Unauthorized")
	}
	wantStatus(t, call(t, "GET", base+"/friends", "", ""), 401, "User ID is required")
	apitest.WantError(t, call(t, "GET", base+"/profile/me", a, ""), 404, "User not found")
	apitest.WantError(t, call(t, "GET", base+"/profile/"+b, a, ""), 404, "User not found")
	apitest.WantError(t, call(t, "POST", base+"/profile/me", a, `{"username":`), 400, "Invalid JSON")
	profile(t, base, a, "alice")
	apitest.WantError(t, call(t, "POST", base+"/friends", a, `{"friend_uuid":"`+b+`"}`), 404, "Friend not found")
	for _, body := range []string{`{"friend_uuid":"x"}`, `{}`, `{"friend_uuid":"` + a + `"}`} {
		apitest.WantError(t, call(t, "POST", base+"/friends", a, body), 400, "Invalid friend ID")
	}
	apitest.WantError(t, call(t, "DELETE", base+"/friends", a, `{"friend_uuid":"x"}`), 400, "Invalid friend ID")
	apitest.WantError(t, call(t, "DELETE", base+"/friends", a, `[`), 400, "Invalid JSON")
}

// PostgreSQL cannot store NUL in text: a 400 naming the field, not a
// database error.
func TestNULInTextIs400NamingTheField(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	wantStatus(t, call(t, "POST", base+"/profile/me", me, `{"username":"a\u0000b","bio":"x"}`), 400, "username must not contain NUL")
	wantStatus(t, call(t, "POST", base+"/profile/me", me, `{"username":"\u0000"}`), 400, "username")
	wantStatus(t, call(t, "POST", base+"/profile/me", me, `{"username":"ok","bio":"\u0000"}`), 400, "bio must not contain NUL")
	wantStatus(t, call(t, "GET", base+"/profile/me", me, ""), 404, "User not found")
	// Lone surrogates and invalid UTF-8 are replaced by the JSON decoder.
	wantStatus(t, call(t, "POST", base+"/profile/me", me, "{\"username\":\"a\\ud800b\",\"bio\":\"\xff\"}"), 200, "a\ufffdb")
}

// A fault that is not the database being unreachable (here its table is
// gone) is a 500 that promises nothing and shows nothing.
func TestDatabaseFaultIs500WithoutDetail(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := instance(t, dsn)
	me := uuid.NewString()
	profile(t, base, me, "me")
	pgtest.Exec(t, dsn, "DROP TABLE friendships")
	r := call(t, "GET", base+"/friends", me, "")
	wantStatus(t, r, 500, "internal error")
	if r.Header.Get("Retry-After") != "" || strings.Contains(r.Raw, "friendships") || strings.Contains(r.Raw, "SQLSTATE") {
		t.Fatalf("500 with Retry-After or detail: %v %s", r.Header, r.Raw)
	}
}

func TestMetricsByRoutePattern(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	call(t, "GET", base+"/profile/"+me, me, "")
	call(t, "GET", base+"/profile/"+uuid.NewString(), me, "")
	call(t, "GET", base+"/unknown/"+me, me, "")
	r := call(t, "GET", base+"/metrics", "", "")
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
