-- Registered users. email is stored normalised (trimmed, lower-cased) so that
-- the unique constraint catches "A@x.io" vs "a@x.io".
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE CHECK (email = lower(btrim(email))),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per access token issued within the rolling window; rows older than
-- the window are deleted when the user next logs in.
CREATE TABLE issued_tokens (
    user_id   uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at timestamptz NOT NULL
);
CREATE INDEX issued_tokens_user_issued_at ON issued_tokens (user_id, issued_at);

-- Failed password attempts per normalised email, whether or not the user
-- exists, so that throttling does not reveal which emails are registered.
CREATE TABLE login_failures (
    email        text        PRIMARY KEY,
    failures     integer     NOT NULL,
    window_start timestamptz NOT NULL
);
CREATE INDEX login_failures_window_start ON login_failures (window_start);

---- create above / drop below ----

DROP TABLE login_failures;
DROP TABLE issued_tokens;
DROP TABLE users;
