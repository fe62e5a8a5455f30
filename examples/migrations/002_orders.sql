CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- missing-fk-index: no index starts with orders (user_id), so "the orders of a user" and
    -- every DELETE FROM users scan the whole orders table.
    user_id bigint NOT NULL REFERENCES users (id),
    status order_status NOT NULL DEFAULT 'new',
    total_cents integer NOT NULL CHECK (total_cents >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_created_at_idx ON orders (created_at);
