package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/feed-service/internal/upstream"
	"github.com/caddysocial/platform/svckit/service"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

type post struct {
	AuthorUUID string `json:"author_uuid,omitempty"`
	Username   string `json:"username,omitempty"`
	Content    string `json:"content"`
	Timestamp  string `json:"timestamp"`
}

// fakeServices plays user-lb and post-lb.
type fakeServices struct {
	mu           sync.Mutex
	friends      map[string][]string
	profiles     map[string]string
	posts        map[string][]post
	original     bool        // behave like the course's services: null lists, text/plain
	friendsFail  int         // answer /friends with 500 this many times
	usersDown    atomic.Bool // answer everything on user-lb with 500
	profilesDown atomic.Bool // answer profile lookups with 503
	slowPosts    map[string]time.Duration
	slowFriends  time.Duration
	failPosts    map[string]bool
	batch        bool // serve GET /posts?authors= and GET /profiles?ids= (ours; the originals 404)
	mixed        bool // with batch: a pool of one new and one old backend, taken in turn

	friendsCalls, profileCalls, postsCalls atomic.Int32
	batchPostsCalls, batchProfilesCalls    atomic.Int32 // answered by a backend with the batch route
	missingBatch                           atomic.Int32 // batch calls answered 404
	turn                                   atomic.Int32
}

// batchServed says whether this batch call reaches a backend that has the
// route: always with batch, every other call in a mixed pool.
func (f *fakeServices) batchServed(w http.ResponseWriter) bool {
	if f.batch && (!f.mixed || f.turn.Add(1)%2 == 0) {
		return true
	}
	f.missingBatch.Add(1)
	http.Error(w, "404 page not found", http.StatusNotFound) // as the originals' router
	return false
}

func newFake() *fakeServices {
	return &fakeServices{friends: map[string][]string{}, profiles: map[string]string{}, posts: map[string][]post{},
		slowPosts: map[string]time.Duration{}, failPosts: map[string]bool{}}
}

func (f *fakeServices) write(w http.ResponseWriter, v any) {
	if f.original {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	json.NewEncoder(w).Encode(v)
}

func (f *fakeServices) users() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /friends", func(w http.ResponseWriter, r *http.Request) {
		f.friendsCalls.Add(1)
		time.Sleep(f.slowFriends)
		f.mu.Lock()
		fail := f.friendsFail > 0 || f.usersDown.Load()
		if f.friendsFail > 0 {
			f.friendsFail--
		}
		list := f.friends[r.Header.Get("X-User-ID")]
		f.mu.Unlock()
		if fail {
			http.Error(w, "boom", 500)
			return
		}
		if list == nil && !f.original {
			list = []string{}
		}
		f.write(w, list)
	})
	mux.HandleFunc("GET /profile/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.profileCalls.Add(1)
		if f.usersDown.Load() || f.profilesDown.Load() {
			http.Error(w, "boom", 500)
			return
		}
		f.mu.Lock()
		name, ok := f.profiles[r.PathValue("id")]
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":"not found"}`, 404)
			return
		}
		f.write(w, map[string]string{"uuid": r.PathValue("id"), "username": name, "bio": ""})
	})
	mux.HandleFunc("GET /profiles", func(w http.ResponseWriter, r *http.Request) {
		if !f.batchServed(w) {
			return
		}
		f.batchProfilesCalls.Add(1)
		if f.usersDown.Load() || f.profilesDown.Load() {
			http.Error(w, "boom", 500)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		found := []map[string]string{}
		for _, id := range strings.Split(r.URL.Query().Get("ids"), ",") {
			if name, ok := f.profiles[id]; ok {
				found = append(found, map[string]string{"uuid": id, "username": name, "bio": ""})
			}
		}
		f.write(w, found)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	return mux
}

func (f *fakeServices) postsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /posts", func(w http.ResponseWriter, r *http.Request) {
		if !f.batchServed(w) {
			return
		}
		f.batchPostsCalls.Add(1)
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		var all []post
		var delay time.Duration
		fail := false
		f.mu.Lock()
		for _, id := range strings.Split(r.URL.Query().Get("authors"), ",") {
			all = append(all, f.posts[id]...)
			delay = max(delay, f.slowPosts[id])
			fail = fail || f.failPosts[id]
		}
		f.mu.Unlock()
		if !answer(w, r, delay, fail) {
			return
		}
		slices.SortStableFunc(all, func(a, b post) int {
			if c := strings.Compare(b.Timestamp, a.Timestamp); c != 0 {
				return c
			}
			return strings.Compare(a.AuthorUUID, b.AuthorUUID)
		})
		f.write(w, all[:min(limit, len(all))])
	})
	mux.HandleFunc("GET /posts/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.postsCalls.Add(1)
		id := r.PathValue("id")
		f.mu.Lock()
		delay, fail, list := f.slowPosts[id], f.failPosts[id], f.posts[id]
		f.mu.Unlock()
		if !answer(w, r, delay, fail) {
			return
		}
		if list == nil && !f.original {
			list = []post{}
		}
		f.write(w, list) // all of them, unsorted as stored: ?limit is ignored
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	return mux
}

// answer waits delay (or until the caller gives up), then answers 503 if
// fail; it reports whether the handler should answer normally.
func answer(w http.ResponseWriter, r *http.Request, delay time.Duration, fail bool) bool {
	select {
	case <-time.After(delay):
	case <-r.Context().Done():
		return false
	}
	if fail {
		http.Error(w, "boom", 503)
		return false
	}
	return true
}

var testPolicy = upstream.Policy{
	AttemptTimeout: 300 * time.Millisecond, MaxRetries: 2, BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
	BreakerFailures: 3, BreakerDelay: 300 * time.Millisecond, BreakerSuccesses: 1, MaxConns: 32,
}

func start(t *testing.T, f *fakeServices, deadline time.Duration) string {
	t.Helper()
	return startWith(t, f, deadline, testPolicy)
}

func startWith(t *testing.T, f *fakeServices, deadline time.Duration, policy upstream.Policy) string {
	t.Helper()
	users := httptest.NewServer(f.users())
	posts := httptest.NewServer(f.postsHandler())
	feed := httptest.NewServer(newHandler(t, Config{UserLB: users.URL, PostLB: posts.URL, Deadline: deadline, Fanout: 8, Policy: policy}))
	t.Cleanup(func() { feed.Close(); users.Close(); posts.Close() })
	return feed.URL
}

// newHandler is the handler of the service wired with cfg; it closes when
// the test ends.
func newHandler(t testing.TB, cfg Config) http.Handler {
	t.Helper()
	s, err := service.New(context.Background(), service.Options{Name: "feed-service", Log: quiet}, func(s *service.Service) error {
		return wire(s, cfg)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.Handler()
}

type item struct {
	Username   string `json:"username"`
	AuthorUUID string `json:"author_uuid"`
	Content    string `json:"content"`
	Timestamp  string `json:"timestamp"`
}

func getFeed(t *testing.T, base, user string) (int, http.Header, []item, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/feed", nil)
	if user != "" {
		req.Header.Set("X-User-ID", user)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var items []item
	if res.StatusCode == 200 {
		if err := json.Unmarshal(raw, &items); err != nil {
			t.Fatalf("feed body %q: %v", raw, err)
		}
	}
	return res.StatusCode, res.Header, items, string(raw)
}

var base = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func ts(sec int) string {
	return base.Add(time.Duration(sec) * time.Second).Format("2006-01-02T15:04:05.000000Z07:00")
}

// world: me with n friends, each with posts at scattered times.
func world(f *fakeServices, n, postsEach int) (me string, friends []string) {
	me = uuid.NewString()
	for i := range n {
		id := uuid.NewString()
		friends = append(friends, id)
		f.profiles[id] = fmt.Sprintf("friend%d", i)
		for j := range postsEach {
			f.posts[id] = append(f.posts[id], post{AuthorUUID: id, Content: fmt.Sprintf("%d-%d", i, j), Timestamp: ts((i*37 + j*101) % 1000)})
		}
	}
	f.friends[me] = friends
	return me, friends
}

func TestFeedIsTheTenNewestAcrossManyFriends(t *testing.T) {
	f := newFake()
	me, _ := world(f, 30, 15)
	var all []post
	for _, ps := range f.posts {
		all = append(all, ps...)
	}
	slices.SortFunc(all, func(a, b post) int {
		if c := strings.Compare(b.Timestamp, a.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(a.AuthorUUID, b.AuthorUUID)
	})
	status, _, items, raw := getFeed(t, start(t, f, 5*time.Second), me)
	if status != 200 || len(items) != 10 {
		t.Fatalf("%d %s", status, raw)
	}
	for i, it := range items {
		w := all[i]
		if it.Timestamp != w.Timestamp || it.AuthorUUID != w.AuthorUUID || it.Content != w.Content || it.Username != f.profiles[w.AuthorUUID] {
			t.Fatalf("item %d = %+v, want %+v by %s", i, it, w, f.profiles[w.AuthorUUID])
		}
	}
	if got := f.profileCalls.Load(); int(got) > 10 {
		t.Fatalf("%d profile calls for 10 posts", got)
	}
}

func TestUsernamesAreFetchedOncePerAuthor(t *testing.T) {
	f := newFake()
	me := uuid.NewString()
	a, b := uuid.NewString(), uuid.NewString()
	f.friends[me] = []string{a, b, me, a} // the caller and a duplicate are ignored
	f.profiles[a], f.profiles[b] = "alice", "bob"
	for j := range 8 {
		f.posts[a] = append(f.posts[a], post{AuthorUUID: a, Content: fmt.Sprint("a", j), Timestamp: ts(2 * j)})
		f.posts[b] = append(f.posts[b], post{AuthorUUID: b, Content: fmt.Sprint("b", j), Timestamp: ts(2*j + 1)})
	}
	f.posts[me] = []post{{AuthorUUID: me, Content: "mine", Timestamp: ts(9999)}}
	_, _, items, _ := getFeed(t, start(t, f, 5*time.Second), me)
	if len(items) != 10 || items[0].Content != "b7" || items[1].Content != "a7" || items[9].Content != "a3" {
		t.Fatalf("feed %+v", items)
	}
	for _, it := range items {
		if it.AuthorUUID == me {
			t.Fatal("the caller's own post is in the feed")
		}
	}
	if got := f.profileCalls.Load(); got != 2 {
		t.Fatalf("%d profile calls, want 2 (one per distinct author)", got)
	}
	if got := f.postsCalls.Load(); got != 2 {
		t.Fatalf("%d posts calls, want 2 (duplicates and the caller skipped)", got)
	}
}

func TestTiesAreDeterministic(t *testing.T) {
	f := newFake()
	me := uuid.NewString()
	ids := []string{"cccccccc-0000-4000-8000-000000000000", "aaaaaaaa-0000-4000-8000-000000000000", "bbbbbbbb-0000-4000-8000-000000000000"}
	f.friends[me] = ids
	for _, id := range ids {
		f.profiles[id] = id[:1]
		f.posts[id] = []post{{AuthorUUID: id, Content: id[:1] + "1", Timestamp: ts(5)}, {AuthorUUID: id, Content: id[:1] + "2", Timestamp: ts(5)}}
	}
	url := start(t, f, 5*time.Second)
	var first string
	for range 5 {
		_, _, items, _ := getFeed(t, url, me)
		var order []string
		for _, it := range items {
			order = append(order, it.Content)
		}
		got := strings.Join(order, ",")
		if got != "a1,a2,b1,b2,c1,c2" {
			t.Fatalf("order %s, want a1,a2,b1,b2,c1,c2 (equal times: by author, then as listed)", got)
		}
		if first != "" && got != first {
			t.Fatal("order changed between requests")
		}
		first = got
	}
}

func TestEmptyFeeds(t *testing.T) {
	for _, original := range []bool{false, true} {
		f := newFake()
		f.original = original
		url := start(t, f, 5*time.Second)
		lonely := uuid.NewString()
		if status, _, _, raw := getFeed(t, url, lonely); status != 200 || raw != "[]\n" {
			t.Fatalf("original=%v, no friends: %d %q", original, status, raw)
		}
		me, _ := world(f, 3, 0)
		if status, _, _, raw := getFeed(t, url, me); status != 200 || raw != "[]\n" {
			t.Fatalf("original=%v, friends without posts: %d %q", original, status, raw)
		}
	}
}

func TestOriginalServicesQuirks(t *testing.T) {
	f := newFake()
	f.original = true // text/plain bodies, null lists
	me := uuid.NewString()
	a := uuid.NewString()
	f.friends[me] = []string{a}
	f.profiles[a] = "CortezTheKiller"
	// The original post-service lists usernames, not author ids.
	f.posts[a] = []post{{Username: "CortezTheKiller", Content: "I came dancing across the water", Timestamp: "1519-08-20T13:02:46.264428Z"},
		{Username: "CortezTheKiller", Content: "Looking for the new world...", Timestamp: "1519-08-20T13:08:41.099474Z"}}
	_, _, items, raw := getFeed(t, start(t, f, 5*time.Second), me)
	want := []item{
		{"CortezTheKiller", a, "Looking for the new world...", "1519-08-20T13:08:41.099474Z"},
		{"CortezTheKiller", a, "I came dancing across the water", "1519-08-20T13:02:46.264428Z"},
	}
	if !slices.Equal(items, want) {
		t.Fatalf("feed %s", raw)
	}
}

func TestMissingUserIDIs401(t *testing.T) {
	url := start(t, newFake(), time.Second)
	for _, user := range []string{"", "nope"} {
		if status, _, _, _ := getFeed(t, url, user); status != 401 {
			t.Fatalf("user %q: %d", user, status)
		}
	}
}

func TestSlowPostsDoNotBreakTheDeadline(t *testing.T) {
	f := newFake()
	me, friends := world(f, 5, 3)
	f.slowPosts[friends[2]] = 5 * time.Second
	url := start(t, f, time.Second)
	began := time.Now()
	status, h, items, raw := getFeed(t, url, me)
	took := time.Since(began)
	if took > 2*time.Second {
		t.Fatalf("feed took %s with a 1s deadline", took)
	}
	if status != 200 || len(items) != 10 || h.Get("X-Feed-Incomplete") != "posts=1, usernames=0" {
		t.Fatalf("%d %q %s", status, h.Get("X-Feed-Incomplete"), raw)
	}
	for _, it := range items {
		if it.AuthorUUID == friends[2] {
			t.Fatal("a post of the friend whose posts timed out")
		}
	}
}

func TestSlowFriendsCallFailsWithinTheDeadline(t *testing.T) {
	f := newFake()
	me, _ := world(f, 2, 1)
	f.slowFriends = 3 * time.Second
	url := start(t, f, 800*time.Millisecond)
	began := time.Now()
	status, _, _, raw := getFeed(t, url, me)
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("took %s with a 800ms deadline", took)
	}
	if status != http.StatusBadGateway || !strings.Contains(raw, "friends") {
		t.Fatalf("%d %s", status, raw)
	}
}

func TestTransientFailureIsRetried(t *testing.T) {
	f := newFake()
	me, _ := world(f, 3, 2)
	f.friendsFail = 2 // two 500s, then fine: within MaxRetries
	status, _, items, raw := getFeed(t, start(t, f, 5*time.Second), me)
	if status != 200 || len(items) != 6 {
		t.Fatalf("%d %s", status, raw)
	}
	if got := f.friendsCalls.Load(); got != 3 {
		t.Fatalf("%d calls to /friends, want 3 (two failures, one success)", got)
	}
}

// The breaker's delay is far longer than the test: however slow the
// machine, the second request finds the breaker open.
func TestBreakerOpens(t *testing.T) {
	f := newFake()
	me, _ := world(f, 2, 1)
	f.usersDown.Store(true)
	policy := testPolicy
	policy.BreakerDelay = time.Hour
	url := startWith(t, f, 5*time.Second, policy)
	// One request makes 3 attempts (1 + 2 retries): the breaker (3 failures) opens.
	if status, _, _, _ := getFeed(t, url, me); status != http.StatusBadGateway {
		t.Fatalf("first failing request: %d, want 502", status)
	}
	calls := f.friendsCalls.Load()
	f.usersDown.Store(false) // up again, but the breaker does not know yet
	status, h, _, _ := getFeed(t, url, me)
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("with the breaker open: %d, want 503 with Retry-After", status)
	}
	if f.friendsCalls.Load() != calls {
		t.Fatal("user-lb was called while the breaker was open")
	}
	if m := metricsText(t, url); !strings.Contains(m, `feed_upstream_circuit_breaker_state{upstream="user-lb"} 2`) {
		t.Fatalf("breaker state metric:\n%s", grepLines(m, "breaker"))
	}
}

// After its delay (waited out in full: a slow machine only waits longer)
// the breaker lets a trial call through, and closes on its success.
func TestBreakerHalfOpensAndCloses(t *testing.T) {
	f := newFake()
	me, _ := world(f, 2, 1)
	f.usersDown.Store(true)
	url := start(t, f, 5*time.Second)
	if status, _, _, _ := getFeed(t, url, me); status != http.StatusBadGateway {
		t.Fatalf("first failing request: %d, want 502", status)
	}
	f.usersDown.Store(false)
	time.Sleep(testPolicy.BreakerDelay + 50*time.Millisecond) // open -> half-open
	if status, _, items, raw := getFeed(t, url, me); status != 200 || len(items) != 2 {
		t.Fatalf("after the breaker's delay: %d %s", status, raw)
	}
	if m := metricsText(t, url); !strings.Contains(m, `feed_upstream_circuit_breaker_state{upstream="user-lb"} 0`) {
		t.Fatalf("breaker did not close:\n%s", grepLines(m, "breaker"))
	}
}

func TestEveryFriendsPostsFailingIs502(t *testing.T) {
	f := newFake()
	me, friends := world(f, 2, 1)
	for _, id := range friends {
		f.failPosts[id] = true
	}
	status, _, _, raw := getFeed(t, start(t, f, 5*time.Second), me)
	if status != http.StatusBadGateway || !strings.Contains(raw, "posts") {
		t.Fatalf("%d %s", status, raw)
	}
}

func TestMissingUsernameKeepsThePost(t *testing.T) {
	f := newFake()
	me, friends := world(f, 2, 1)
	delete(f.profiles, friends[0]) // 404: an author without a profile
	_, h, items, _ := getFeed(t, start(t, f, 5*time.Second), me)
	if len(items) != 2 || h.Get("X-Feed-Incomplete") != "" {
		t.Fatalf("items %+v, header %q", items, h.Get("X-Feed-Incomplete"))
	}
	for _, it := range items {
		if it.AuthorUUID == friends[0] && it.Username != "" {
			t.Fatalf("username %q for an author without a profile", it.Username)
		}
	}
}

func TestUpstreamMetrics(t *testing.T) {
	f := newFake()
	me, _ := world(f, 2, 1)
	url := start(t, f, 5*time.Second)
	getFeed(t, url, me)
	m := metricsText(t, url)
	for _, want := range []string{
		`feed_upstream_request_duration_seconds_count{outcome="200",route="/friends",upstream="user-lb"} 1`,
		`feed_upstream_request_duration_seconds_count{outcome="200",route="/posts/{userId}",upstream="post-lb"} 2`,
		`feed_upstream_request_duration_seconds_count{outcome="200",route="/profile/{userId}",upstream="user-lb"} 2`,
		`http_requests_total{code="200",method="GET",route="GET /feed",service="feed-service"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func metricsText(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func grepLines(text, substr string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
