-- pgroles: cluster-wide state of the model, as (key, value) rows. `pgroles apply` diffs two
-- snapshots to print what changed. $1 = model role names, $2 = database name.
SELECT 'role ' || rolname AS key,
       concat_ws(' ',
         CASE WHEN rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
         CASE WHEN rolinherit THEN 'INHERIT' ELSE 'NOINHERIT' END,
         CASE WHEN rolcreaterole THEN 'CREATEROLE' END,
         CASE WHEN rolcreatedb THEN 'CREATEDB' END,
         CASE WHEN rolsuper THEN 'SUPERUSER' END,
         CASE WHEN rolreplication THEN 'REPLICATION' END,
         CASE WHEN rolbypassrls THEN 'BYPASSRLS' END,
         'CONNECTION LIMIT ' || rolconnlimit) AS value
FROM pg_catalog.pg_roles WHERE rolname = ANY ($1::text[])
UNION ALL
SELECT 'membership of ' || r.rolname || ' in ' || g.rolname || ' (granted by ' || gr.rolname || ')',
       (to_jsonb(m) - 'oid' - 'roleid' - 'member' - 'grantor')::text
FROM pg_catalog.pg_auth_members m
JOIN pg_catalog.pg_roles r ON r.oid = m.member
JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
JOIN pg_catalog.pg_roles gr ON gr.oid = m.grantor
WHERE r.rolname = ANY ($1::text[]) OR g.rolname = ANY ($1::text[])
UNION ALL
SELECT 'database ' || datname,
       'owner ' || pg_catalog.pg_get_userbyid(datdba) || ' acl ' || coalesce(datacl::text, 'default')
FROM pg_catalog.pg_database WHERE datname = $2::text
UNION ALL
SELECT 'settings of ' || r.rolname || ' in ' || coalesce(d.datname, 'every database'),
       array_to_string(s.setconfig, ', ')
FROM pg_catalog.pg_db_role_setting s
JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
WHERE r.rolname = ANY ($1::text[])
