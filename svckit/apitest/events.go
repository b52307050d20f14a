package apitest

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/events/natstest"
	"github.com/caddysocial/platform/svckit/eventually"
)

// NATS starts an embedded NATS server with the platform's streams for the
// test, points the instances started after it at it (NATS_URL), and returns
// a bus to publish and read events on.
func NATS(t *testing.T) *events.Bus {
	t.Helper()
	ns := natstest.Start(t)
	t.Setenv("NATS_URL", ns.URL())
	return ns.Bus(t)
}

// DeleteAccount publishes accounts.deleted for user, as the gateway's relay
// does, and then the same event again under another message id: a
// redelivery, which the consumers must recognise (WantDuplicate).
func DeleteAccount(t testing.TB, bus *events.Bus, user string) {
	t.Helper()
	e, err := events.New(events.AccountDeleted, 1, events.AccountDeletedData{UserUUID: user})
	if err != nil {
		t.Fatal(err)
	}
	natstest.Publish(t, bus, e, e.ID)
	natstest.Publish(t, bus, e, uuid.NewString())
}

// WantDuplicate waits until one of the instances at bases has counted the
// consumer's redelivery (DeleteAccount) as a duplicate, not applied it again.
func WantDuplicate(t testing.TB, consumer string, bases ...string) {
	t.Helper()
	want := `events_consumer_duplicates_total{consumer="` + consumer + `"} 1`
	eventually.True(t, 0, "the redelivery counted as a duplicate by "+consumer, func() bool {
		for _, base := range bases {
			if r, err := Send("GET", base+"/metrics", "", ""); err == nil && strings.Contains(r.Raw, want) {
				return true
			}
		}
		return false
	})
}
