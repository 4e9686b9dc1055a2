-- pgroles 50_broker.sql: the password broker's functions and the audit table (design section 9;
-- fixes G8, G9). Run connected to the application database as the bootstrap DBA; everything here
-- is created as, and owned by, admin. The broker may EXECUTE these functions and nothing else.
--
-- Every function is SECURITY DEFINER with a pinned search_path (pg_catalog first, the admin
-- schema, pg_temp last) and takes its allowlist from db_admin.firefighter_roles, a table only
-- admin can write. Guard messages are the design's.
-- Variables: admin broker ff_ro ff_rw admin_schema.

SET ROLE :"admin";

CREATE TABLE IF NOT EXISTS :"admin_schema".firefighter_audit (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event          text        NOT NULL CHECK (event IN ('issue', 'expire', 'terminate')),
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

-- The design's function, with audit fields and the grant's planned end (what pgroles calls).
-- p_password is either a SCRAM-SHA-256 verifier (what pgroles sends: no plaintext reaches the
-- server) or a plaintext of 32+ characters. p_ends_at is recorded, capped at VALID UNTIL.
CREATE OR REPLACE FUNCTION :"admin_schema".set_firefighter_password(
  p_role name, p_password text, p_hours integer,
  p_incident text, p_requester text, p_approvers text[], p_ends_at timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
AS $fn$
DECLARE
  v_expires_at timestamptz;
  v_iterations bigint;
BEGIN
  IF p_role IS NULL OR NOT EXISTS (SELECT 1 FROM firefighter_roles f WHERE f.role = p_role) THEN
    RAISE EXCEPTION 'role % is not allowed for firefighter password rotation', p_role;
  END IF;

  IF p_password LIKE 'SCRAM-SHA-256$%' THEN
    IF p_password !~ '^SCRAM-SHA-256\$[0-9]{1,9}:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}$' THEN
      RAISE EXCEPTION 'malformed SCRAM-SHA-256 verifier';
    END IF;
    v_iterations := substring(p_password FROM '^SCRAM-SHA-256\$([0-9]+):')::bigint;
    IF v_iterations < 4096 THEN
      RAISE EXCEPTION 'SCRAM-SHA-256 verifier must use at least 4096 iterations';
    END IF;
  ELSIF p_password ~ '^md5[0-9a-f]{32}$' THEN
    RAISE EXCEPTION 'md5 password hashes are not accepted';
  ELSIF p_password IS NULL OR length(p_password) < 32 THEN
    RAISE EXCEPTION 'temporary password must be at least 32 characters';
  END IF;

  IF p_hours IS NULL OR p_hours < 1 OR p_hours > 2 THEN
    RAISE EXCEPTION 'temporary password validity must be between 1 and 2 hours';
  END IF;

  v_expires_at := clock_timestamp() + (p_hours * interval '1 hour');

  -- G8: a failing ALTER ROLE would carry the statement, and so the secret, into the error
  -- CONTEXT and the server log. Re-raise without it.
  BEGIN
    EXECUTE format('ALTER ROLE %I PASSWORD %L VALID UNTIL %L', p_role, p_password, v_expires_at);
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'could not set the password of role %: %', p_role, SQLERRM
      USING ERRCODE = SQLSTATE;
  END;

  INSERT INTO firefighter_audit (event, role, incident, requester, approvers, expires_at, ends_at)
  VALUES ('issue', p_role, p_incident, p_requester, p_approvers, v_expires_at,
          least(p_ends_at, v_expires_at));

  RETURN v_expires_at;
END;
$fn$;

-- With audit fields, without a planned end (the grant ends at VALID UNTIL).
CREATE OR REPLACE FUNCTION :"admin_schema".set_firefighter_password(
  p_role name, p_password text, p_hours integer,
  p_incident text, p_requester text, p_approvers text[])
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
AS $fn$
BEGIN
  RETURN set_firefighter_password(p_role, p_password, p_hours, p_incident, p_requester,
                                  p_approvers, NULL::timestamptz);
END;
$fn$;

-- The design's exact signature, kept for DBAs and Lambda-style callers.
CREATE OR REPLACE FUNCTION :"admin_schema".set_firefighter_password(
  p_role name, p_password text, p_hours integer DEFAULT 2)
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
AS $fn$
BEGIN
  RETURN set_firefighter_password(p_role, p_password, p_hours, NULL::text, NULL::text, NULL::text[]);
END;
$fn$;

-- G9: the broker could not expire a password. PASSWORD NULL and VALID UNTIL in the past.
CREATE OR REPLACE FUNCTION :"admin_schema".expire_firefighter_password(
  p_role name, p_incident text, p_actor text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
AS $fn$
BEGIN
  IF p_role IS NULL OR NOT EXISTS (SELECT 1 FROM firefighter_roles f WHERE f.role = p_role) THEN
    RAISE EXCEPTION 'role % is not allowed for firefighter password rotation', p_role;
  END IF;
  EXECUTE format('ALTER ROLE %I PASSWORD NULL VALID UNTIL %L', p_role, '1970-01-01 00:00:00+00');
  INSERT INTO firefighter_audit (event, role, incident, requester, expires_at)
  VALUES ('expire', p_role, p_incident, p_actor, '1970-01-01 00:00:00+00');
END;
$fn$;

CREATE OR REPLACE FUNCTION :"admin_schema".expire_firefighter_password(p_role name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
AS $fn$
BEGIN
  PERFORM expire_firefighter_password(p_role, NULL::text, NULL::text);
END;
$fn$;

-- G9: end every session of a firefighter role (in any database), wait until they are gone
-- (at most 5 s), and return how many were ended. Admin may signal them through its inheriting
-- membership in the firefighter roles (G2 grant).
CREATE OR REPLACE FUNCTION :"admin_schema".terminate_firefighter_sessions(
  p_role name, p_incident text, p_actor text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
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
  INSERT INTO firefighter_audit (event, role, incident, requester, sessions_ended)
  VALUES ('terminate', p_role, p_incident, p_actor, v_ended);
  RETURN v_ended;
END;
$fn$;

CREATE OR REPLACE FUNCTION :"admin_schema".terminate_firefighter_sessions(p_role name)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
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
AS $fn$
BEGIN
  RETURN QUERY SELECT * FROM firefighter_audit ORDER BY id DESC LIMIT least(greatest(p_limit, 0), 1000);
END;
$fn$;

-- EXECUTE: nobody by default (functions are executable by PUBLIC on creation), the broker on
-- exactly these.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA :"admin_schema" FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  :"admin_schema".set_firefighter_password(name, text, integer),
  :"admin_schema".set_firefighter_password(name, text, integer, text, text, text[]),
  :"admin_schema".set_firefighter_password(name, text, integer, text, text, text[], timestamptz),
  :"admin_schema".expire_firefighter_password(name),
  :"admin_schema".expire_firefighter_password(name, text, text),
  :"admin_schema".terminate_firefighter_sessions(name),
  :"admin_schema".terminate_firefighter_sessions(name, text, text),
  :"admin_schema".firefighter_sessions(),
  :"admin_schema".firefighter_audit_recent(integer)
TO :"broker";

RESET ROLE;
