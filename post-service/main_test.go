package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
	s, err := service.New(context.Background(), service.Options{Name: "post-service", Log: quiet, Getenv: env}, build)
	if err != nil {
		return "", err
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	return srv.URL, nil
}

type post struct {
	AuthorUUID string `json:"author_uuid"`
	Content    string `json:"content"`
	Timestamp  string `json:"timestamp"`
}

func create(t *testing.T, base, user, content string) post {
	t.Helper()
	r := call(t, "POST", base+"/posts/me", user, fmt.Sprintf(`{"content":%q}`, content))
	wantStatus(t, r, 201, "")
	var p post
	r.Decode(t, &p)
	return p
}

func list(t *testing.T, url, user string) []post {
	t.Helper()
	r := call(t, "GET", url, user, "")
	wantStatus(t, r, 200, "")
	var ps []post
	r.Decode(t, &ps)
	return ps
}

var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`)

func TestUserIDIsRequired(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	for _, c := range []struct{ method, path string }{
		{"GET", "/posts/me"}, {"POST", "/posts/me"}, {"GET", "/posts/" + uuid.NewString()},
	} {
		for _, user := range []string{"", "nope"} {
			wantStatus(t, call(t, c.method, base+c.path, user, `{"content":"x"}`), 401, "X-User-ID")
		}
	}
}

// Clients of the original service match on its error texts: ours start
// with them; NUL, which PostgreSQL cannot store, is a 400 naming the field.
func TestOriginalErrorWordingsAndNUL(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	apitest.WantError(t, call(t, "POST", base+"/posts/me", "", `{"content":"x"}`), 401, "Unauthorized")
	wantStatus(t, call(t, "GET", base+"/posts/me", "", ""), 401, "User ID is required")
	apitest.WantError(t, call(t, "POST", base+"/posts/me", me, `{"content":`), 400, "Invalid JSON")
	for _, body := range []string{`{"content":""}`, `{}`, `{"content":"` + strings.Repeat("c", 5001) + `"}`} {
		apitest.WantError(t, call(t, "POST", base+"/posts/me", me, body), 400, "Invalid content")
	}
	r := call(t, "POST", base+"/posts/me", me, `{"content":"a\u0000b"}`)
	apitest.WantError(t, r, 400, "Invalid content")
	wantStatus(t, r, 400, "content must not contain NUL")
	if got := list(t, base+"/posts/me", me); len(got) != 0 {
		t.Fatalf("posts after refusals: %+v", got)
	}
}

func TestCreateAndRead(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	me, other := uuid.NewString(), uuid.NewString()
	if r := call(t, "GET", base+"/posts/me", me, ""); r.Raw != "[]\n" {
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
	wantStatus(t, call(t, "POST", base+"/posts/me", me, `{"content":""}`), 400, "empty")
	wantStatus(t, call(t, "POST", base+"/posts/me", me, `{"content":"  \n "}`), 400, "empty")
	wantStatus(t, call(t, "POST", base+"/posts/me", me, `{}`), 400, "empty")
	wantStatus(t, call(t, "POST", base+"/posts/me", me, `{"content":"`+strings.Repeat("c", 5001)+`"}`), 400, "5000")
	wantStatus(t, call(t, "POST", base+"/posts/me", me, `{"content":`), 400, "JSON")
	wantStatus(t, call(t, "POST", base+"/posts/me", me, `{"content":"`+strings.Repeat("c", 70<<10)+`"}`), 413, "larger")
	wantStatus(t, call(t, "GET", base+"/posts/not-a-uuid", me, ""), 400, "UUID")
	r := call(t, "DELETE", base+"/posts/me", me, "")
	wantStatus(t, r, 405, "method")
	if r.Header.Get("Allow") != "GET, POST" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
	r = call(t, "POST", base+"/posts/"+other, me, `{"content":"x"}`)
	wantStatus(t, r, 405, "method")
	if r.Header.Get("Allow") != "GET" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
}

func TestNewestFirstWithLimitAndTies(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := instance(t, dsn)
	me := uuid.NewString()
	for i := range 5 {
		create(t, base, me, fmt.Sprintf("post %d", i))
	}
	// Three posts with one identical timestamp: the later-created comes first.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `
		INSERT INTO posts (author_uuid, content, created_at)
		SELECT $1, 'tie ' || g, '2030-01-01T00:00:00.123456Z' FROM generate_series(1, 3) AS g`, me); err != nil {
		t.Fatal(err)
	}
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
		wantStatus(t, call(t, "GET", base+"/posts/me?limit="+bad, me, ""), 400, "limit")
	}
}

func TestTwoInstancesShareOneDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var one, two string
	var wg sync.WaitGroup
	var errOne, errTwo error
	wg.Go(func() { one, errOne = startInstance(t, dsn) })
	wg.Go(func() { two, errTwo = startInstance(t, dsn) })
	wg.Wait()
	if errOne != nil || errTwo != nil {
		t.Fatalf("start two instances: %v; %v", errOne, errTwo)
	}
	me := uuid.NewString()
	p := create(t, one, me, "from one")
	if got := list(t, two+"/posts/me", me); len(got) != 1 || got[0] != p {
		t.Fatalf("instance two sees %+v", got)
	}
}

func TestDatabaseOutageIs503AndRecovers(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := instance(t, dsn)
	me := uuid.NewString()
	create(t, base, me, "before")
	pgtest.SetConnections(t, dsn, false)
	wantStatus(t, call(t, "GET", base+"/posts/me", me, ""), 503, "database unavailable")
	wantStatus(t, call(t, "POST", base+"/posts/me", me, `{"content":"during"}`), 503, "database unavailable")
	wantStatus(t, call(t, "GET", base+"/readyz", "", ""), 503, "unavailable")
	pgtest.SetConnections(t, dsn, true)
	create(t, base, me, "after")
	if got := list(t, base+"/posts/me", me); len(got) != 2 {
		t.Fatalf("after recovery: %+v", got)
	}
}

func TestStartsBeforeItsDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.SetConnections(t, dsn, false)
	base := instance(t, dsn) // the schema cannot be applied yet
	me := uuid.NewString()
	wantStatus(t, call(t, "GET", base+"/readyz", "", ""), 503, "unavailable")
	wantStatus(t, call(t, "POST", base+"/posts/me", me, `{"content":"early"}`), 503, "unavailable")
	pgtest.SetConnections(t, dsn, true)
	create(t, base, me, "late")
	wantStatus(t, call(t, "GET", base+"/readyz", "", ""), 200, "ready")
}
