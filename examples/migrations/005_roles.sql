-- The reporting role.

-- plaintext-password: the password stays in this file, its history and the server's logs; set
-- a SCRAM-SHA-256 hash instead (psql's \password computes one).
CREATE ROLE reporting LOGIN PASSWORD 'report-2024';

-- grant-all: reporting reads; it needs neither TRUNCATE nor TRIGGER nor REFERENCES.
GRANT ALL ON TABLE orders TO reporting;

-- Fine: only what the role uses.
GRANT SELECT ON TABLE users, products TO reporting;

-- grant-to-public: PUBLIC is every role of the server, present and future.
GRANT SELECT ON TABLE products TO PUBLIC;

-- security-definer-search-path: runs with its owner's privileges but resolves names through
-- the caller's search_path.
CREATE FUNCTION order_count(uid bigint) RETURNS bigint SECURITY DEFINER
LANGUAGE sql STABLE
AS $$ SELECT count(*) FROM orders WHERE user_id = uid $$;

-- Fine: the search_path is fixed.
CREATE FUNCTION user_count() RETURNS bigint SECURITY DEFINER
SET search_path = public, pg_temp
LANGUAGE sql STABLE
AS $$ SELECT count(*) FROM users $$;
