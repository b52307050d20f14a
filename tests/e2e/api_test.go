package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	a := newAccount(t, "auth")
	// Same email, other letter case: 409.
	want(t, call(t, "POST", "/api/auth/register", "", map[string]string{"email": strings.ToUpper(a.email), "password": "whatever1"}), 409)
	want(t, call(t, "POST", "/api/auth/register", "", map[string]string{"email": "nope", "password": "whatever1"}), 400)
	want(t, call(t, "POST", "/api/auth/register", "", map[string]string{"email": "short@example.test", "password": "short"}), 400)
	want(t, call(t, "POST", "/api/auth/register", "", `{"email":`), 400)
	want(t, call(t, "POST", "/api/auth/register", "", strings.Repeat("x", 100<<10)), 413)
	r := call(t, "GET", "/api/auth/register", "", nil)
	want(t, r, 405)
	if r.header.Get("Allow") != "POST" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
	wrong := call(t, "POST", "/api/auth/login", "", map[string]string{"email": a.email, "password": "wrong password"})
	unknown := call(t, "POST", "/api/auth/login", "", map[string]string{"email": "nobody-" + a.email, "password": "wrong password"})
	want(t, wrong, 401)
	if string(wrong.raw) != string(unknown.raw) || unknown.status != 401 {
		t.Fatalf("unknown email %d %s vs wrong password %s", unknown.status, unknown.raw, wrong.raw)
	}
}

func TestLoginLimitTenPerHour(t *testing.T) {
	a := account{email: fmt.Sprintf("e2e-limit-%d@example.test", time.Now().UnixNano()), password: "limit password"}
	want(t, call(t, "POST", "/api/auth/register", "", map[string]string{"email": a.email, "password": a.password}), 201)
	var mu sync.Mutex
	counts := map[int]int{}
	c, base := gateway(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			r, err := send(c, base, "POST", "/api/auth/login", "", map[string]string{"email": a.email, "password": a.password})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			counts[r.status]++
			mu.Unlock()
			if r.status == 429 && r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		})
	}
	wg.Wait()
	if counts[200] != 10 || counts[429] != 10 {
		t.Fatalf("20 parallel logins: %v, want 10×200 and 10×429", counts)
	}
}

func jwtPart(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestTokensAndSpoofing(t *testing.T) {
	a := newAccount(t, "tokens")
	b := newAccount(t, "victim")
	exp := time.Now().Add(time.Hour).Unix()
	parts := strings.Split(a.token, ".")
	bad := map[string]string{
		"alg none":  jwtPart(map[string]string{"alg": "none", "typ": "JWT"}) + "." + jwtPart(map[string]any{"sub": b.id, "exp": exp}) + ".",
		"tampered":  parts[0] + "." + jwtPart(map[string]any{"sub": b.id, "exp": exp}) + "." + parts[2],
		"malformed": "not-a-token",
		"expired":   parts[0] + "." + jwtPart(map[string]any{"sub": a.id, "exp": time.Now().Add(-time.Hour).Unix()}) + "." + parts[2],
	}
	for name, tok := range bad {
		r := call(t, "GET", "/api/profile/me", tok, nil)
		want(t, r, 401)
		if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("%s: WWW-Authenticate %q", name, r.header.Get("WWW-Authenticate"))
		}
	}
	// A spoofed X-User-ID is ignored: with a token, the token's sub wins;
	// without one, the request is refused.
	r := call(t, "GET", "/api/profile/me", a.token, nil, "X-User-ID", b.id)
	want(t, r, 200)
	var p map[string]string
	r.decode(t, &p)
	if p["uuid"] != a.id {
		t.Fatalf("X-User-ID spoofing worked: got %s's profile", p["username"])
	}
	want(t, call(t, "GET", "/api/profile/me", "", nil, "X-User-ID", b.id), 401)
}

func TestProfilesAndFriends(t *testing.T) {
	a, b, c := newAccount(t, "alice"), newAccount(t, "bob"), newAccount(t, "carol")
	r := call(t, "GET", "/api/profile/me", a.token, nil)
	want(t, r, 200)
	var p map[string]string
	r.decode(t, &p)
	if p["uuid"] != a.id || p["username"] != "alice" || p["bio"] != "bio of alice" {
		t.Fatalf("profile %v", p)
	}
	r = call(t, "GET", "/api/profile/"+b.id, a.token, nil)
	want(t, r, 200)
	r.decode(t, &p)
	if p["username"] != "bob" {
		t.Fatalf("bob's profile %v", p)
	}
	want(t, call(t, "GET", "/api/profile/not-a-uuid", a.token, nil), 400)
	want(t, call(t, "GET", "/api/profile/00000000-0000-4000-8000-000000000000", a.token, nil), 404)

	if r := call(t, "GET", "/api/friends", a.token, nil); string(r.raw) != "[]\n" {
		t.Fatalf("no friends yet: %s", r.raw)
	}
	want(t, call(t, "POST", "/api/friends", a.token, map[string]string{"friend_uuid": b.id}), 200)
	want(t, call(t, "POST", "/api/friends", a.token, map[string]string{"friend_uuid": b.id}), 200)
	want(t, call(t, "POST", "/api/friends", a.token, map[string]string{"friend_uuid": c.id}), 200)
	want(t, call(t, "POST", "/api/friends", a.token, map[string]string{"friend_uuid": a.id}), 400)
	want(t, call(t, "POST", "/api/friends", a.token, map[string]string{"friend_uuid": "00000000-0000-4000-8000-000000000000"}), 404)
	r = call(t, "DELETE", "/api/friends", a.token, map[string]string{"friend_uuid": c.id})
	want(t, r, 200)
	var friends []string
	r.decode(t, &friends)
	if len(friends) != 1 || friends[0] != b.id {
		t.Fatalf("friends %v", friends)
	}
	r = call(t, "PUT", "/api/friends", a.token, nil)
	want(t, r, 405)
	if r.header.Get("Allow") != "GET, POST, DELETE" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
}

type post struct {
	AuthorUUID string `json:"author_uuid"`
	Content    string `json:"content"`
	Timestamp  string `json:"timestamp"`
}

func TestPostsAndFeed(t *testing.T) {
	me, f1, f2, stranger := newAccount(t, "reader"), newAccount(t, "writer1"), newAccount(t, "writer2"), newAccount(t, "stranger")
	want(t, call(t, "POST", "/api/friends", me.token, map[string]string{"friend_uuid": f1.id}), 200)
	want(t, call(t, "POST", "/api/friends", me.token, map[string]string{"friend_uuid": f2.id}), 200)
	var created []post
	for i := range 12 {
		author := []account{f1, f2}[i%2]
		r := call(t, "POST", "/api/posts", author.token, map[string]string{"content": fmt.Sprintf("post %d", i)})
		want(t, r, 201)
		var p post
		r.decode(t, &p)
		if p.AuthorUUID != author.id {
			t.Fatalf("post author %s", p.AuthorUUID)
		}
		created = append(created, p)
	}
	want(t, call(t, "POST", "/api/posts", stranger.token, map[string]string{"content": "not for reader"}), 201)
	want(t, call(t, "POST", "/api/posts", me.token, map[string]string{"content": "my own"}), 201)
	want(t, call(t, "POST", "/api/posts", me.token, map[string]string{"content": ""}), 400)

	var mine []post
	call(t, "GET", "/api/posts", me.token, nil).decode(t, &mine)
	if len(mine) != 1 || mine[0].Content != "my own" {
		t.Fatalf("GET /api/posts: %v", mine)
	}
	var byID []post
	r := call(t, "GET", "/api/posts/"+f1.id+"?limit=3", me.token, nil)
	want(t, r, 200)
	r.decode(t, &byID)
	if len(byID) != 3 || byID[0].Content != "post 10" || byID[2].Content != "post 6" {
		t.Fatalf("GET /api/posts/{f1}?limit=3: %v", byID)
	}
	want(t, call(t, "GET", "/api/posts/me", f2.token, nil), 200)

	r = call(t, "GET", "/api/feed", me.token, nil)
	want(t, r, 200)
	var feed []struct {
		Username, AuthorUUID, Content, Timestamp string
	}
	r.decode(t, &feed)
	if len(feed) != 10 {
		t.Fatalf("feed has %d posts: %s", len(feed), r.raw)
	}
	for i, item := range feed {
		wantPost := created[11-i] // newest first
		if item.Content != wantPost.Content || item.Timestamp != wantPost.Timestamp {
			t.Fatalf("feed[%d] = %+v, want %+v", i, item, wantPost)
		}
		if (item.Username == "writer1") != (i%2 == 1) || (item.Username != "writer1" && item.Username != "writer2") {
			t.Fatalf("feed[%d] username %q", i, item.Username)
		}
	}
	if r := call(t, "GET", "/api/feed", stranger.token, nil); string(r.raw) != "[]\n" {
		t.Fatalf("stranger's feed: %s", r.raw)
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	a := newAccount(t, "routes")
	for _, path := range []string{"/api/unknown", "/api/profile/a/b", "/api/posts/", "/api"} {
		want(t, call(t, "GET", path, "", nil), 404)
		want(t, call(t, "GET", path, a.token, nil), 404)
	}
	r := call(t, "DELETE", "/api/feed", a.token, nil)
	want(t, r, 405)
	if r.header.Get("Allow") != "GET" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
}
