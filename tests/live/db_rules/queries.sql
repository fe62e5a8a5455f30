-- Queries checked against the database.
SELECT id, created_at FROM events WHERE kind = 'click';

SELECT e.id
FROM events AS e
WHERE e.kind = $1 AND e.payload > $2;

SELECT id FROM events WHERE account_id = 42;
SELECT count(*) FROM events;
SELECT name FROM tags WHERE name = 'red';
SELECT id FROM events WHERE payload = 'x';
SELECT id FROM not_there WHERE a = 1;
SELECT * FROM tags;
