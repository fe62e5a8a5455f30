-- Names for the oids in indexes.sql: operator classes that are not their type's default, and
-- collations (quoted as they would be written in DDL).
SELECT 'opclass' AS kind, oid, opcname::text AS name FROM pg_opclass WHERE NOT opcdefault
UNION ALL
SELECT 'collation', oid, quote_ident(collname) FROM pg_collation
