-- Deleted accounts whose access tokens every gateway must refuse. Gateways
-- poll this table by revoked_at (auth-db is the source of truth, so revocation does
-- not depend on the event bus). Rows older than the longest token lifetime
-- are pruned: those tokens have expired anyway.
CREATE TABLE revoked_users (
    user_id    uuid        PRIMARY KEY,
    revoked_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX revoked_users_revoked_at ON revoked_users (revoked_at);

---- create above / drop below ----

DROP TABLE revoked_users;
