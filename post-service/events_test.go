package main

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/events/natstest"
	"github.com/caddysocial/platform/svckit/pgtest"
)

// Each new post is published as posts.created with the API's shape.
func TestPostCreatedIsPublished(t *testing.T) {
	ns := natstest.Start(t)
	t.Setenv("NATS_URL", ns.URL())
	base := instance(t, pgtest.NewDatabase(t))
	bus := ns.Bus(t)
	me := uuid.NewString()
	p := create(t, base, me, "hello")

	e := natstest.Next(t, natstest.Reader(t, bus, events.PostCreated))
	var d events.PostCreatedData
	if err := e.DataAs(&d); err != nil || d.AuthorUUID != me || d.Content != "hello" || d.Timestamp != p.Timestamp {
		t.Fatalf("posts.created %+v (%v), want the created post %+v", d, err, p)
	}
}

// accounts.deleted removes every post of the account and no other.
func TestAccountDeletionRemovesPosts(t *testing.T) {
	ns := natstest.Start(t)
	t.Setenv("NATS_URL", ns.URL())
	dsn := pgtest.NewDatabase(t)
	base, other := instance(t, dsn), instance(t, dsn)
	bus := ns.Bus(t)
	gone, stays := uuid.NewString(), uuid.NewString()
	create(t, base, gone, "one")
	create(t, other, gone, "two")
	create(t, base, stays, "three")

	e, err := events.New(events.AccountDeleted, 1, events.AccountDeletedData{UserUUID: gone})
	if err != nil {
		t.Fatal(err)
	}
	natstest.Publish(t, bus, e, e.ID)
	deadline := time.Now().Add(15 * time.Second)
	for len(list(t, base+"/posts/"+gone, stays)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("posts still there after accounts.deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := list(t, other+"/posts/me", stays); len(got) != 1 || got[0].Content != "three" {
		t.Errorf("another author's posts: %+v", got)
	}
}
