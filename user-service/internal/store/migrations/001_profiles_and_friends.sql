CREATE TABLE profiles (
    uuid       uuid        PRIMARY KEY,
    username   text        NOT NULL,
    bio        text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One-way friendship: user_uuid lists friend_uuid as a friend.
CREATE TABLE friendships (
    user_uuid   uuid        NOT NULL REFERENCES profiles (uuid) ON DELETE CASCADE,
    friend_uuid uuid        NOT NULL REFERENCES profiles (uuid) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_uuid, friend_uuid),
    CHECK (user_uuid <> friend_uuid)
);

---- create above / drop below ----

DROP TABLE friendships;
DROP TABLE profiles;
