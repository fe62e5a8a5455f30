-- The database the live tests run against: a small shop with enough rows that PostgreSQL
-- chooses sequential scans where there is no index.

CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    username    varchar(40) NOT NULL,
    country     char(2),
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

CREATE TABLE products (
    id     bigserial PRIMARY KEY,
    sku    text NOT NULL,
    title  text NOT NULL,
    price  numeric(12, 2) NOT NULL,
    CONSTRAINT products_sku_key UNIQUE (sku)
);

CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL,
    status      text NOT NULL DEFAULT 'new',
    total       numeric(12, 2) NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE order_items (
    order_id    bigint NOT NULL,
    line        int NOT NULL,
    product_id  bigint NOT NULL,
    quantity    int NOT NULL,
    PRIMARY KEY (order_id, line)
);

-- a composite foreign key whose column order differs from the table's
CREATE TABLE shipments (
    id        bigserial PRIMARY KEY,
    line      int NOT NULL,
    order_id  bigint NOT NULL,
    CONSTRAINT shipments_item_fk FOREIGN KEY (order_id, line) REFERENCES order_items (order_id, line)
);

CREATE VIEW big_orders AS SELECT id, user_id, total FROM orders WHERE total > 900;
CREATE MATERIALIZED VIEW order_counts AS
    SELECT user_id, count(*) AS n FROM orders GROUP BY user_id;

CREATE SCHEMA audit;
CREATE TABLE audit.events (id bigserial PRIMARY KEY, payload jsonb);

INSERT INTO users (email, username, country, created_at)
SELECT 'user' || g || '@example.com', 'user' || g, (ARRAY['US', 'FR', 'DE', 'JP'])[1 + g % 4],
       timestamptz '2024-01-01' + g * interval '1 minute'
FROM generate_series(1, 20000) AS g;

INSERT INTO products (sku, title, price)
SELECT 'SKU-' || g, 'Product ' || g, (g % 500) + 0.99 FROM generate_series(1, 2000) AS g;

INSERT INTO orders (user_id, status, total, created_at)
SELECT 1 + (g * 7919) % 20000, (ARRAY['new', 'paid', 'done', 'done'])[1 + g % 4],
       (g % 1000) + 0.5, timestamptz '2024-01-01' + g * interval '30 seconds'
FROM generate_series(1, 60000) AS g;

INSERT INTO order_items (order_id, line, product_id, quantity)
SELECT o, l, 1 + (o * 31 + l) % 2000, 1 + (o + l) % 20
FROM generate_series(1, 60000) AS o, generate_series(1, 2) AS l;

-- constraints and indexes after the data: validating them once is much faster than per row
ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE order_items
    ADD FOREIGN KEY (product_id) REFERENCES products (id),
    ADD CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE;

CREATE INDEX users_lower_email_idx ON users (lower(email));
CREATE INDEX users_lower_username_idx ON users (lower(username));
CREATE INDEX users_created_at_idx ON users (created_at DESC);
CREATE INDEX orders_open_user_created_idx ON orders (user_id, created_at DESC)
    WHERE status <> 'done';
CREATE INDEX orders_created_at_idx ON orders USING brin (created_at);
CREATE UNIQUE INDEX products_title_key ON products (title) INCLUDE (price);
CREATE INDEX products_sku_pattern_idx ON products (sku text_pattern_ops);
CREATE INDEX users_username_c_idx ON users (username COLLATE "C");
CREATE INDEX order_items_product_qty_idx ON order_items (product_id) WHERE quantity > 10;

REFRESH MATERIALIZED VIEW order_counts;
ANALYZE;
