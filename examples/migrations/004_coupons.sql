-- Coupons, added once the shop already had orders.
CREATE TABLE coupons (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code text NOT NULL UNIQUE
);
-- Fine: coupons is created just above, so indexing it blocks nobody.
CREATE INDEX coupons_lower_code_idx ON coupons (lower(code));

ALTER TABLE orders ADD COLUMN coupon_id bigint;
CREATE INDEX CONCURRENTLY orders_coupon_id_idx ON orders (coupon_id);

-- foreign-key-not-valid: orders already holds rows; this checks them all while blocking writes
-- to orders and coupons. Add it NOT VALID, then VALIDATE CONSTRAINT in its own statement.
ALTER TABLE orders ADD CONSTRAINT orders_coupon_fk FOREIGN KEY (coupon_id) REFERENCES coupons (id);

-- non-concurrent-index: orders already exists, and a plain CREATE INDEX blocks its writes for
-- the whole build; `--unsafe-fixes` adds CONCURRENTLY.
CREATE INDEX orders_status_idx ON orders (status);
