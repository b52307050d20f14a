package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/post-service/internal/store"
	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/pgtest"
)

func TestNewestAcrossAuthors(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := svc.Start(t, dsn)
	me, a, b, c := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	for i := range 3 {
		create(t, base, a, fmt.Sprintf("a%d", i))
		create(t, base, b, fmt.Sprintf("b%d", i))
		create(t, base, c, fmt.Sprintf("c%d", i))
	}
	got := list(t, base+"/posts?authors="+a+","+strings.ToUpper(b)+","+a+"&limit=4", me)
	want := []string{"b2", "a2", "b1", "a1"}
	if len(got) != len(want) {
		t.Fatalf("%+v, want %v", got, want)
	}
	for i, p := range got {
		if p.Content != want[i] || !timestampRE.MatchString(p.Timestamp) || (p.AuthorUUID != a && p.AuthorUUID != b) {
			t.Fatalf("position %d: %+v, want %s (all %+v)", i, p, want[i], got)
		}
	}
	// The same posts, shape and timestamps as the per-author endpoint.
	if one := list(t, base+"/posts/"+b+"?limit=1", me); one[0] != got[0] {
		t.Fatalf("batch %+v, per author %+v", got[0], one[0])
	}
	if got := list(t, base+"/posts?authors="+a+","+b+","+c, me); len(got) != 9 {
		t.Fatalf("default limit: %d posts, want all 9", len(got))
	}
	if r := apitest.Call(t, "GET", base+"/posts?authors="+uuid.NewString(), me, ""); r.Status != 200 || r.Raw != "[]\n" {
		t.Fatalf("no posts: %d %q, want []", r.Status, r.Raw)
	}
}

// Equal timestamps across authors go by author id, then newest-created
// first: the order feed-service merges per-author lists in.
func TestNewestAcrossAuthorsTies(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := svc.Start(t, dsn)
	lo, hi := "00000000-0000-4000-8000-000000000001", "ffffffff-0000-4000-8000-000000000001"
	pgtest.Exec(t, dsn, `INSERT INTO posts (author_uuid, content, created_at) VALUES
		('`+hi+`', 'hi1', '2030-01-01Z'), ('`+lo+`', 'lo1', '2030-01-01Z'),
		('`+hi+`', 'hi2', '2030-01-01Z'), ('`+lo+`', 'lo2', '2030-01-01Z')`)
	got := list(t, base+"/posts?authors="+hi+","+lo+"&limit=3", uuid.NewString())
	if len(got) != 3 || got[0].Content != "lo2" || got[1].Content != "lo1" || got[2].Content != "hi2" {
		t.Fatalf("%+v, want lo2 lo1 hi2", got)
	}
}

func TestNewestAcrossAuthorsRefusesBadInput(t *testing.T) {
	base := svc.Start(t, pgtest.NewDatabase(t))
	apitest.WantIDListRefusals(t, base, "/posts?", "authors")
	apitest.WantIDListRefusals(t, base, "/posts?limit=5&", "authors")
	me, a := uuid.NewString(), uuid.NewString()
	for _, bad := range []string{"0", "x", "101"} {
		apitest.WantStatus(t, apitest.Call(t, "GET", base+"/posts?authors="+a+"&limit="+bad, me, ""), 400, "limit must be an integer from 1 to 100")
	}
}

// The batch query reads each author's newest posts through the
// (author_uuid, created_at DESC, id DESC) index, a bounded scan per author,
// never the whole table nor all of an author's posts.
func TestNewestAcrossAuthorsUsesTheIndex(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	svc.Start(t, dsn) // applies the schema
	// 500 authors with 40 posts each, statistics up to date.
	pgtest.Exec(t, dsn, `
		INSERT INTO posts (author_uuid, content, created_at)
		SELECT ('00000000-0000-4000-8000-' || lpad(a::text, 12, '0'))::uuid, 'p', now() - p * interval '1 minute'
		FROM generate_series(1, 500) AS a, generate_series(1, 40) AS p;
		ANALYZE posts`)
	authors := make([]string, 200)
	for i := range authors {
		authors[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i*2+1)
	}
	plan := pgtest.Explain(t, dsn, "ANALYZE, COSTS OFF", store.NewestQuery, authors, 10)
	if !strings.Contains(plan, "Index Scan using posts_author_newest on posts") || strings.Contains(plan, "Seq Scan on posts") ||
		strings.Contains(plan, "Bitmap") {
		t.Fatalf("plan does not read posts through posts_author_newest:\n%s", plan)
	}
	// At most limit rows per author leave the index: 200 authors x 10, not
	// their 8 000 posts.
	if !strings.Contains(plan, "rows=10 loops=200") {
		t.Fatalf("the index scan is not bounded by the limit per author:\n%s", plan)
	}
}
