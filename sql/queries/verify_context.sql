-- pgroles verify: where we are. The connected database (its owner and exploded ACL), the server
-- version and the OIDs of the three schemas the model manages (that of the application schema is
-- used to fetch the names of drifted objects; nothing is looked up by qualified name), and
-- whether the admin schema has firefighter_sessions() (verify calls it only then: one failed
-- query would abort the read-only transaction every query of a run shares).
-- session_user: whose effective settings the broker logging check may read directly.
-- $1 = application schema name, $2 = admin schema name. PUBLIC appears as a NULL grantee.
SELECT pg_catalog.current_setting('server_version_num')::integer AS version_num,
       pg_catalog.current_setting('server_version') AS version,
       session_user::text AS session_user,
       d.oid AS db_oid,
       d.datname::text AS datname,
       pg_catalog.pg_get_userbyid(d.datdba)::text AS db_owner,
       (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = $1::text) AS schema_oid,
       (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = $2::text) AS admin_schema_oid,
       (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public') AS public_oid,
       EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = $2::text AND p.proname = 'firefighter_sessions' AND p.pronargs = 0)
         AS has_sessions_function,
       a.grantees, a.privs, a.grantable
FROM pg_catalog.pg_database d
LEFT JOIN LATERAL (
  SELECT array_agg(CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee)::text END) AS grantees,
         array_agg(e.privilege_type) AS privs,
         array_agg(e.is_grantable) AS grantable
  FROM pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) e
) a ON true
WHERE d.datname = pg_catalog.current_database()
