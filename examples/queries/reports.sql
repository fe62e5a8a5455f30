-- null-comparison: `= NULL` is never true, so this returns no row at all; the unsafe fix
-- rewrites it as IS NULL.
SELECT id FROM orders WHERE coupon_id = NULL;

-- not-in-subquery: NOT IN (SELECT …) is not an anti-join (and a NULL would make it match
-- nothing); both columns are NOT NULL, so `--fix` safely rewrites it as NOT EXISTS.
SELECT id, email FROM users WHERE id NOT IN (SELECT user_id FROM orders);

-- count-for-existence: counts every order of a user only to compare with zero; `--fix` uses
-- EXISTS.
SELECT u.id FROM users AS u WHERE (SELECT count(*) FROM orders AS o WHERE o.user_id = u.id) > 0;

-- order-by-random: every product is read and sorted to pick three.
SELECT id, name FROM products ORDER BY random() LIMIT 3;

-- large-offset: reads and discards 10,000 orders before the page; continue after the last id
-- seen instead (keyset pagination).
SELECT id, total_cents FROM orders ORDER BY id LIMIT 20 OFFSET 10000;

-- Fine: keyset pagination.
SELECT id, total_cents FROM orders WHERE id > $1 ORDER BY id LIMIT 20;

-- limit-without-order-by: which ten orders come back is up to the plan.
SELECT id, total_cents FROM orders WHERE status = 'paid' LIMIT 10;

-- implicit-cross-join: no condition relates products to orders: every order times every product.
SELECT o.id, p.name FROM orders AS o, products AS p WHERE o.status = 'new';
