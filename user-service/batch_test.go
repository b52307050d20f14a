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
	base := svc.Start(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	for i, id := range ids {
		profile(t, base, id, fmt.Sprintf("user%d", i))
	}
	r := apitest.Call(t, "GET", base+"/profiles?ids="+ids[2]+","+strings.ToUpper(ids[0])+","+uuid.NewString()+","+ids[2], me, "")
	apitest.WantStatus(t, r, 200, "")
	var got []store.Profile
	r.Decode(t, &got)
	want := []store.Profile{{UUID: ids[0], Username: "user0", Bio: "b"}, {UUID: ids[2], Username: "user2", Bio: "b"}}
	slices.SortFunc(want, func(a, b store.Profile) int { return strings.Compare(a.UUID, b.UUID) })
	if !slices.Equal(got, want) {
		t.Fatalf("%+v, want %+v (ordered by uuid, unknown ids left out)", got, want)
	}
	if r := apitest.Call(t, "GET", base+"/profiles?ids="+uuid.NewString(), me, ""); r.Status != 200 || r.Raw != "[]\n" {
		t.Fatalf("none found: %d %q, want []", r.Status, r.Raw)
	}
}

func TestProfilesByIDsRefusesBadInput(t *testing.T) {
	apitest.WantIDListRefusals(t, svc.Start(t, pgtest.NewDatabase(t)), "/profiles?", "ids")
}

// The batch lookup is primary-key lookups, never a scan of the table.
func TestProfilesByIDsUsesTheIndex(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	svc.Start(t, dsn) // applies the schema
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
