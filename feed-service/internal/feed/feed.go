// Package feed builds a user's feed: the newest posts of the user's friends
// with their authors' usernames, from user-lb and post-lb.
//
// Partial failures (a decision SPEC.md leaves open):
//   - the friends call fails (after retries): the feed fails, 502, or 503
//     while user-lb's circuit breaker is open;
//   - some friends' posts cannot be fetched: the feed is built from the
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

// Builder builds feeds.
type Builder struct {
	Users  *upstream.Client
	Posts  *upstream.Client
	Fanout int // concurrent calls per feed
	// Names caches usernames (usernamecache.go); nil asks user-lb every time.
	Names *UsernameCache
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

	lists := make([][]Post, len(friends))
	failed := make([]bool, len(friends))
	b.each(len(friends), func(i int) {
		var posts []Post
		path := "/posts/" + friends[i] + "?limit=" + fmt.Sprint(Size)
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
	feed := Feed{MissingPosts: countTrue(failed)}
	if feed.MissingPosts == len(friends) {
		return Feed{}, ErrAllPosts
	}
	top := mergeNewest(lists, Size)

	// One profile call per distinct author of the feed.
	var authors []string
	for _, p := range top {
		if !slices.Contains(authors, p.AuthorUUID) {
			authors = append(authors, p.AuthorUUID)
		}
	}
	names := make([]string, len(authors))
	nameFailed := make([]bool, len(authors))
	b.each(len(authors), func(i int) {
		name, err := b.username(ctx, caller, authors[i])
		switch {
		case errors.Is(err, errNoProfile):
		case err != nil:
			nameFailed[i] = true
		default:
			names[i] = name
		}
	})
	feed.MissingAuthors = countTrue(nameFailed)
	feed.Items = make([]Item, len(top))
	for i, p := range top {
		feed.Items[i] = Item{
			Username:   names[slices.Index(authors, p.AuthorUUID)],
			AuthorUUID: p.AuthorUUID,
			Content:    p.Content,
			Timestamp:  p.Timestamp,
		}
	}
	return feed, nil
}

// each runs fn(0..n-1) with at most Fanout at once and returns when all
// have returned. fn reports failures itself, so the group's error is unused;
// the calls end with ctx (the request deadline).
func (b *Builder) each(n int, fn func(i int)) {
	var g errgroup.Group
	g.SetLimit(max(1, b.Fanout))
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
