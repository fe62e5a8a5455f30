-- Server-side code: every rule also checks the queries inside function bodies.
CREATE FUNCTION cancel_stale_orders() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    u record;
BEGIN
    FOR u IN SELECT id FROM users WHERE created_at < now() - interval '1 year' LOOP
        -- query-in-loop: one UPDATE per user; a single UPDATE … FROM users does it in one pass.
        UPDATE orders SET status = 'cancelled' WHERE user_id = u.id AND status = 'new';
    END LOOP;
END $$;

CREATE FUNCTION count_rows(table_name text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    -- dynamic-sql-injection: the table name is pasted into the SQL; format('%I') quotes it.
    EXECUTE 'SELECT count(*) FROM ' || table_name INTO n;
    RETURN n;
END $$;

CREATE FUNCTION recent_orders() RETURNS SETOF orders LANGUAGE sql AS $$
    -- select-star: inside a body too, the function's result changes with the table.
    SELECT * FROM orders WHERE created_at > now() - interval '1 day' ORDER BY id;
$$;

-- repeated-query: the same look-up three times, one round trip each; `id IN (…)` is one.
SELECT email FROM users WHERE id = 1;
-- repeated-query: (the same group)
SELECT email FROM users WHERE id = 2;
-- repeated-query: (the same group)
SELECT email FROM users WHERE id = 3;
