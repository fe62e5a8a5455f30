-- What the catalog loader needs to know about the session: the schemas on search_path (in
-- order, existing ones only), the server version and the installed HypoPG version.
SELECT current_schemas(false)::text[] AS search_path,
       current_setting('server_version_num')::int AS server_version,
       (SELECT extversion FROM pg_extension WHERE extname = 'hypopg') AS hypopg
