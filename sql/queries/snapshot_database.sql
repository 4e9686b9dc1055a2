-- pgroles: state of the model inside the application database, as (key, value) rows.
-- $1 = application schema, $2 = admin schema.
SELECT 'schema ' || nspname AS key,
       'owner ' || pg_catalog.pg_get_userbyid(nspowner) || ' acl ' || coalesce(nspacl::text, 'default') AS value
FROM pg_catalog.pg_namespace WHERE nspname IN ($1::text, $2::text, 'public')
UNION ALL
SELECT 'default privileges of ' || pg_catalog.pg_get_userbyid(d.defaclrole) || ' in '
         || coalesce(n.nspname, 'every schema') || ' for ' || d.defaclobjtype::text,
       d.defaclacl::text
FROM pg_catalog.pg_default_acl d
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text,
       concat_ws(' ', 'owner ' || pg_catalog.pg_get_userbyid(p.proowner),
                 CASE WHEN p.prosecdef THEN 'SECURITY DEFINER' END,
                 'config ' || coalesce(p.proconfig::text, 'none'),
                 'acl ' || coalesce(p.proacl::text, 'default'),
                 'body ' || md5(p.prosrc))
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname IN ($1::text, $2::text)
UNION ALL
SELECT 'relations in ' || n.nspname || ' owned by ' || pg_catalog.pg_get_userbyid(c.relowner)
         || ' with acl ' || coalesce(c.relacl::text, 'default'),
       count(*)::text
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ($1::text, $2::text) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
GROUP BY n.nspname, c.relowner, c.relacl
