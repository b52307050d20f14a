CREATE TABLE posts (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_uuid uuid        NOT NULL,
    content     text        NOT NULL CHECK (content <> ''),
    -- clock_timestamp, not now(): posts created in one transaction still get
    -- distinct times. PostgreSQL keeps microseconds, the API shows all six.
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Newest first for one author; id breaks ties between equal timestamps.
CREATE INDEX posts_author_newest ON posts (author_uuid, created_at DESC, id DESC);

---- create above / drop below ----

DROP TABLE posts;
