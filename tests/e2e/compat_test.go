package e2e

import (
	"strings"
	"testing"
)

// wantError checks an error answer whose message starts with prefix.
func wantError(t *testing.T, r reply, status int, prefix string) {
	t.Helper()
	want(t, r, status)
	var e map[string]string
	r.decode(t, &e)
	if !strings.HasPrefix(e["error"], prefix) {
		t.Fatalf("error %q does not start with %q", e["error"], prefix)
	}
}

// wantErrorNaming checks a 400 whose message names field.
func wantErrorNaming(t *testing.T, r reply, field string) {
	t.Helper()
	want(t, r, 400)
	var e map[string]string
	r.decode(t, &e)
	if !strings.Contains(e["error"], field) {
		t.Fatalf("error %q does not name %q", e["error"], field)
	}
}

// Text PostgreSQL cannot store (NUL) in any text field, as a client would
// send it: a 400 naming the field, never "database unavailable".
func TestHostileTextIs400NamingTheField(t *testing.T) {
	a := newAccount(t, "hostile")
	wantErrorNaming(t, call(t, "POST", "/api/profile/me", a.token, `{"username":"a\u0000b","bio":"x"}`), "username")
	wantErrorNaming(t, call(t, "POST", "/api/profile/me", a.token, `{"username":"ok","bio":"\u0000"}`), "bio")
	wantErrorNaming(t, call(t, "POST", "/api/posts", a.token, `{"content":"a\u0000b"}`), "content")
	wantErrorNaming(t, call(t, "POST", "/api/posts/me", a.token, `{"content":"\u0000"}`), "content")
	wantErrorNaming(t, call(t, "POST", "/api/auth/register", "", `{"email":"nul\u0000@example.test","password":"password one"}`), "email")
	want(t, call(t, "POST", "/api/auth/login", "", `{"email":"nul\u0000@example.test","password":"password one"}`), 401)
	// Nothing was stored: the profile is unchanged, no post exists.
	r := call(t, "GET", "/api/profile/me", a.token, nil)
	want(t, r, 200)
	var p map[string]string
	r.decode(t, &p)
	if p["username"] != "hostile" || p["bio"] != "bio of hostile" {
		t.Fatalf("profile after refused updates: %v", p)
	}
	if r := call(t, "GET", "/api/posts", a.token, nil); string(r.raw) != "[]\n" {
		t.Fatalf("posts after refused creates: %s", r.raw)
	}
}

// Clients written against the original course services and statement run
// unchanged: POST /api/posts/me creates a post, and error texts start with
// the original wording.
func TestCompatibilityWithOriginalClients(t *testing.T) {
	a, b := newAccount(t, "compat-a"), newAccount(t, "compat-b")
	r := call(t, "POST", "/api/posts/me", a.token, map[string]string{"content": "posted the original way"})
	want(t, r, 201)
	var created post
	r.decode(t, &created)
	if created.AuthorUUID != a.id || created.Content != "posted the original way" {
		t.Fatalf("created %+v", created)
	}
	r = call(t, "GET", "/api/posts/"+a.id, b.token, nil)
	want(t, r, 200)
	var posts []post
	r.decode(t, &posts)
	if len(posts) != 1 || posts[0] != created {
		t.Fatalf("posts of a: %+v, want [%+v]", posts, created)
	}

	unknown := "00000000-0000-4000-8000-000000000000"
	wantError(t, call(t, "GET", "/api/profile/"+unknown, a.token, nil), 404, "User not found")
	wantError(t, call(t, "POST", "/api/friends", a.token, map[string]string{"friend_uuid": unknown}), 404, "Friend not found")
	wantError(t, call(t, "POST", "/api/friends", a.token, map[string]string{"friend_uuid": "not-a-uuid"}), 400, "Invalid friend ID")
	wantError(t, call(t, "POST", "/api/friends", a.token, `{"friend_uuid":`), 400, "Invalid JSON")
	wantError(t, call(t, "POST", "/api/posts", a.token, map[string]string{"content": ""}), 400, "Invalid content")
	wantError(t, call(t, "POST", "/api/posts/me", a.token, `[]`), 400, "Invalid JSON")
	wantError(t, call(t, "POST", "/api/auth/register", "", `{"email":`), 400, "Invalid JSON")
}
