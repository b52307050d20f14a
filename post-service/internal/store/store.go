// Package store is post-service's data layer on PostgreSQL (post-db).
package store

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/pgstore"
)

// Post is one post. Timestamp is kept at the database's microsecond
// precision so that create and read show the same value.
type Post struct {
	AuthorUUID string    `json:"author_uuid"`
	Content    string    `json:"content"`
	Timestamp  Timestamp `json:"timestamp"`
}

// Timestamp marshals as RFC 3339 in UTC with exactly six fractional digits
// and "Z" (e.g. 2026-11-21T03:08:41.099474Z).
type Timestamp time.Time

const timestampLayout = "2006-01-02T15:04:05.000000Z07:00"

func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.String() + `"`), nil
}

// String is the timestamp as the API shows it.
func (t Timestamp) String() string { return time.Time(t).UTC().Format(timestampLayout) }

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the data layer; pgstore.Store bounds every statement by a timeout
// and applies the schema on first use, so the service starts before its
// database.
type Store struct {
	*pgstore.Store
	relay *events.Relay // nil without the event bus
}

// New returns a Store over pool.
func New(pool *pgxpool.Pool, timeout time.Duration) *Store {
	st := pgstore.New(pool, timeout, pgstore.Sub(migrations, "migrations"), "public.post_service_schema_version")
	return &Store{Store: st.Also(events.Migrations, events.VersionTable)}
}

// UseRelay is told the outbox relay, to kick it after a commit.
func (s *Store) UseRelay(r *events.Relay) { s.relay = r }

// Create stores a post and returns it as stored; posts.created (the live
// feed's source) is written in the same transaction.
func (s *Store) Create(ctx context.Context, author, content string) (Post, error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return Post{}, err
	}
	defer cancel()
	var post Post
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var created time.Time
		err := tx.QueryRow(ctx,
			`INSERT INTO posts (author_uuid, content) VALUES ($1, $2) RETURNING created_at`, author, content,
		).Scan(&created)
		if err != nil {
			return fmt.Errorf("insert post: %w", err)
		}
		post = Post{AuthorUUID: author, Content: content, Timestamp: Timestamp(created)}
		e, err := events.New(events.PostCreated, 1, events.PostCreatedData{
			AuthorUUID: author, Content: content, Timestamp: post.Timestamp.String(),
		})
		if err != nil {
			return err
		}
		return events.Write(ctx, tx, author, e)
	})
	if err != nil {
		return Post{}, err
	}
	s.relay.Kick()
	return post, nil
}

// AccountDeletion consumes accounts.deleted: it removes the account's posts.
func (s *Store) AccountDeletion() events.Consumer {
	return events.Consumer{
		Name:    "post-service-accounts-deleted",
		Subject: events.AccountDeleted,
		Handle: func(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
			user, err := events.DeletedUser(e)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM posts WHERE author_uuid = $1`, user); err != nil {
				return fmt.Errorf("delete posts: %w", err)
			}
			return nil
		},
	}
}

// ByAuthor returns up to limit posts of author, newest first; among equal
// timestamps the later-created post comes first.
func (s *Store) ByAuthor(ctx context.Context, author string, limit int) ([]Post, error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	rows, err := s.Pool.Query(ctx, `
		SELECT author_uuid::text, content, created_at FROM posts
		WHERE author_uuid = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, author, limit)
	if err != nil {
		return nil, fmt.Errorf("select posts: %w", err)
	}
	return collectPosts(rows)
}

// NewestQuery is NewestByAuthors' statement: for each author the limit
// newest through the posts_author_newest index (a bounded index scan per
// author, whatever the number of their posts), then the limit newest of
// those. Ties on the timestamp go by author, then newest-created first,
// the order feed-service merges per-author lists in, so a feed built from
// the batch and one built from per-author lists are the same.
const NewestQuery = `
	SELECT p.author_uuid::text, p.content, p.created_at
	FROM unnest($1::uuid[]) AS a(id)
	CROSS JOIN LATERAL (
		SELECT author_uuid, content, created_at, id FROM posts
		WHERE author_uuid = a.id ORDER BY created_at DESC, id DESC LIMIT $2
	) AS p
	ORDER BY p.created_at DESC, p.author_uuid, p.id DESC LIMIT $2`

// NewestByAuthors returns the limit newest posts across authors, in one
// query (see NewestQuery).
func (s *Store) NewestByAuthors(ctx context.Context, authors []string, limit int) ([]Post, error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	rows, err := s.Pool.Query(ctx, NewestQuery, authors, limit)
	if err != nil {
		return nil, fmt.Errorf("select newest posts: %w", err)
	}
	return collectPosts(rows)
}

func collectPosts(rows pgx.Rows) ([]Post, error) {
	posts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Post, error) {
		var p Post
		var ts time.Time
		err := row.Scan(&p.AuthorUUID, &p.Content, &ts)
		p.Timestamp = Timestamp(ts)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("select posts: %w", err)
	}
	if posts == nil {
		posts = []Post{}
	}
	return posts, nil
}
