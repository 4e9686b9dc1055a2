-- pgroles 57_instance_sessions.sql: firefighter sessions on the cluster's other instances
-- (issue 16). On Aurora every instance, the writer and each reader, is its own PostgreSQL
-- server: a terminate on the writer cannot see a session opened through the reader endpoint.
-- The broker connects to each instance and calls end_instance_firefighter_sessions there (safe
-- on a read-only hot standby: it reads the replicated catalog and signals backends, it writes
-- nothing), then records the count per instance on the writer with
-- record_instance_sessions_ended. Run after 56_person_logins.sql, connected to the application
-- database as the bootstrap DBA; everything is created as, and owned by, admin. EXECUTE for the
-- broker on exactly the three functions at the end.
-- Variables: admin broker admin_schema.
--
-- A hostile broker (sql/README.md, issue 11) gets nothing from these functions beyond ending
-- firefighter sessions early: the role must be one of firefighter_roles or a recorded
-- per-person login (by its recorded oid: a role of the same name made later by someone else is
-- not it); every other role (the app, admin, the broker, postgres) is refused. Every function
-- pins the settings a caller could use against it, as 50/55/56 do; the audit input is bounded.

SET ROLE :"admin";

-- The count per instance (`{"host:port": n | "unreachable"}`) of a terminate made on the other
-- instances. Added to tables of earlier versions.
ALTER TABLE :"admin_schema".firefighter_audit ADD COLUMN IF NOT EXISTS instances jsonb;

-- Internal (no EXECUTE for the broker): the backends p_role names on this instance, started
-- before p_started_before. A firefighter role by its oid here; a recorded per-person login by
-- its recorded oid, while no other role holds that oid (a dropped login's sessions still count).
CREATE OR REPLACE FUNCTION :"admin_schema".instance_session_pids(
  p_role name, p_started_before timestamptz)
RETURNS SETOF integer
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
AS $fn$
DECLARE
  v_oid oid;
BEGIN
  IF p_role IS NOT NULL AND EXISTS (SELECT 1 FROM firefighter_roles f WHERE f.role = p_role) THEN
    SELECT r.oid INTO v_oid FROM pg_roles r WHERE r.rolname = p_role;
  ELSIF p_role IS NOT NULL AND EXISTS (SELECT 1 FROM person_logins p WHERE p.login = p_role) THEN
    SELECT p.role_oid INTO v_oid FROM person_logins p WHERE p.login = p_role
      AND NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = p.role_oid AND r.rolname <> p.login);
  ELSE
    RAISE EXCEPTION 'role % is not a firefighter role or a recorded per-person login', p_role;
  END IF;
  IF p_started_before IS NULL THEN
    RAISE EXCEPTION 'started_before must be given';
  END IF;
  RETURN QUERY
    SELECT a.pid FROM pg_stat_activity a
    WHERE v_oid IS NOT NULL AND a.usesysid = v_oid AND a.pid <> pg_backend_pid()
      AND a.backend_start < p_started_before;
END;
$fn$;

-- Ends, on the instance it runs on, the sessions of p_role (a firefighter role, or a recorded
-- per-person login) that started before p_started_before, waits at most 5 s for them to exit,
-- and returns how many were signalled and how many are still there (a dropped login's session
-- cannot be signalled by admin any more: it is counted as left). Writes nothing: runs on a hot
-- standby. p_started_before spares sessions opened after the grant ended (a new holder's).
CREATE OR REPLACE FUNCTION :"admin_schema".end_instance_firefighter_sessions(
  p_role name, p_started_before timestamptz,
  OUT sessions_ended integer, OUT sessions_left integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
DECLARE
  v_pid integer;
  v_deadline timestamptz := clock_timestamp() + interval '5 seconds';
BEGIN
  sessions_ended := 0;
  FOR v_pid IN SELECT instance_session_pids(p_role, p_started_before) LOOP
    BEGIN
      IF pg_terminate_backend(v_pid) THEN
        sessions_ended := sessions_ended + 1;
      END IF;
    EXCEPTION WHEN insufficient_privilege THEN
      NULL; -- counted below as left
    END;
  END LOOP;
  LOOP
    PERFORM pg_stat_clear_snapshot();
    SELECT count(*)::integer INTO sessions_left FROM instance_session_pids(p_role, p_started_before);
    EXIT WHEN sessions_left = 0 OR clock_timestamp() >= v_deadline;
    PERFORM pg_sleep(0.01);
  END LOOP;
END;
$fn$;

-- The sessions of the firefighter roles and of recorded per-person logins on the instance it
-- runs on (at most 1000), for verify and the reconciler. `role` is the firefighter role the
-- session belongs to, `login` the role it logged in as.
CREATE OR REPLACE FUNCTION :"admin_schema".instance_firefighter_sessions()
RETURNS TABLE (pid integer, role name, login name, datname name, client_addr text,
               backend_start timestamptz, state text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
AS $fn$
  SELECT a.pid, k.role, k.login, a.datname, host(a.client_addr), a.backend_start, a.state
  FROM pg_stat_activity a
  JOIN (
    SELECT r.oid, f.role, f.role AS login
    FROM firefighter_roles f JOIN pg_roles r ON r.rolname = f.role
    UNION ALL
    SELECT p.role_oid, p.role, p.login
    FROM person_logins p
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = p.role_oid AND r.rolname <> p.login)
  ) k ON k.oid = a.usesysid
  WHERE a.pid <> pg_backend_pid()
  ORDER BY a.backend_start
  LIMIT 1000;
$fn$;

-- On the writer: one audit row for a terminate made on the other instances, with the count per
-- instance. p_counts: a JSON object of at most 32 entries, `"host:port"` (at most 260
-- characters) to a count from 0 to 100000 or the string "unreachable"; at most 8 kB. The
-- audit text fields are stored cut to 200 characters, as the other functions do.
CREATE OR REPLACE FUNCTION :"admin_schema".record_instance_sessions_ended(
  p_role name, p_incident text, p_actor text, p_counts jsonb)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
DECLARE
  v_sum integer := 0;
  e record;
BEGIN
  IF p_role IS NULL OR NOT (EXISTS (SELECT 1 FROM firefighter_roles f WHERE f.role = p_role)
                            OR EXISTS (SELECT 1 FROM person_logins p WHERE p.login = p_role)) THEN
    RAISE EXCEPTION 'role % is not a firefighter role or a recorded per-person login', p_role;
  END IF;
  -- Size first (the stored header, no detoasting walk), then the shape.
  IF p_counts IS NULL OR pg_column_size(p_counts) > 8192 OR jsonb_typeof(p_counts) <> 'object' THEN
    RAISE EXCEPTION 'instance counts must be a JSON object of at most 8 kB';
  END IF;
  IF (SELECT count(*) FROM jsonb_object_keys(p_counts)) > 32 THEN
    RAISE EXCEPTION 'instance counts name at most 32 instances';
  END IF;
  FOR e IN SELECT key, value FROM jsonb_each(p_counts) LOOP
    IF length(e.key) > 260
       OR e.key !~ '^(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9._-]{1,253}):[0-9]{1,5}$' THEN
      RAISE EXCEPTION 'instance counts: % is not host:port', left(e.key, 40);
    END IF;
    IF jsonb_typeof(e.value) = 'number' AND e.value::text ~ '^[0-9]{1,6}$'
       AND (e.value::text)::integer <= 100000 THEN
      v_sum := v_sum + (e.value::text)::integer;
    ELSIF e.value <> '"unreachable"'::jsonb THEN
      RAISE EXCEPTION 'instance counts: a count is 0 to 100000 or "unreachable"';
    END IF;
  END LOOP;
  INSERT INTO firefighter_audit (event, role, incident, requester, sessions_ended, instances)
  VALUES ('terminate', p_role, left(p_incident, 200), left(p_actor, 200), v_sum, p_counts);
END;
$fn$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA :"admin_schema" FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  :"admin_schema".end_instance_firefighter_sessions(name, timestamptz),
  :"admin_schema".instance_firefighter_sessions(),
  :"admin_schema".record_instance_sessions_ended(name, text, text, jsonb)
TO :"broker";

RESET ROLE;
