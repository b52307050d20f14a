package main

import (
	"testing"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/events/natstest"
	"github.com/caddysocial/platform/svckit/eventually"
	"github.com/caddysocial/platform/svckit/pgtest"
)

// A username change is announced as profiles.updated; an unchanged one is not.
func TestUsernameChangeIsPublished(t *testing.T) {
	bus := apitest.NATS(t)
	base := svc.Start(t, pgtest.NewDatabase(t))
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
	bus := apitest.NATS(t)
	base, other := svc.StartTwo(t, pgtest.NewDatabase(t))
	gone, friend, fan := uuid.NewString(), uuid.NewString(), uuid.NewString()
	for i, u := range []string{gone, friend, fan} {
		profile(t, base, u, []string{"gone", "friend", "fan"}[i])
	}
	addFriend := func(user, f string) {
		apitest.WantStatus(t, apitest.Call(t, "POST", base+"/friends", user, `{"friend_uuid":"`+f+`"}`), 200, f)
	}
	addFriend(gone, friend)
	addFriend(friend, gone)
	addFriend(fan, gone)
	addFriend(fan, friend)

	apitest.DeleteAccount(t, bus, gone)
	eventually.True(t, 0, "the profile gone after accounts.deleted", func() bool {
		return apitest.Call(t, "GET", other+"/profile/"+gone, fan, "").Status == 404
	})
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/friends", friend, ""), 200, `[]`)
	r := apitest.Call(t, "GET", base+"/friends", fan, "")
	apitest.WantStatus(t, r, 200, friend)
	var friends []string
	r.Decode(t, &friends)
	if len(friends) != 1 {
		t.Errorf("fan's friends %v, want only %s", friends, friend)
	}
	apitest.WantDuplicate(t, "user-service-accounts-deleted", base, other)
}
