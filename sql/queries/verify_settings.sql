-- pgroles verify: every stored setting of the model's roles, in every database and role-wide
-- (database NULL: `ALTER ROLE ... SET`, setdatabase = 0), plus the settings of every role in
-- the connected database (role NULL: `ALTER DATABASE ... SET`), which the broker's effective
-- logging settings fall back to. Any role may change its own defaults: verify is the guard.
-- $1 = the model's role names.
SELECT r.rolname::text AS role, d.datname::text AS database, s.setconfig
FROM pg_catalog.pg_db_role_setting s
LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
WHERE r.rolname = ANY ($1::text[])
   OR (s.setrole = 0 AND d.datname = pg_catalog.current_database())
ORDER BY 1, 2
