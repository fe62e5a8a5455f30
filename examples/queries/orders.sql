-- function-on-indexed-column: the cast hides orders_created_at_idx; `--fix` rewrites it as a
-- range on the bare column, which the index can serve.
SELECT count(*) FROM orders WHERE created_at::date = '2024-05-01';

-- Fine: a range on the bare column uses the index.
SELECT id, total_cents
FROM orders
WHERE created_at >= %(day)s AND created_at < %(day)s + interval '1 day';

-- syntax-error: GROUP needs BY.
SELECT status, count(*) FROM orders GROUP status;

SELECT o.id, o.status, i.quantity, p.name
FROM orders AS o
JOIN order_items AS i ON i.order_id = o.id
JOIN products AS p ON p.id = i.product_id
WHERE o.user_id = $1
ORDER BY o.created_at DESC;

-- unknown-table: the migrations create products, not prodcts; PostgreSQL would
-- reject this when it runs. `--fix` writes the one close table name, products.
SELECT id FROM prodcts WHERE id = $1;
