package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddysocial/platform/feed-service/internal/upstream"
	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/httpx"
)

// Stream serves GET /feed/stream: the live feed as Server-Sent Events
// (SPEC.md section 7). Each new post of a friend of the caller is an
// `event: post` with the feed item shape; its `id:` is the post's sequence
// in the JetStream stream EVENTS, so a client reconnecting with
// Last-Event-ID gets exactly the posts after it (missed ones, none twice).
//
// Each connection reads posts.created through its own ordered JetStream
// consumer (ephemeral, flow-controlled by the server) and filters by the
// caller's friends. The friends list is read at connect; a post by someone
// not in it re-reads the list if the post is newer than the last read, so a
// friend added while the stream is open counts from then on.
type Stream struct {
	Bus       *events.Bus // nil: no live feed (501, clients poll /feed)
	Users     *upstream.Client
	Names     Usernames
	Heartbeat time.Duration // comment line at least this often (<= 15 s)
	Log       *slog.Logger
	Metrics   *StreamMetrics

	mu   sync.Mutex
	open map[string]map[*context.CancelFunc]struct{} // caller -> its streams
}

// StreamMetrics are the live feed's collectors.
type StreamMetrics struct {
	Open prometheus.Gauge
	Sent prometheus.Counter
}

// NewStreamMetrics registers the live feed's collectors into reg.
func NewStreamMetrics(reg prometheus.Registerer) *StreamMetrics {
	m := &StreamMetrics{
		Open: prometheus.NewGauge(prometheus.GaugeOpts{Name: "feed_sse_connections_open", Help: "Live feed (SSE) connections open."}),
		Sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "feed_sse_events_sent_total", Help: "Posts sent on live feeds."}),
	}
	reg.MustRegister(m.Open, m.Sent)
	return m
}

// Tuning of a stream.
const (
	// minFriendsRefresh spaces re-reads of the friends list per stream.
	minFriendsRefresh = 100 * time.Millisecond
	// sseWriteTimeout bounds each write to a client that stopped reading.
	sseWriteTimeout = 20 * time.Second
)

// Routes registers /feed/stream on mux.
func (s *Stream) Routes(mux *http.ServeMux) {
	httpx.Handle(mux, "/feed/stream", httpx.Methods{http.MethodGet: httpx.RequireUserID(http.HandlerFunc(s.serve)).ServeHTTP})
}

// CloseUser ends every open stream of user (the account was deleted).
func (s *Stream) CloseUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for cancel := range s.open[user] {
		(*cancel)()
	}
}

func (s *Stream) register(user string, cancel *context.CancelFunc) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		s.open = map[string]map[*context.CancelFunc]struct{}{}
	}
	if s.open[user] == nil {
		s.open[user] = map[*context.CancelFunc]struct{}{}
	}
	s.open[user][cancel] = struct{}{}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.open[user], cancel)
		if len(s.open[user]) == 0 {
			delete(s.open, user)
		}
	}
}

// lastEventID is the stream sequence the client has seen (0: none).
func lastEventID(r *http.Request) uint64 {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0 // unknown id: start from now
	}
	return n
}

func (s *Stream) serve(w http.ResponseWriter, r *http.Request) {
	if s.Bus == nil {
		httpx.Error(w, http.StatusNotImplemented, "live feed unavailable: poll /feed")
		return
	}
	caller := httpx.UserID(r)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer s.register(caller, &cancel)()

	fr := &friendSet{users: s.Users, caller: caller}
	if err := fr.refresh(ctx); err != nil {
		s.Log.Warn("live feed: friends", "error", err.Error())
		httpx.Error(w, http.StatusBadGateway, "could not fetch your friends")
		return
	}
	cons, err := s.consumer(ctx, lastEventID(r))
	if err != nil {
		s.Log.Warn("live feed: event bus", "error", err.Error())
		w.Header().Set("Retry-After", "2")
		httpx.Error(w, http.StatusServiceUnavailable, "live feed temporarily unavailable")
		return
	}
	msgs, err := cons.Messages()
	if err != nil {
		httpx.Error(w, http.StatusServiceUnavailable, "live feed temporarily unavailable")
		return
	}
	defer msgs.Stop()

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sseWriter{w: w, rc: rc}
	if err := out.send(": connected\n\n"); err != nil {
		return
	}
	s.Metrics.Open.Inc()
	defer s.Metrics.Open.Dec()

	// Next blocks; a goroutine owned by this request feeds a channel and
	// ends when msgs.Stop (deferred above) makes Next fail.
	posts := make(chan jetstream.Msg)
	go func() {
		defer close(posts)
		for {
			m, err := msgs.Next()
			if err != nil {
				return
			}
			select {
			case posts <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	beat := time.NewTicker(s.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if out.send(": heartbeat\n\n") != nil {
				return
			}
		case m, ok := <-posts:
			if !ok {
				return // the consumer ended (NATS gone for good): the client reconnects
			}
			if err := s.deliver(ctx, out, fr, m); err != nil {
				return
			}
		}
	}
}

// consumer reads posts.created after seq (or from now when seq is 0).
func (s *Stream) consumer(ctx context.Context, seq uint64) (jetstream.Consumer, error) {
	if err := s.Bus.EnsureStreams(ctx); err != nil {
		return nil, err
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.PostCreated},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	}
	if seq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = seq + 1
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return s.Bus.JS.OrderedConsumer(cctx, events.EventsStream, cfg)
}

// deliver sends m if its author is a friend; an error means the client is
// gone.
func (s *Stream) deliver(ctx context.Context, out *sseWriter, fr *friendSet, m jetstream.Msg) error {
	meta, err := m.Metadata()
	if err != nil {
		return nil
	}
	e, err := events.Decode(m.Data())
	var d events.PostCreatedData
	if err == nil {
		err = e.DataAs(&d)
	}
	if err != nil {
		s.Log.Warn("live feed: malformed posts.created", "error", err.Error())
		return nil
	}
	if !fr.has(ctx, d.AuthorUUID, e.OccurredAt) {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	name, err := username(lctx, s.Names, fr.caller, d.AuthorUUID)
	cancel()
	if errors.Is(err, errNoProfile) {
		return nil // the author's account is gone
	}
	// Another failure: the post goes out without a username, as in /feed.
	item, _ := json.Marshal(Item{Username: name, AuthorUUID: d.AuthorUUID, Content: d.Content, Timestamp: d.Timestamp})
	if err := out.send(fmt.Sprintf("id: %d\nevent: post\ndata: %s\n\n", meta.Sequence.Stream, item)); err != nil {
		return err
	}
	s.Metrics.Sent.Inc()
	return nil
}

// sseWriter writes whole events and flushes them, each within a deadline
// (the server's WriteTimeout would end any stream after 30 s).
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (o *sseWriter) send(s string) error {
	_ = o.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := o.w.Write([]byte(s)); err != nil {
		return err
	}
	return o.rc.Flush()
}

// friendSet is the caller's friends as last read from user-lb.
type friendSet struct {
	users  *upstream.Client
	caller string
	ids    map[string]bool
	readAt time.Time // when the last read started
}

func (f *friendSet) refresh(ctx context.Context) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var friends []string
	if err := f.users.GetJSON(ctx, "/friends", "/friends", f.caller, &friends, nil); err != nil {
		return err
	}
	f.ids = map[string]bool{}
	for _, id := range distinctFriends(friends, f.caller) {
		f.ids[id] = true
	}
	f.readAt = start
	return nil
}

// has reports whether author is a friend, as of a read of the list that
// started after the post was made (at): a friend added before the post
// counts.
func (f *friendSet) has(ctx context.Context, author string, at time.Time) bool {
	if f.ids[author] || !f.readAt.Before(at) {
		return f.ids[author]
	}
	if wait := minFriendsRefresh - time.Since(f.readAt); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
	if err := f.refresh(ctx); err != nil {
		return false // keep the old list; the stream goes on
	}
	return f.ids[author]
}
