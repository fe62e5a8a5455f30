-- outer-join-nullified: users without orders get NULL in o.status, which `= 'paid'` rejects:
-- the LEFT JOIN is an inner join. Move the condition into ON to keep every user.
SELECT u.id, o.id FROM users AS u LEFT JOIN orders AS o ON o.user_id = u.id WHERE o.status = 'paid';

-- correlated-subquery: the count runs once per user; a join with GROUP BY reads orders once.
SELECT u.id, (SELECT count(*) FROM orders AS o WHERE o.user_id = u.id) AS orders FROM users AS u;

-- leading-wildcard-like: a pattern starting with % cannot use the index on email: every user
-- is read. A trigram index (pg_trgm, gin_trgm_ops) serves it.
SELECT id FROM users WHERE email LIKE '%@example.com';

-- index-column-order: tracking_code is only the second key of shipments_carrier_tracking_idx
-- (migrations/009_shipments.sql), so this reads the whole table.
SELECT id FROM shipments WHERE tracking_code = $1;
