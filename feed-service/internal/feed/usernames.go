package feed

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/caddysocial/platform/feed-service/internal/upstream"
)

// Usernames looks up the usernames of a feed's authors. The map it returns
// holds every id whose lookup succeeded: its username, or "" when the user
// has no profile; ids whose lookup failed are absent (the feed then says
// it is incomplete). A cache can wrap it: it is the only way the feed gets
// usernames.
type Usernames interface {
	Usernames(ctx context.Context, caller string, ids []string) map[string]string
}

// ProfileLookup gets usernames from user-lb: GET /profiles?ids= when the
// backend serves it (one call for the whole feed), else GET /profile/{id}
// per id, Fanout at a time (the original user-service; see Capability).
type ProfileLookup struct {
	Users  *upstream.Client
	Fanout int
	Batch  Capability
}

// MaxBatchIDs is the most ids put in one batch call (user-service accepts
// 1000; a feed has at most Size authors, friends are split into chunks of
// this many): it keeps the URL under 8 KB, the request-line limit of many
// servers and proxies.
const MaxBatchIDs = 200

type profile struct {
	UUID     string `json:"uuid"`
	Username string `json:"username"`
}

// Usernames implements Usernames.
func (l *ProfileLookup) Usernames(ctx context.Context, caller string, ids []string) map[string]string {
	names := make(map[string]string, len(ids))
	var mu sync.Mutex
	rest := ids
	if l.Batch.Try() {
		rest = nil
		for chunk := range slices.Chunk(ids, MaxBatchIDs) {
			var found []profile // a JSON null leaves it empty
			err := l.Users.GetJSON(ctx, "/profiles?ids="+strings.Join(chunk, ","), "/profiles", caller, &found, nil)
			switch {
			case batchMissing(err):
				l.Batch.Missing()
				rest = append(rest, chunk...)
			case err == nil:
				for _, id := range chunk {
					names[id] = "" // no profile unless listed
				}
				for _, p := range found {
					if _, asked := names[p.UUID]; asked {
						names[p.UUID] = p.Username
					}
				}
			} // another failure: the chunk's ids stay absent
		}
	}
	each(len(rest), l.Fanout, func(i int) {
		var p profile
		err := l.Users.GetJSON(ctx, "/profile/"+rest[i], "/profile/{userId}", caller, &p, errNoProfile)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(err, errNoProfile):
			names[rest[i]] = ""
		case err == nil:
			names[rest[i]] = p.Username
		}
	})
	return names
}
