package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/pgtest"
	"github.com/caddysocial/platform/user-service/internal/store"
)

func TestProfilesByIDs(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	for i, id := range ids {
		profile(t, base, id, fmt.Sprintf("user%d", i))
	}
	r := call(t, "GET", base+"/profiles?ids="+ids[2]+","+strings.ToUpper(ids[0])+","+uuid.NewString()+","+ids[2], me, "")
	wantStatus(t, r, 200, "")
	var got []store.Profile
	r.Decode(t, &got)
	want := []store.Profile{{UUID: ids[0], Username: "user0", Bio: "b"}, {UUID: ids[2], Username: "user2", Bio: "b"}}
	slices.SortFunc(want, func(a, b store.Profile) int { return strings.Compare(a.UUID, b.UUID) })
	if !slices.Equal(got, want) {
		t.Fatalf("%+v, want %+v (ordered by uuid, unknown ids left out)", got, want)
	}
	if r := call(t, "GET", base+"/profiles?ids="+uuid.NewString(), me, ""); r.Status != 200 || r.Raw != "[]\n" {
		t.Fatalf("none found: %d %q, want []", r.Status, r.Raw)
	}
}

func TestProfilesByIDsRefusesBadInput(t *testing.T) {
	base := instance(t, pgtest.NewDatabase(t))
	me, a := uuid.NewString(), uuid.NewString()
	apitest.WantError(t, call(t, "GET", base+"/profiles?ids="+a, "", ""), 401, "Unauthorized")
	apitest.WantError(t, call(t, "GET", base+"/profiles", me, ""), 400, "User ID is required")
	apitest.WantError(t, call(t, "GET", base+"/profiles?ids=nope", me, ""), 400, "Invalid user ID")
	r := call(t, "GET", base+"/profiles?ids="+strings.TrimSuffix(strings.Repeat(a+",", 1001), ","), me, "")
	apitest.WantError(t, r, 400, "Invalid user ID")
	wantStatus(t, r, 400, "more than 1000")
	r = call(t, "POST", base+"/profiles?ids="+a, me, "{}")
	wantStatus(t, r, 405, "method")
	if r.Header.Get("Allow") != "GET" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
}

// The batch lookup is primary-key lookups, never a scan of the table.
func TestProfilesByIDsUsesTheIndex(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	instance(t, dsn) // applies the schema
	pgtest.Exec(t, dsn, `
		INSERT INTO profiles (uuid, username)
		SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'u' || g FROM generate_series(1, 20000) AS g;
		ANALYZE profiles`)
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i*7+1)
	}
	plan := pgtest.Explain(t, dsn, "COSTS OFF", store.ProfilesQuery, ids)
	if !strings.Contains(plan, "Index Scan using profiles_pkey on profiles") || strings.Contains(plan, "Seq Scan") {
		t.Fatalf("plan does not look profiles up by primary key:\n%s", plan)
	}
}
