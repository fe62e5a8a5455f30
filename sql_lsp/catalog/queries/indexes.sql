-- Indexes of the tables of the chosen schemas. Key columns come as attribute numbers (0 for
-- an expression); expressions are rendered only for indexes that have some. Operator classes
-- and collations come as oids, named through lookups.sql (a join per index is much slower on
-- large catalogs). The size is the planner's page count (no lock is taken, unlike
-- pg_relation_size).
SELECT ix.indrelid AS table_oid,
       i.relname AS name,
       am.amname AS method,
       ix.indisunique AS is_unique,
       ix.indisprimary AS is_primary,
       ix.indisvalid AND ix.indisready AS is_valid,
       ix.indnkeyatts AS n_key,
       ix.indkey::int2[] AS attnums,
       ix.indoption::int2[] AS options,
       CASE WHEN ix.indexprs IS NOT NULL THEN
           ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true)
                 FROM generate_series(1, ix.indnatts) AS k ORDER BY k)
       END AS keys,
       pg_get_expr(ix.indpred, ix.indrelid, true) AS predicate,
       ix.indclass::oid[] AS opclass_oids,
       ix.indcollation::oid[] AS collation_oids,
       con.contype::text AS constraint_type,
       pg_stat_get_numscans(ix.indexrelid) AS scans,
       i.relpages::bigint * current_setting('block_size')::bigint AS size_bytes
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
LEFT JOIN pg_constraint con
       ON con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid AND con.contype IN ('p', 'u')
WHERE n.nspname = ANY(%(schemas)s::text[])
ORDER BY ix.indrelid, i.relname
