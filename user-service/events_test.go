package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/events/natstest"
	"github.com/caddysocial/platform/svckit/pgtest"
)

// A username change is announced as profiles.updated; an unchanged one is not.
func TestUsernameChangeIsPublished(t *testing.T) {
	ns := natstest.Start(t)
	t.Setenv("NATS_URL", ns.URL())
	base := instance(t, pgtest.NewDatabase(t))
	bus := ns.Bus(t)
	me := uuid.NewString()
	profile(t, base, me, "first")
	profile(t, base, me, "first") // same name, new bio: no event
	profile(t, base, me, "second")

	r := natstest.Reader(t, bus, events.ProfileUpdated)
	for _, want := range []string{"first", "second"} {
		e := natstest.Next(t, r)
		var d events.ProfileUpdatedData
		if err := e.DataAs(&d); err != nil || d.UUID != me || d.Username != want || e.Version != 1 {
			t.Fatalf("event %+v data %+v (%v), want username %q", e, d, err, want)
		}
	}
}

// accounts.deleted removes the profile and the friendships in both
// directions, once, on one of two instances; a duplicate changes nothing.
func TestAccountDeletionRemovesProfileAndFriendships(t *testing.T) {
	ns := natstest.Start(t)
	t.Setenv("NATS_URL", ns.URL())
	dsn := pgtest.NewDatabase(t)
	base, other := instance(t, dsn), instance(t, dsn)
	bus := ns.Bus(t)
	gone, friend, fan := uuid.NewString(), uuid.NewString(), uuid.NewString()
	for i, u := range []string{gone, friend, fan} {
		profile(t, base, u, []string{"gone", "friend", "fan"}[i])
	}
	addFriend := func(user, f string) {
		wantStatus(t, call(t, "POST", base+"/friends", user, `{"friend_uuid":"`+f+`"}`), 200, f)
	}
	addFriend(gone, friend)
	addFriend(friend, gone)
	addFriend(fan, gone)
	addFriend(fan, friend)

	e, err := events.New(events.AccountDeleted, 1, events.AccountDeletedData{UserUUID: gone})
	if err != nil {
		t.Fatal(err)
	}
	natstest.Publish(t, bus, e, e.ID)
	natstest.Publish(t, bus, e, uuid.NewString()) // delivered twice

	deadline := time.Now().Add(15 * time.Second)
	for call(t, "GET", other+"/profile/"+gone, fan, "").Status != 404 {
		if time.Now().After(deadline) {
			t.Fatal("profile still there after accounts.deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantStatus(t, call(t, "GET", base+"/friends", friend, ""), 200, `[]`)
	r := call(t, "GET", base+"/friends", fan, "")
	wantStatus(t, r, 200, friend)
	var friends []string
	r.Decode(t, &friends)
	if len(friends) != 1 {
		t.Errorf("fan's friends %v, want only %s", friends, friend)
	}
	// The duplicate was recognised by its processed row, not applied again.
	metrics := func() string {
		return call(t, "GET", base+"/metrics", "", "").Raw + call(t, "GET", other+"/metrics", "", "").Raw
	}
	for !strings.Contains(metrics(), `events_consumer_duplicates_total{consumer="user-service-accounts-deleted"} 1`) {
		if time.Now().After(deadline) {
			t.Fatal("the duplicate delivery was not counted as a duplicate")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
