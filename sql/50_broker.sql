-- pgroles 50_broker.sql: the password broker's audit table, its allowlist and the functions that
-- end firefighter access (design section 9; fixes G8, G9). Run connected to the application
-- database as the bootstrap DBA; everything here is created as, and owned by, admin. The functions
-- that set a password, and EXECUTE for the broker, are in 55_broker_passwords.sql.
--
-- Every function is SECURITY DEFINER with a pinned search_path (pg_catalog first, the admin
-- schema, pg_temp last) and, against a hostile caller (issue 11, sql/README.md), pinned
-- DateStyle, TimeZone, IntervalStyle and password_encryption; it takes its allowlist from
-- db_admin.firefighter_roles, a table only admin can write. Guard messages are the design's.
-- Variables: admin broker ff_ro ff_rw admin_schema.

SET ROLE :"admin";

CREATE TABLE IF NOT EXISTS :"admin_schema".firefighter_audit (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event          text        NOT NULL CHECK (event IN ('issue', 'expire', 'terminate', 'extend')),
  role           name        NOT NULL,
  incident       text,
  requester      text,
  approvers      text[],
  expires_at     timestamptz,
  sessions_ended integer,
  actor          name        NOT NULL DEFAULT session_user,
  at             timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- The grant's own end as the bot planned it (at most the VALID UNTIL cap): lets the bot
-- restore the right expiry if its Redis state is lost. Added to tables of earlier versions.
ALTER TABLE :"admin_schema".firefighter_audit ADD COLUMN IF NOT EXISTS ends_at timestamptz;
REVOKE ALL ON TABLE :"admin_schema".firefighter_audit FROM PUBLIC;

-- The only roles the broker's functions may touch.
CREATE TABLE IF NOT EXISTS :"admin_schema".firefighter_roles (role name PRIMARY KEY);
REVOKE ALL ON TABLE :"admin_schema".firefighter_roles FROM PUBLIC;
INSERT INTO :"admin_schema".firefighter_roles (role) VALUES (:'ff_ro'), (:'ff_rw') ON CONFLICT DO NOTHING;
DELETE FROM :"admin_schema".firefighter_roles WHERE role NOT IN (:'ff_ro', :'ff_rw');

-- G9: the broker could not expire a password. PASSWORD NULL and VALID UNTIL in the past; then
-- the role's settings go back to the model's (I11-5). The audit fields are stored cut to 200
-- characters (R1: the caller's text; refusing would leave the password live).
CREATE OR REPLACE FUNCTION :"admin_schema".expire_firefighter_password(
  p_role name, p_incident text, p_actor text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
SET lock_timeout = '2s'
AS $fn$
BEGIN
  IF p_role IS NULL OR NOT EXISTS (SELECT 1 FROM firefighter_roles f WHERE f.role = p_role) THEN
    RAISE EXCEPTION 'role % is not allowed for firefighter password rotation', p_role;
  END IF;
  -- R1: a holder's open transaction that changed its own role (ALTER ROLE CURRENT_USER
  -- PASSWORD/SET) locks the rows written here, for as long as it likes. Waiting at most
  -- lock_timeout, then the role's sessions that hold a transaction id are ended (waiting for
  -- them to exit) and the expiry is tried once more.
  FOR v_try IN 1 .. 2 LOOP
    BEGIN
      EXECUTE format('ALTER ROLE %I PASSWORD NULL VALID UNTIL %L', p_role, '1970-01-01 00:00:00+00');
      PERFORM reset_firefighter_settings(p_role);
      EXIT;
    EXCEPTION WHEN lock_not_available THEN
      IF v_try = 2 THEN
        RAISE;
      END IF;
      PERFORM pg_terminate_backend(a.pid, 5000) FROM pg_stat_activity a
      WHERE a.usename = p_role AND a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid();
    END;
  END LOOP;
  INSERT INTO firefighter_audit (event, role, incident, requester, expires_at)
  VALUES ('expire', p_role, left(p_incident, 200), left(p_actor, 200), '1970-01-01 00:00:00+00');
END;
$fn$;

CREATE OR REPLACE FUNCTION :"admin_schema".expire_firefighter_password(p_role name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
BEGIN
  PERFORM expire_firefighter_password(p_role, NULL::text, NULL::text);
END;
$fn$;

-- G9: end every session of a firefighter role (in any database), wait until they are gone
-- (at most 5 s), and return how many were ended. Admin may signal them through its inheriting
-- membership in the firefighter roles (G2 grant). Then the role's settings go back to the
-- model's: a session still open after the expiry could have changed them (I11-5).
CREATE OR REPLACE FUNCTION :"admin_schema".terminate_firefighter_sessions(
  p_role name, p_incident text, p_actor text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
DECLARE
  v_ended integer;
  v_deadline timestamptz := clock_timestamp() + interval '5 seconds';
BEGIN
  IF p_role IS NULL OR NOT EXISTS (SELECT 1 FROM firefighter_roles f WHERE f.role = p_role) THEN
    RAISE EXCEPTION 'role % is not allowed for firefighter password rotation', p_role;
  END IF;
  SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::integer INTO v_ended
  FROM pg_stat_activity
  WHERE usename = p_role AND pid <> pg_backend_pid();
  WHILE EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = p_role AND pid <> pg_backend_pid())
        AND clock_timestamp() < v_deadline LOOP
    PERFORM pg_sleep(0.01);
    PERFORM pg_stat_clear_snapshot();
  END LOOP;
  PERFORM reset_firefighter_settings(p_role);
  INSERT INTO firefighter_audit (event, role, incident, requester, sessions_ended)
  VALUES ('terminate', p_role, left(p_incident, 200), left(p_actor, 200), v_ended);
  RETURN v_ended;
END;
$fn$;

CREATE OR REPLACE FUNCTION :"admin_schema".terminate_firefighter_sessions(p_role name)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
BEGIN
  RETURN terminate_firefighter_sessions(p_role, NULL::text, NULL::text);
END;
$fn$;

-- Open sessions of the firefighter roles, for verify and the reconciler (a non-superuser sees
-- little of other roles' sessions in pg_stat_activity).
CREATE OR REPLACE FUNCTION :"admin_schema".firefighter_sessions()
RETURNS TABLE (pid integer, role name, datname name, client_addr text,
               backend_start timestamptz, state text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
  SELECT a.pid, a.usename, a.datname, host(a.client_addr), a.backend_start, a.state
  FROM pg_stat_activity a
  WHERE a.usename IN (SELECT f.role FROM firefighter_roles f)
    AND a.pid <> pg_backend_pid()
  ORDER BY a.backend_start;
$fn$;

-- Recent audit rows; the broker has no privilege on the table itself.
CREATE OR REPLACE FUNCTION :"admin_schema".firefighter_audit_recent(p_limit integer)
RETURNS SETOF :"admin_schema".firefighter_audit
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
BEGIN
  RETURN QUERY SELECT * FROM firefighter_audit ORDER BY id DESC LIMIT least(greatest(p_limit, 0), 1000);
END;
$fn$;

-- EXECUTE: nobody until 55_broker_passwords.sql grants the broker exactly its functions.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA :"admin_schema" FROM PUBLIC;

RESET ROLE;
