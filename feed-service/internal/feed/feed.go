// Package feed builds a user's feed: the newest posts of the user's friends
// with their authors' usernames, from user-lb and post-lb.
//
// Partial failures (a decision SPEC.md leaves open):
//   - the friends call fails (after retries): the feed fails, 502, or 503
//     while user-lb's circuit breaker is open;
//   - some friends' posts cannot be fetched (with the batch endpoint: all
//     friends of a failed batch call): the feed is built from the
//     others and says so in the X-Feed-Incomplete header (a feed is better a
//     little stale than missing); if every friend's posts failed, it fails;
//   - a username cannot be fetched: the post keeps its place with an empty
//     username, and X-Feed-Incomplete says so.
package feed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/caddysocial/platform/feed-service/internal/upstream"
)

// Size is the number of posts in a feed.
const Size = 10

// Item is one entry of the feed.
type Item struct {
	Username   string `json:"username"`
	AuthorUUID string `json:"author_uuid"`
	Content    string `json:"content"`
	Timestamp  string `json:"timestamp"`
}

// Feed is a built feed and what could not be fetched.
type Feed struct {
	Items          []Item
	MissingPosts   int // friends whose posts failed
	MissingAuthors int // authors whose username failed
}

// ErrFriends wraps a failure to get the caller's friends.
var ErrFriends = errors.New("friends unavailable")

// ErrAllPosts is returned when every friend's posts failed.
var ErrAllPosts = errors.New("posts unavailable")

// Builder builds feeds. Users, Posts and Names are required; the zero
// PostsBatch tries post-service's batch endpoint first.
type Builder struct {
	Users      *upstream.Client
	Posts      *upstream.Client
	Names      Usernames // e.g. &ProfileLookup{Users: users, Fanout: fanout}
	Fanout     int       // concurrent calls per feed
	PostsBatch Capability
}

var errNoProfile = errors.New("no profile")

// Build returns the caller's feed.
func (b *Builder) Build(ctx context.Context, caller string) (Feed, error) {
	var friends []string // a JSON null (the original services) leaves it nil
	if err := b.Users.GetJSON(ctx, "/friends", "/friends", caller, &friends, nil); err != nil {
		return Feed{}, fmt.Errorf("%w: %w", ErrFriends, err)
	}
	friends = distinctFriends(friends, caller)
	if len(friends) == 0 {
		return Feed{Items: []Item{}}, nil
	}
	lists, missing := b.posts(ctx, caller, friends)
	feed := Feed{MissingPosts: missing}
	if feed.MissingPosts == len(friends) {
		return Feed{}, ErrAllPosts
	}
	top := mergeNewest(lists, Size)

	// The distinct authors of the feed, in one lookup.
	var authors []string
	for _, p := range top {
		if !slices.Contains(authors, p.AuthorUUID) {
			authors = append(authors, p.AuthorUUID)
		}
	}
	names := b.Names.Usernames(ctx, caller, authors)
	for _, a := range authors {
		if _, ok := names[a]; !ok {
			feed.MissingAuthors++
		}
	}
	feed.Items = make([]Item, len(top))
	for i, p := range top {
		feed.Items[i] = Item{
			Username:   names[p.AuthorUUID],
			AuthorUUID: p.AuthorUUID,
			Content:    p.Content,
			Timestamp:  p.Timestamp,
		}
	}
	return feed, nil
}

// posts returns lists of the friends' newest posts, each list newest
// first, and how many friends' posts could not be fetched. It asks for the
// Size newest across up to MaxBatchIDs friends per call when post-lb's
// backend serves GET /posts?authors= (one call for 200 friends instead of
// 200), else, or for a batch answered 404/405, one call per friend.
func (b *Builder) posts(ctx context.Context, caller string, friends []string) ([][]Post, int) {
	if !b.PostsBatch.Try() {
		return b.postsEach(ctx, caller, friends)
	}
	batches := slices.Collect(slices.Chunk(friends, MaxBatchIDs))
	lists := make([][]Post, len(batches))
	missing := make([]int, len(batches))
	fallback := make([]bool, len(batches))
	each(len(batches), b.Fanout, func(i int) {
		var posts []Post
		path := "/posts?authors=" + strings.Join(batches[i], ",") + "&limit=" + strconv.Itoa(Size)
		err := b.Posts.GetJSON(ctx, path, "/posts", caller, &posts, nil)
		switch {
		case batchMissing(err):
			fallback[i] = true
		case err != nil:
			missing[i] = len(batches[i])
		default:
			lists[i] = batchList(posts, batches[i])
		}
	})
	var rest []string
	total := 0
	for i := range batches {
		total += missing[i]
		if fallback[i] {
			rest = append(rest, batches[i]...)
		}
	}
	if len(rest) > 0 {
		b.PostsBatch.Missing()
		more, m := b.postsEach(ctx, caller, rest)
		lists = append(lists, more...)
		total += m
	}
	return lists, total
}

// batchList keeps the posts of one batch answer whose author was asked for,
// newest first (ties by author, then as listed: the order mergeNewest uses).
func batchList(posts []Post, asked []string) []Post {
	kept := posts[:0]
	for _, p := range posts {
		if id, err := uuid.Parse(p.AuthorUUID); err == nil && slices.Contains(asked, id.String()) {
			p.AuthorUUID = id.String()
			p.Time, _ = time.Parse(time.RFC3339Nano, p.Timestamp)
			kept = append(kept, p)
		}
	}
	slices.SortStableFunc(kept, func(a, b Post) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.AuthorUUID, b.AuthorUUID)
	})
	return kept[:min(Size, len(kept))]
}

// postsEach asks post-lb for each friend's newest posts, Fanout at a time.
func (b *Builder) postsEach(ctx context.Context, caller string, friends []string) ([][]Post, int) {
	lists := make([][]Post, len(friends))
	failed := make([]bool, len(friends))
	each(len(friends), b.Fanout, func(i int) {
		var posts []Post
		path := "/posts/" + friends[i] + "?limit=" + strconv.Itoa(Size)
		if err := b.Posts.GetJSON(ctx, path, "/posts/{userId}", caller, &posts, nil); err != nil {
			failed[i] = true
			return
		}
		for j := range posts {
			// The friend asked for is the author, whatever the body says (the
			// original post-service lists usernames, not author ids).
			posts[j].AuthorUUID = friends[i]
			posts[j].Time, _ = time.Parse(time.RFC3339Nano, posts[j].Timestamp)
		}
		lists[i] = sortNewestFirst(posts, Size)
	})
	return lists, countTrue(failed)
}

// each runs fn(0..n-1) with at most fanout at once and returns when all
// have returned. fn reports failures itself, so the group's error is unused;
// the calls end with ctx (the request deadline).
func each(n, fanout int, fn func(i int)) {
	var g errgroup.Group
	g.SetLimit(max(1, fanout))
	for i := range n {
		g.Go(func() error {
			fn(i)
			return nil
		})
	}
	_ = g.Wait()
}

// distinctFriends canonicalises the UUIDs, drops duplicates, malformed
// entries and the caller (a feed never shows the caller's own posts).
func distinctFriends(friends []string, caller string) []string {
	out := make([]string, 0, len(friends))
	seen := make(map[string]bool, len(friends))
	for _, f := range friends {
		id, err := uuid.Parse(f)
		if err != nil || id.String() == caller || seen[id.String()] {
			continue
		}
		seen[id.String()] = true
		out = append(out, id.String())
	}
	return out
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
