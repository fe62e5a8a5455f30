-- The shop's customers.
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    username text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Case-insensitive look-ups by username use this expression index.
CREATE INDEX users_lower_username_idx ON users (lower(username));

-- redundant-index: `email ... UNIQUE` above already made PostgreSQL build an index on
-- users (email); this second one only slows down every write.
CREATE INDEX users_email_idx ON users (email);
