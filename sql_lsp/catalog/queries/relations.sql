-- Tables, partitioned tables, views, materialized views and foreign tables of the chosen
-- schemas, with the planner's row estimate and the sequential-scan count since the statistics
-- were reset. Objects that belong to an extension are left out.
SELECT c.oid,
       n.nspname AS schema,
       c.relname AS name,
       c.relkind::text AS relkind,
       c.reltuples::bigint AS est_rows,
       pg_stat_get_numscans(c.oid) AS seq_scans
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname = ANY(%(schemas)s::text[])
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
