package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/pgtest"
)

type post struct {
	AuthorUUID string `json:"author_uuid"`
	Content    string `json:"content"`
	Timestamp  string `json:"timestamp"`
}

func create(t *testing.T, base, user, content string) post {
	t.Helper()
	r := apitest.Call(t, "POST", base+"/posts/me", user, fmt.Sprintf(`{"content":%q}`, content))
	apitest.WantStatus(t, r, 201, "")
	var p post
	r.Decode(t, &p)
	return p
}

func list(t *testing.T, url, user string) []post {
	t.Helper()
	r := apitest.Call(t, "GET", url, user, "")
	apitest.WantStatus(t, r, 200, "")
	var ps []post
	r.Decode(t, &ps)
	return ps
}

var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`)

func TestUserIDIsRequired(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	for _, c := range []struct{ method, path string }{
		{"GET", "/posts/me"}, {"POST", "/posts/me"}, {"GET", "/posts/" + uuid.NewString()},
	} {
		for _, user := range []string{"", "nope"} {
			apitest.WantStatus(t, apitest.Call(t, c.method, base+c.path, user, `{"content":"x"}`), 401, "X-User-ID")
		}
	}
}

// Clients of the original service match on its error texts: ours start
// with them; NUL, which PostgreSQL cannot store, is a 400 naming the field.
func TestOriginalErrorWordingsAndNUL(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	apitest.WantError(t, apitest.Call(t, "POST", base+"/posts/me", "", `{"content":"x"}`), 401, "Unauthorized")
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/posts/me", "", ""), 401, "User ID is required")
	apitest.WantError(t, apitest.Call(t, "POST", base+"/posts/me", me, `{"content":`), 400, "Invalid JSON")
	for _, body := range []string{`{"content":""}`, `{}`, `{"content":"` + strings.Repeat("c", 5001) + `"}`} {
		apitest.WantError(t, apitest.Call(t, "POST", base+"/posts/me", me, body), 400, "Invalid content")
	}
	r := apitest.Call(t, "POST", base+"/posts/me", me, `{"content":"a\u0000b"}`)
	apitest.WantError(t, r, 400, "Invalid content")
	apitest.WantStatus(t, r, 400, "content must not contain NUL")
	if got := list(t, base+"/posts/me", me); len(got) != 0 {
		t.Fatalf("posts after refusals: %+v", got)
	}
}

func TestCreateAndRead(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	me, other := uuid.NewString(), uuid.NewString()
	if r := apitest.Call(t, "GET", base+"/posts/me", me, ""); r.Raw != "[]\n" {
		t.Fatalf("no posts: %q, want []", r.Raw)
	}
	p := create(t, base, me, "I came dancing across the water")
	if p.AuthorUUID != me || p.Content != "I came dancing across the water" || !timestampRE.MatchString(p.Timestamp) {
		t.Fatalf("created %+v", p)
	}
	got := list(t, base+"/posts/me", me)
	if len(got) != 1 || got[0] != p {
		t.Fatalf("read back %+v, want exactly %+v (same timestamp precision)", got, p)
	}
	if got := list(t, base+"/posts/"+me, other); len(got) != 1 || got[0] != p {
		t.Fatalf("by id: %+v", got)
	}
	if got := list(t, base+"/posts/"+other, me); len(got) != 0 {
		t.Fatalf("other's posts: %+v", got)
	}
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/posts/me", me, `{"content":""}`), 400, "empty")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/posts/me", me, `{"content":"  \n "}`), 400, "empty")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/posts/me", me, `{}`), 400, "empty")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/posts/me", me, `{"content":"`+strings.Repeat("c", 5001)+`"}`), 400, "5000")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/posts/me", me, `{"content":`), 400, "JSON")
	apitest.WantStatus(t, apitest.Call(t, "POST", base+"/posts/me", me, `{"content":"`+strings.Repeat("c", 70<<10)+`"}`), 413, "larger")
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/posts/not-a-uuid", me, ""), 400, "UUID")
	r := apitest.Call(t, "DELETE", base+"/posts/me", me, "")
	apitest.WantStatus(t, r, 405, "method")
	if r.Header.Get("Allow") != "GET, POST" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
	r = apitest.Call(t, "POST", base+"/posts/"+other, me, `{"content":"x"}`)
	apitest.WantStatus(t, r, 405, "method")
	if r.Header.Get("Allow") != "GET" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
}

func TestNewestFirstWithLimitAndTies(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := svc.Start(t, dsn)
	me := uuid.NewString()
	for i := range 5 {
		create(t, base, me, fmt.Sprintf("post %d", i))
	}
	// Three posts with one identical timestamp: the later-created comes first.
	pgtest.Exec(t, dsn, `
		INSERT INTO posts (author_uuid, content, created_at)
		SELECT '`+me+`', 'tie ' || g, '2030-01-01T00:00:00.123456Z' FROM generate_series(1, 3) AS g`)
	got := list(t, base+"/posts/me", me)
	want := []string{"tie 3", "tie 2", "tie 1", "post 4", "post 3", "post 2", "post 1", "post 0"}
	if len(got) != len(want) {
		t.Fatalf("%d posts, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Content != want[i] {
			t.Fatalf("position %d: %q, want %q (all: %+v)", i, got[i].Content, want[i], got)
		}
	}
	if got[0].Timestamp != "2030-01-01T00:00:00.123456Z" {
		t.Fatalf("timestamp %q", got[0].Timestamp)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Timestamp > got[i-1].Timestamp {
			t.Fatalf("not newest first at %d", i)
		}
	}
	if got := list(t, base+"/posts/me?limit=2", me); len(got) != 2 || got[0].Content != "tie 3" || got[1].Content != "tie 2" {
		t.Fatalf("limit=2: %+v", got)
	}
	if got := list(t, base+"/posts/"+me+"?limit=4", uuid.NewString()); len(got) != 4 || got[3].Content != "post 4" {
		t.Fatalf("by id, limit=4: %+v", got)
	}
	for _, bad := range []string{"0", "-1", "x", "1001"} {
		apitest.WantStatus(t, apitest.Call(t, "GET", base+"/posts/me?limit="+bad, me, ""), 400, "limit")
	}
}

func TestTwoInstancesShareOneDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	one, two := svc.StartTwo(t, dsn) // both apply the schema at once
	me := uuid.NewString()
	p := create(t, one, me, "from one")
	if got := list(t, two+"/posts/me", me); len(got) != 1 || got[0] != p {
		t.Fatalf("instance two sees %+v", got)
	}
}

func TestDatabaseOutages(t *testing.T) {
	svc.WantDatabaseOutages(t,
		`POST /posts/me {"content":"x"}`,
		"GET /posts/me",
	)
}

// FuzzAPI sends arbitrary bodies, path parameters and limits to the
// endpoints with client input (a JSON body, a path parameter, ?limit or
// ?authors) on a real database: see apitest.Fuzz for the properties. Seeds:
// testdata/fuzz/FuzzAPI.
func FuzzAPI(f *testing.F) {
	base := svc.Start(f, pgtest.NewDatabase(f))
	apitest.Fuzz(f, base, uuid.NewString(), []string{
		"POST /posts/me",
		"GET /posts/{param}",
		"GET /posts/me?limit={param}",
		"GET /posts?authors={param}&limit=10",
	}, "Invalid JSON", "Invalid content", "userId", "limit", "authors")
}

// svc is the service under test, built as main builds it.
var svc = apitest.Service{Name: "post-service", Build: build}
