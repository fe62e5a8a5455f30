-- The schema of the database the database-rule tests create (rows and statistics: see
-- tests/live/test_db_rules.py).
CREATE TABLE events (
    id          bigint PRIMARY KEY,
    ref         text NOT NULL,
    kind        text NOT NULL,
    account_id  bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    payload     text
);

CREATE TABLE tags (id int PRIMARY KEY, name text NOT NULL);

CREATE INDEX events_account_idx ON events (account_id);
CREATE INDEX events_created_idx ON events (created_at);
CREATE UNIQUE INDEX events_ref_idx ON events (ref);
CREATE INDEX tags_name_idx ON tags (name);
