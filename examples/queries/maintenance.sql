-- update-without-where: every product's price changes.
UPDATE products SET price_cents = price_cents * 2;

-- delete-without-where: every order item goes (TRUNCATE says so, when that is meant).
DELETE FROM order_items;

-- Fine: a condition.
DELETE FROM order_items WHERE quantity = 0;

-- insert-without-columns: the values depend on the column order of products; `--fix` lists
-- the columns.
INSERT INTO products VALUES (DEFAULT, 'PEN-03', 'Pen', 150, now());
