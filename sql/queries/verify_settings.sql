-- pgroles verify: per-database settings of the model's roles (section 10 guardrails).
-- $1 = the model's role names; the connected database.
SELECT r.rolname::text AS role, s.setconfig
FROM pg_catalog.pg_db_role_setting s
JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
WHERE s.setdatabase = (SELECT d.oid FROM pg_catalog.pg_database d
                       WHERE d.datname = pg_catalog.current_database())
  AND r.rolname = ANY ($1::text[])
