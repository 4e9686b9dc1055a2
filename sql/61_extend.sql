-- pgroles 61_extend.sql: extending a live firefighter grant (issue 17, `/firefighter extend`):
-- VALID UNTIL of a shared firefighter role, or of a live per-person login, moves later, never
-- past 2 hours after its password was set. Run after 56_person_logins.sql, connected to the
-- application database as the bootstrap DBA; created as, and owned by, admin. EXECUTE for the
-- broker on the one function.
-- Variables: admin broker admin_schema.
--
-- Against a hostile broker (sql/README.md, issue 11): the cap is the database's own, from the
-- audit row its issue function wrote when the password was set (the caller cannot write one
-- without setting a new password); an extension only moves VALID UNTIL later and only while the
-- password is live (not expired since); the instant reaches ALTER ROLE as ISO text with an
-- explicit +00 offset under pinned DateStyle, TimeZone and IntervalStyle; search_path is pinned
-- with pg_temp last. No password is read, set or logged here.

SET ROLE :"admin";

-- The audit table learns the 'extend' event (tables of earlier versions know three events).
ALTER TABLE :"admin_schema".firefighter_audit
  DROP CONSTRAINT IF EXISTS firefighter_audit_event_check,
  ADD CONSTRAINT firefighter_audit_event_check
    CHECK (event IN ('issue', 'expire', 'terminate', 'extend'));

-- Moves VALID UNTIL of p_role (a firefighter role, or a live per-person login) to p_valid_until
-- rounded up to the second, never earlier than it is (a per-person login's VALID UNTIL is whole
-- minutes, so a short extension may already be covered: then it stays). Refused: any other
-- role; no live password (none issued, expired since, or already past its VALID UNTIL); an end
-- more than 2 hours after the password was set. Records an 'extend' audit row with the planned
-- end; returns VALID UNTIL as it now is.
CREATE OR REPLACE FUNCTION :"admin_schema".extend_firefighter_access(
  p_role name, p_valid_until timestamptz, p_incident text, p_actor text)
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET lock_timeout = '2s'
AS $fn$
DECLARE
  v_now timestamptz := clock_timestamp();
  v_person boolean := false;
  v_issued timestamptz;
  v_ended timestamptz;
  v_current timestamptz;
  v_until timestamptz;
BEGIN
  IF p_role IS NULL THEN
    RAISE EXCEPTION 'no role given';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM firefighter_roles f WHERE f.role = p_role) THEN
    -- Raises for anything but a live recorded per-person login.
    PERFORM live_person_login(p_role);
    v_person := true;
  END IF;
  SELECT max(a.at) INTO v_issued FROM firefighter_audit a
  WHERE a.role = p_role AND a.event = 'issue';
  SELECT max(a.at) INTO v_ended FROM firefighter_audit a
  WHERE a.role = p_role AND a.event = 'expire';
  SELECT r.rolvaliduntil INTO v_current FROM pg_roles r WHERE r.rolname = p_role;
  IF v_issued IS NULL OR v_ended >= v_issued OR v_current IS NULL OR v_current <= v_now THEN
    RAISE EXCEPTION 'role % has no live password to extend', p_role;
  END IF;
  IF p_valid_until IS NULL THEN
    RAISE EXCEPTION 'an extension needs its new end';
  END IF;
  v_until := date_trunc('second', p_valid_until);
  IF v_until < p_valid_until THEN
    v_until := v_until + interval '1 second';
  END IF;
  IF v_until > v_issued + interval '2 hours' THEN
    RAISE EXCEPTION 'an extension must end within 2 hours of the password''s issue, by % UTC',
      to_char(v_issued + interval '2 hours', 'YYYY-MM-DD HH24:MI:SS');
  END IF;
  IF v_until > v_current THEN
    BEGIN
      EXECUTE format('ALTER ROLE %I VALID UNTIL %L', p_role,
                     to_char(v_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00');
    EXCEPTION WHEN OTHERS THEN
      RAISE EXCEPTION 'could not extend role %: %', p_role, SQLERRM USING ERRCODE = SQLSTATE;
    END;
    v_current := v_until;
  END IF;
  IF v_person THEN
    UPDATE person_logins p SET planned_end = v_until WHERE p.login = p_role;
  END IF;
  INSERT INTO firefighter_audit (event, role, incident, requester, expires_at, ends_at)
  VALUES ('extend', p_role, left(p_incident, 200), left(p_actor, 200), v_current, v_until);
  RETURN v_current;
END;
$fn$;

REVOKE ALL ON FUNCTION :"admin_schema".extend_firefighter_access(name, timestamptz, text, text)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  :"admin_schema".extend_firefighter_access(name, timestamptz, text, text) TO :"broker";

RESET ROLE;
