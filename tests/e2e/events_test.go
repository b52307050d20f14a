package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Events (SPEC.md section 7, docs/EVENTS.md) end to end: account deletion,
// the live feed, username propagation. The outage variants (compose stop)
// are TestOutage* and run after Locust (run.sh).

// within polls f every 20 ms until it returns "" and fails the test if that
// took longer than limit (or never happened within wait); it returns how
// long it took.
func within(t *testing.T, limit, wait time.Duration, what string, start time.Time, f func() string) time.Duration {
	t.Helper()
	var last string
	for deadline := start.Add(wait); ; time.Sleep(20 * time.Millisecond) {
		if last = f(); last == "" {
			took := time.Since(start)
			t.Logf("%s after %s", what, took.Round(time.Millisecond))
			if took > limit {
				t.Errorf("%s took %s, want within %s", what, took.Round(time.Millisecond), limit)
			}
			return took
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s after %s", what, last, wait)
		}
	}
}

func befriend(t *testing.T, a, b account) {
	t.Helper()
	want(t, call(t, "POST", "/api/friends", a.token, map[string]string{"friend_uuid": b.id}), 200)
}

func createPost(t *testing.T, a account, content string) post {
	t.Helper()
	r := call(t, "POST", "/api/posts", a.token, map[string]string{"content": content})
	want(t, r, 201)
	var p post
	r.decode(t, &p)
	return p
}

// status answers "" when path answers code for a's token, else what it got.
func status(t *testing.T, a account, path string, code int) string {
	r := call(t, "GET", path, a.token, nil)
	if r.status != code {
		return r.header.Get("Date") + " " + http.StatusText(r.status) + " " + string(r.raw)
	}
	return ""
}

// lacks answers "" when the JSON list at path (for a) does not mention id.
func lacks(t *testing.T, a account, path, id string) string {
	r := call(t, "GET", path, a.token, nil)
	if r.status != 200 || strings.Contains(string(r.raw), id) {
		return string(r.raw)
	}
	return ""
}

func deleteAccount(t *testing.T, a account) {
	t.Helper()
	want(t, call(t, "DELETE", "/api/account", a.token, map[string]string{"password": a.password}), 202)
}

// deletionEffects waits for everything eventual of a's deletion, each within
// limit of start: profile 404, in no friend list, no posts, in no feed.
func deletionEffects(t *testing.T, gone, friend, fan account, start time.Time, limit, wait time.Duration) {
	t.Helper()
	within(t, limit, wait, "profile 404", start, func() string { return status(t, friend, "/api/profile/"+gone.id, 404) })
	within(t, limit, wait, "gone from a friend's list", start, func() string { return lacks(t, friend, "/api/friends", gone.id) })
	within(t, limit, wait, "gone from a fan's list", start, func() string { return lacks(t, fan, "/api/friends", gone.id) })
	within(t, limit, wait, "posts gone", start, func() string {
		if r := call(t, "GET", "/api/posts/"+gone.id, friend.token, nil); string(r.raw) != "[]\n" {
			return string(r.raw)
		}
		return ""
	})
	within(t, limit, wait, "in no feed", start, func() string { return lacks(t, friend, "/api/feed", gone.id) })
}

// doomed is an account to delete, with a friend (both directions), a fan
// (one direction) and a post.
func doomed(t *testing.T, name string) (gone, friend, fan account) {
	t.Helper()
	gone, friend, fan = newAccount(t, "leaver"+name), newAccount(t, "friend"+name), newAccount(t, "fan"+name)
	befriend(t, gone, friend)
	befriend(t, friend, gone)
	befriend(t, fan, gone)
	createPost(t, gone, "soon gone")
	return gone, friend, fan
}

func TestAccountDeletion(t *testing.T) {
	gone, friend, fan := doomed(t, "")
	if lacks(t, friend, "/api/feed", gone.id) == "" {
		t.Fatal("the post is not in the friend's feed before the deletion")
	}
	want(t, call(t, "GET", "/api/profile/me", gone.token, nil), 200)

	want(t, call(t, "DELETE", "/api/account", gone.token, map[string]string{"password": "not the password"}), 401)
	want(t, call(t, "DELETE", "/api/account", gone.token, map[string]string{}), 400)
	want(t, call(t, "GET", "/api/profile/me", gone.token, nil), 200)

	start := time.Now()
	deleteAccount(t, gone)
	// At once: login fails, the email registers again.
	if s, body := loginStatus(t, gone); s != 401 {
		t.Fatalf("login after deletion: %d %s", s, body)
	}
	want(t, call(t, "POST", "/api/auth/register", "", map[string]string{"email": gone.email, "password": gone.password}), 201)
	within(t, time.Second, 10*time.Second, "old token 401", start, func() string {
		return status(t, gone, "/api/profile/me", 401)
	})
	deletionEffects(t, gone, friend, fan, start, 2*time.Second, 30*time.Second)
	if lacks(t, friend, "/api/profile/"+friend.id, friend.id) == "" {
		t.Fatal("the friend's own profile went too")
	}
}

// sseStream is an open /api/feed/stream.
type sseStream struct {
	events chan sseEvent
	cancel context.CancelFunc
	done   chan struct{}
}

type sseEvent struct {
	id, event string
	item      feedItem
	at        time.Time
}

type feedItem struct {
	Username   string `json:"username"`
	AuthorUUID string `json:"author_uuid"`
	Content    string `json:"content"`
	Timestamp  string `json:"timestamp"`
}

func openStream(t *testing.T, a account, lastID string) *sseStream {
	t.Helper()
	c, base := gateway(t)
	streaming := &http.Client{Transport: c.Transport} // no overall timeout: the context ends it
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/feed/stream", nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := streaming.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		res.Body.Close()
		cancel()
		t.Fatalf("stream: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &sseStream{events: make(chan sseEvent, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		var data string
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "":
				if data != "" && json.Unmarshal([]byte(data), &ev.item) == nil {
					ev.at = time.Now()
					s.events <- ev
				}
				ev, data = sseEvent{}, ""
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() { s.cancel(); <-s.done }

func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		if ev.event != "post" || ev.id == "" {
			t.Fatalf("event %+v", ev)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event on the live feed")
		return sseEvent{}
	}
}

func TestLiveFeed(t *testing.T) {
	reader, writer, later, stranger := newAccount(t, "streamreader"), newAccount(t, "streamwriter"), newAccount(t, "latefriend"), newAccount(t, "streamstranger")
	befriend(t, reader, writer)
	s := openStream(t, reader, "")

	createPost(t, stranger, "not for the reader")
	sent := time.Now()
	p := createPost(t, writer, "live one")
	ev := s.next(t)
	if ev.item != (feedItem{"streamwriter", writer.id, "live one", p.Timestamp}) {
		t.Fatalf("live item %+v, want the post %+v by streamwriter", ev.item, p)
	}
	if took := ev.at.Sub(sent); took > time.Second {
		t.Errorf("post reached the friend's stream after %s, want within 1s", took)
	} else {
		t.Logf("post reached the stream after %s", took.Round(time.Millisecond))
	}

	// A friend added while the stream is open counts from then on.
	befriend(t, reader, later)
	createPost(t, later, "from a new friend")
	if ev := s.next(t); ev.item.Content != "from a new friend" {
		t.Fatalf("after adding a friend: %+v", ev.item)
	}
	first := ev

	// Disconnected: what was missed comes on reconnect, once, in order.
	s.close()
	createPost(t, writer, "missed 1")
	createPost(t, later, "missed 2")
	again := openStream(t, reader, first.id)
	var got []string
	for range 3 {
		got = append(got, again.next(t).item.Content)
	}
	if !slices.Equal(got, []string{"from a new friend", "missed 1", "missed 2"}) {
		t.Fatalf("after Last-Event-ID %s: %q", first.id, got)
	}
	createPost(t, writer, "live again")
	if ev := again.next(t); ev.item.Content != "live again" {
		t.Fatalf("a post delivered twice or out of order: %+v", ev.item)
	}
}

func TestUsernamePropagation(t *testing.T) {
	reader, writer := newAccount(t, "namereader"), newAccount(t, "nameold")
	befriend(t, reader, writer)
	createPost(t, writer, "who wrote this?")
	feedName := func() string {
		var feed []feedItem
		call(t, "GET", "/api/feed", reader.token, nil).decode(t, &feed)
		if len(feed) == 0 {
			return ""
		}
		return feed[0].Username
	}
	for range 2 { // the second read comes from feed-service's cache
		if n := feedName(); n != "nameold" {
			t.Fatalf("username in the feed %q", n)
		}
	}
	start := time.Now()
	want(t, call(t, "POST", "/api/profile/me", writer.token, map[string]string{"username": "namenew", "bio": "b"}), 200)
	within(t, time.Second, 10*time.Second, "new username in the feed", start, func() string {
		if n := feedName(); n != "namenew" {
			return n
		}
		return ""
	})
}

// TestOutageDeletionWhilePostServicesDown: the deletion is accepted while no
// post-service runs; the posts go once they are back, with nothing manual.
func TestOutageDeletionWhilePostServicesDown(t *testing.T) {
	gone, friend, _ := doomed(t, "postsdown")
	compose(t, "stop", "post-service-1", "post-service-2")
	t.Cleanup(func() { compose(t, "start", "post-service-1", "post-service-2") })
	deleteAccount(t, gone)
	start := time.Now()
	within(t, time.Second, 10*time.Second, "old token 401", start, func() string { return status(t, gone, "/api/profile/me", 401) })
	within(t, 2*time.Second, 30*time.Second, "profile 404", start, func() string { return status(t, friend, "/api/profile/"+gone.id, 404) })
	compose(t, "start", "post-service-1", "post-service-2")
	eventually(t, 90*time.Second, "posts gone after post-service returned", func() string {
		if r := call(t, "GET", "/api/posts/"+gone.id, friend.token, nil); string(r.raw) != "[]\n" {
			return r.header.Get("Date") + " " + string(r.raw)
		}
		return ""
	})
}

// TestOutageDeletionWhileNATSDown: 202, login and tokens refused at once
// (they do not need the bus), and the rest follows when NATS is back.
func TestOutageDeletionWhileNATSDown(t *testing.T) {
	gone, friend, fan := doomed(t, "natsdown")
	compose(t, "stop", "nats")
	t.Cleanup(func() { compose(t, "start", "nats") })
	start := time.Now()
	deleteAccount(t, gone)
	if s, body := loginStatus(t, gone); s != 401 {
		t.Fatalf("login after deletion: %d %s", s, body)
	}
	within(t, time.Second, 10*time.Second, "old token 401 with NATS down", start, func() string {
		return status(t, gone, "/api/profile/me", 401)
	})
	// Requests that write events succeed meanwhile.
	createPost(t, friend, "posted while NATS is down")
	compose(t, "start", "nats")
	deletionEffects(t, gone, friend, fan, time.Now(), time.Minute, 90*time.Second)
}
