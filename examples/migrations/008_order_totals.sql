-- column-type-rewrite: integer to bigint rewrites all of orders under an ACCESS EXCLUSIVE lock;
-- add a bigint column, backfill it in batches, then swap.
ALTER TABLE orders ALTER COLUMN total_cents TYPE bigint;
