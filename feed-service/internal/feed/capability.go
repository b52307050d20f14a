package feed

import (
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/caddysocial/platform/feed-service/internal/upstream"
)

// DefaultReprobe is how long a batch endpoint that answered 404 or 405 is
// not tried again.
const DefaultReprobe = 30 * time.Second

// Capability remembers whether an upstream serves an optional batch
// endpoint (post-service's GET /posts?authors=, user-service's GET
// /profiles?ids=), which the original course services lack.
//
// The choice (SPEC.md leaves it open): remembered capability with re-probe.
// A batch call answered 404 or 405 falls back to the per-id calls at once,
// in the same request, so no feed fails or is incomplete because of it; and
// for ReprobeAfter the next feeds go straight to the per-id calls; then one
// tries the batch again. Not per-request fallback alone: behind
// the original services every feed would pay a wasted round trip, and in a
// mixed pool behind round-robin about every other feed. Not "decided once":
// a rolling update that replaces the originals (or rolls back to them)
// changes the answer, and the feed follows within ReprobeAfter.
// The zero value is ready: batch endpoints are tried until one is missing.
type Capability struct {
	ReprobeAfter time.Duration    // 0 means DefaultReprobe
	Now          func() time.Time // nil means time.Now

	offUntil atomic.Int64 // UnixNano before which the batch is not tried
}

func (c *Capability) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Try reports whether to call the batch endpoint now.
func (c *Capability) Try() bool { return c.now().UnixNano() >= c.offUntil.Load() }

// Missing records that a backend answered the batch endpoint with 404 or
// 405: the per-id calls are used until ReprobeAfter has passed.
func (c *Capability) Missing() {
	d := c.ReprobeAfter
	if d <= 0 {
		d = DefaultReprobe
	}
	c.offUntil.Store(c.now().Add(d).UnixNano())
}

// batchMissing reports whether err says the backend has no such endpoint:
// 404 or 405, or a redirect (a server whose routes end in "/" may redirect
// "/posts" to "/posts/"), which the upstream client does not follow.
func batchMissing(err error) bool {
	var se *upstream.StatusError
	if !errors.As(err, &se) {
		return false
	}
	return se.Status == http.StatusNotFound || se.Status == http.StatusMethodNotAllowed ||
		(se.Status >= 300 && se.Status < 400)
}
