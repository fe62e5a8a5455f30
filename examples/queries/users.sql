-- select-star: the application receives every column, including any added later, and the
-- query breaks or slows down silently when the table changes. `--fix` lists the columns.
SELECT * FROM users WHERE id = $1;

-- function-on-indexed-column: users.email is indexed (UNIQUE), but lower(email) cannot use
-- that index, so this scans every user.
SELECT id, username FROM users WHERE lower(email) = 'ada@example.com';

-- Fine: lower(username) has its own expression index (migrations/001_users.sql).
SELECT id, email FROM users WHERE lower(username) = lower(:'name');

-- unknown-column: users has no column emial (migrations/001_users.sql); PostgreSQL would
-- reject this when it runs. `--fix` writes the one close column name, email.
SELECT u.id, u.emial FROM users u WHERE u.id = $1;
