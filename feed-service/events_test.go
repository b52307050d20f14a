package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/events/natstest"
	"github.com/caddysocial/platform/svckit/eventually"
)

// startWithBus is start with the event bus of ns.
func startWithBus(t *testing.T, f *fakeServices, ns *natstest.Server) string {
	t.Helper()
	bus, err := events.Connect(ns.URL(), "feed-test", quiet)
	if err != nil {
		t.Fatal(err)
	}
	users := httptest.NewServer(f.users())
	posts := httptest.NewServer(f.postsHandler())
	feed := httptest.NewServer(newHandler(t, Config{UserLB: users.URL, PostLB: posts.URL, Deadline: 5 * time.Second,
		Fanout: 8, Policy: testPolicy, Bus: bus, Heartbeat: 100 * time.Millisecond}))
	t.Cleanup(func() { feed.Close(); users.Close(); posts.Close(); bus.Close() })
	return feed.URL
}

func publish(t *testing.T, bus *events.Bus, typ string, data any) events.Envelope {
	t.Helper()
	e, err := events.New(typ, 1, data)
	if err != nil {
		t.Fatal(err)
	}
	natstest.Publish(t, bus, e, e.ID)
	return e
}

// Usernames are cached while the bus is up and dropped on profiles.updated.
func TestUsernameCacheIsInvalidatedByProfilesUpdated(t *testing.T) {
	ns := natstest.Start(t)
	bus := ns.Bus(t)
	f := newFake()
	me, friend := uuid.NewString(), uuid.NewString()
	f.friends[me] = []string{friend}
	f.profiles[friend] = "old"
	f.posts[friend] = []post{{Content: "hi", Timestamp: "2026-01-01T00:00:00.000000Z"}}
	base := startWithBus(t, f, ns)

	for range 3 {
		if _, _, items, raw := getFeed(t, base, me); len(items) != 1 || items[0].Username != "old" {
			t.Fatalf("feed %s", raw)
		}
	}
	if n := f.profileCalls.Load(); n != 1 {
		t.Errorf("%d profile calls for three feeds, want 1 (cached)", n)
	}
	f.mu.Lock()
	f.profiles[friend] = "new"
	f.mu.Unlock()
	publish(t, bus, events.ProfileUpdated, events.ProfileUpdatedData{UUID: friend, Username: "new"})
	eventually.True(t, 0, "the new username in the feed", func() bool {
		_, _, items, _ := getFeed(t, base, me)
		return len(items) == 1 && items[0].Username == "new"
	})
}

// Without the bus nothing is cached: every feed asks for the username.
func TestNoUsernameCacheWithoutBus(t *testing.T) {
	f := newFake()
	me, friend := uuid.NewString(), uuid.NewString()
	f.friends[me] = []string{friend}
	f.profiles[friend] = "name"
	f.posts[friend] = []post{{Content: "hi", Timestamp: "2026-01-01T00:00:00.000000Z"}}
	base := start(t, f, 5*time.Second)
	getFeed(t, base, me)
	getFeed(t, base, me)
	if n := f.profileCalls.Load(); n != 2 {
		t.Errorf("%d profile calls for two feeds, want 2", n)
	}
	res, err := http.Get(base + "/feed/stream")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("stream without X-User-ID: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/feed/stream", nil)
	req.Header.Set("X-User-ID", me)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 501 {
		t.Errorf("stream without a bus: %d, want 501 (clients poll /feed)", res.StatusCode)
	}
}

type sseEvent struct{ id, event, data string }

// sseClient reads a live feed.
type sseClient struct {
	t        *testing.T
	events   chan sseEvent
	comments chan string
	cancel   context.CancelFunc
	done     chan struct{}
}

func openStream(t *testing.T, base, user, lastID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/feed/stream", nil)
	req.Header.Set("X-User-ID", user)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	c := &sseClient{t: t, events: make(chan sseEvent, 100), comments: make(chan string, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					c.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				select {
				case c.comments <- line:
				default:
				}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) close() { c.cancel(); <-c.done }

func (c *sseClient) next() (sseEvent, item) {
	c.t.Helper()
	select {
	case ev := <-c.events:
		var it item
		if ev.event != "post" || json.Unmarshal([]byte(ev.data), &it) != nil || ev.id == "" {
			c.t.Fatalf("event %+v", ev)
		}
		return ev, it
	case <-time.After(10 * time.Second):
		c.t.Fatal("no event")
		return sseEvent{}, item{}
	}
}

func TestLiveFeed(t *testing.T) {
	ns := natstest.Start(t)
	bus := ns.Bus(t)
	f := newFake()
	me, friend, stranger, later := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	f.friends[me] = []string{friend}
	f.profiles[friend], f.profiles[stranger], f.profiles[later] = "friend", "stranger", "later"
	base := startWithBus(t, f, ns)

	s := openStream(t, base, me, "")
	post := func(author, content string) {
		publish(t, bus, events.PostCreated, events.PostCreatedData{AuthorUUID: author, Content: content, Timestamp: "2026-01-01T00:00:00.000000Z"})
	}
	post(friend, "one")
	post(stranger, "not for me")
	post(friend, "two")
	ev1, it := s.next()
	if it != (item{Username: "friend", AuthorUUID: friend, Content: "one", Timestamp: "2026-01-01T00:00:00.000000Z"}) {
		t.Fatalf("first item %+v", it)
	}
	ev2, it := s.next()
	if it.Content != "two" {
		t.Fatalf("second item %+v: a stranger's post came through?", it)
	}

	// A friend added while the stream is open counts from then on.
	f.mu.Lock()
	f.friends[me] = append(f.friends[me], later)
	f.mu.Unlock()
	post(later, "three")
	if _, it := s.next(); it.AuthorUUID != later {
		t.Fatalf("new friend's post: %+v", it)
	}
	select {
	case <-s.comments:
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat comment")
	}

	// Reconnecting after the first event gets the rest, each once.
	s.close()
	post(friend, "four (while away)")
	again := openStream(t, base, me, ev1.id)
	for _, want := range []string{"two", "three", "four (while away)"} {
		ev, it := again.next()
		if it.Content != want {
			t.Fatalf("after Last-Event-ID %s: %q (id %s), want %q", ev1.id, it.Content, ev.id, want)
		}
		if want == "two" && ev.id != ev2.id {
			t.Errorf("id of the same post changed: %s then %s", ev2.id, ev.id)
		}
	}
	select {
	case ev := <-again.events:
		t.Fatalf("extra event %+v", ev)
	case <-time.After(300 * time.Millisecond):
	}

	// A deleted account's streams end.
	publish(t, bus, events.AccountDeleted, events.AccountDeletedData{UserUUID: me})
	select {
	case <-again.done:
	case <-time.After(10 * time.Second):
		t.Fatal("stream of a deleted account still open")
	}
}
