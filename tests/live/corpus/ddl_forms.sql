-- Every DDL form that changes tables, columns, indexes or foreign keys, as PostgreSQL runs it.
-- Loaded with psql -f and compared with the offline catalog (tests/live/test_corpus.py).
CREATE SCHEMA app;
CREATE SCHEMA "Audit";
SET search_path = app, public;

CREATE TABLE users (id bigserial PRIMARY KEY, email varchar(200) NOT NULL UNIQUE, name text);
CREATE TABLE "Audit"."Log" ("Id" int GENERATED ALWAYS AS IDENTITY, at timestamptz DEFAULT now(),
    user_id bigint REFERENCES users, payload jsonb, CONSTRAINT log_pk PRIMARY KEY ("Id"));
CREATE TABLE orders (
    id int8 NOT NULL, user_id int8, total numeric(12, 2), tags text[], status char(1),
    placed timestamp(3) without time zone, flags bit varying(8), score float8, ok bool,
    CONSTRAINT orders_pkey PRIMARY KEY (id),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE NOT DEFERRABLE
);
ALTER TABLE orders RENAME total TO amount;
ALTER TABLE orders RENAME COLUMN status TO state;
ALTER TABLE ONLY orders ALTER COLUMN amount TYPE numeric(14, 2);
ALTER TABLE orders ADD COLUMN note text, ADD COLUMN IF NOT EXISTS note text, DROP COLUMN flags;
ALTER TABLE orders ALTER COLUMN note SET NOT NULL;
CREATE INDEX ON orders (user_id);
CREATE INDEX ON orders (user_id, placed);
CREATE INDEX orders_lower_note ON orders (lower(note)) WHERE state = 'a';
CREATE UNIQUE INDEX orders_state_key2 ON orders USING btree (state DESC NULLS LAST) INCLUDE (note);
CREATE INDEX ON orders ((amount * 2));
CREATE INDEX ON orders USING gin (tags);
CREATE INDEX drop_me_1 ON orders (score);
CREATE INDEX drop_me_2 ON orders (ok);
DROP INDEX drop_me_1, app.drop_me_2;
ALTER INDEX orders_lower_note RENAME TO orders_note_lower_idx;
ALTER TABLE orders RENAME CONSTRAINT orders_state_key2 TO nothing_renamed;

-- inheritance and LIKE
CREATE TABLE base (id int PRIMARY KEY, created date NOT NULL);
CREATE TABLE child (extra text, created date) INHERITS (base);
CREATE TABLE copy1 (LIKE users INCLUDING ALL, more int);
CREATE TABLE copy2 (LIKE users);
ALTER TABLE base ADD COLUMN updated date;

-- partitions, ON ONLY and ATTACH
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, user_id bigint REFERENCES users (id),
    kind text) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX events_at_idx ON events (at);
CREATE INDEX events_kind_idx ON ONLY events (kind);
CREATE TABLE events_2025 (id bigint NOT NULL, at date NOT NULL, user_id bigint, kind text);
CREATE INDEX events_2025_kind ON events_2025 (kind);
ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
ALTER INDEX events_kind_idx ATTACH PARTITION events_2025_kind;
ALTER TABLE events ADD PRIMARY KEY (id, at);

-- constraints added later, USING INDEX, renames and moves
CREATE TABLE tags (id int NOT NULL, name text NOT NULL, owner bigint);
CREATE UNIQUE INDEX tags_id_idx ON tags (id);
ALTER TABLE tags ADD CONSTRAINT tags_pkey PRIMARY KEY USING INDEX tags_id_idx;
ALTER TABLE tags ADD CONSTRAINT tags_owner_fk FOREIGN KEY (owner) REFERENCES users;
ALTER TABLE tags ADD UNIQUE (name);
ALTER TABLE tags RENAME TO labels;
ALTER TABLE labels SET SCHEMA public;
ALTER TABLE public.labels DROP CONSTRAINT tags_owner_fk;
CREATE TABLE gone (id int PRIMARY KEY);
CREATE TABLE keeps (gone_id int REFERENCES gone);
DROP TABLE gone;  -- fails: keeps depends on it
CREATE TABLE gone2 (id int PRIMARY KEY);
CREATE TABLE keeps2 (gone_id int REFERENCES gone2);
DROP TABLE gone2 CASCADE;
DROP TABLE IF EXISTS never_was, keeps2;

-- views, CREATE TABLE AS, temporary tables, an empty search_path
CREATE VIEW active_users AS SELECT id, email FROM users WHERE name IS NOT NULL;
CREATE VIEW renamed_cols (a, b) AS SELECT id, email FROM users;
CREATE MATERIALIZED VIEW order_totals AS SELECT user_id, sum(amount) AS total FROM orders GROUP BY user_id;
CREATE UNIQUE INDEX ON order_totals (user_id);
CREATE TABLE snapshot AS SELECT id, email FROM users;
CREATE TEMP TABLE scratch (a int PRIMARY KEY);
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE app.after_empty (id integer NOT NULL, user_id bigint);
ALTER TABLE ONLY app.after_empty ADD CONSTRAINT after_empty_pkey PRIMARY KEY (id);
ALTER TABLE ONLY app.after_empty
    ADD CONSTRAINT after_empty_user_fk FOREIGN KEY (user_id) REFERENCES app.users(id);
CREATE TABLE app.dup (id int);
CREATE INDEX dup_id_idx ON app.dup (id);
CREATE INDEX ON app.dup (id);
CREATE INDEX ON app.dup (id);
