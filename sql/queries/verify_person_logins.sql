-- pgroles verify: the per-person firefighter logins (issue 15) as the admin schema records them
-- (live ones and the last 1000 ended), with each existing login's attributes and stored settings
-- (`database|key=value`, '' for role-wide). Run only when the connected login may execute
-- {admin_schema}.person_logins(boolean) (the broker). {admin_schema} is the quoted schema name.
SELECT p.login::text AS login, p.role::text AS role, p.ended_at IS NOT NULL AS ended,
       p.end_outcome, p.role_exists,
       coalesce(r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication
                OR r.rolbypassrls OR NOT r.rolinherit, false) AS privileged,
       coalesce(r.rolcanlogin, false) AS can_login,
       CASE WHEN pg_catalog.isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END AS valid_until,
       ARRAY(SELECT coalesce(d.datname, '') || '|' || c
             FROM pg_catalog.pg_db_role_setting s
             LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase,
             LATERAL pg_catalog.unnest(s.setconfig) c
             WHERE s.setrole = r.oid ORDER BY 1) AS settings
FROM {admin_schema}.person_logins(true) p
LEFT JOIN pg_catalog.pg_roles r ON r.rolname = p.login AND p.role_exists
ORDER BY 1
