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

// Each new post is published as posts.created with the API's shape.
func TestPostCreatedIsPublished(t *testing.T) {
	bus := apitest.NATS(t)
	base := svc.Start(t, pgtest.NewDatabase(t))
	me := uuid.NewString()
	p := create(t, base, me, "hello")

	e := natstest.Next(t, natstest.Reader(t, bus, events.PostCreated))
	var d events.PostCreatedData
	if err := e.DataAs(&d); err != nil || d.AuthorUUID != me || d.Content != "hello" || d.Timestamp != p.Timestamp {
		t.Fatalf("posts.created %+v (%v), want the created post %+v", d, err, p)
	}
}

// accounts.deleted removes every post of the account and no other, once, on
// one of two instances; a duplicate changes nothing.
func TestAccountDeletionRemovesPosts(t *testing.T) {
	bus := apitest.NATS(t)
	base, other := svc.StartTwo(t, pgtest.NewDatabase(t))
	gone, stays := uuid.NewString(), uuid.NewString()
	create(t, base, gone, "one")
	create(t, other, gone, "two")
	create(t, base, stays, "three")

	apitest.DeleteAccount(t, bus, gone)
	eventually.True(t, 0, "the posts gone after accounts.deleted", func() bool {
		return len(list(t, base+"/posts/"+gone, stays)) == 0
	})
	if got := list(t, other+"/posts/me", stays); len(got) != 1 || got[0].Content != "three" {
		t.Errorf("another author's posts: %+v", got)
	}
	apitest.WantDuplicate(t, "post-service-accounts-deleted", base, other)
}
