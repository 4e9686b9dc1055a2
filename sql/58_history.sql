-- pgroles 58_history.sql: the firefighter history for compliance evidence after the fact (issue
-- 17): who asked for which access, who approved, when it was issued, how it ended and how many
-- sessions were ended, read from db_admin.firefighter_audit (with the per-person login record of
-- 56_person_logins.sql for the level, the person and how the login ended). Run after
-- 56_person_logins.sql, connected to the application database as the bootstrap DBA; created as,
-- and owned by, admin. EXECUTE for the broker on the one function.
-- Variables: admin broker admin_schema.
--
-- A hostile broker (sql/README.md, issue 11) gets nothing more than the rows it asks for: the
-- window is clamped to 1..366 days (NULL: 7), the rows to 1..1000 (NULL: 100), the filters to
-- 200 characters each; the window is computed on the server's clock in UTC whatever the
-- session's DateStyle, TimeZone or IntervalStyle; search_path is pinned (pg_temp last), so a
-- temporary table or function of the caller's cannot stand in for the audit table.

SET ROLE :"admin";

-- Audit rows of the last p_days days, newest first, at most p_max_rows. p_incident: only that
-- incident (exact); p_requester: only rows whose requester, or whose per-person login's owner,
-- is that Slack user id. level and person come from the per-person login record where the row
-- is about one (else level from the shared role, person from an issue row's requester);
-- login_outcome is how the login ended (dropped, disabled, gone), NULL while it is live.
CREATE OR REPLACE FUNCTION :"admin_schema".firefighter_history(
  p_days integer, p_incident text, p_requester text, p_max_rows integer)
RETURNS TABLE (id bigint, at timestamptz, event text, role name, level text, person text,
               incident text, requester text, approvers text[], expires_at timestamptz,
               ends_at timestamptz, sessions_ended integer, actor name, login_outcome text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
AS $fn$
#variable_conflict use_column
DECLARE
  v_days integer := least(greatest(coalesce(p_days, 7), 1), 366);
  v_rows integer := least(greatest(coalesce(p_max_rows, 100), 1), 1000);
  v_since timestamptz;
BEGIN
  IF octet_length(p_incident) > 800 OR length(p_incident) > 200
     OR octet_length(p_requester) > 800 OR length(p_requester) > 200 THEN
    RAISE EXCEPTION 'history filters: at most 200 characters each';
  END IF;
  v_since := clock_timestamp() - v_days * interval '1 day';
  RETURN QUERY
    SELECT a.id, a.at, a.event, a.role, coalesce(p.level, l.level),
           coalesce(p.slack_user, CASE WHEN a.event = 'issue' THEN a.requester END),
           a.incident, a.requester, a.approvers, a.expires_at, a.ends_at, a.sessions_ended,
           a.actor, p.end_outcome
    FROM firefighter_audit a
    LEFT JOIN person_logins p ON p.login = a.role
    LEFT JOIN person_login_levels l ON l.role = a.role
    WHERE a.at >= v_since
      AND (p_incident IS NULL OR a.incident = p_incident)
      AND (p_requester IS NULL OR a.requester = p_requester OR p.slack_user = p_requester)
    ORDER BY a.at DESC, a.id DESC
    LIMIT v_rows;
END;
$fn$;

REVOKE ALL ON FUNCTION :"admin_schema".firefighter_history(integer, text, text, integer)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION :"admin_schema".firefighter_history(integer, text, text, integer)
  TO :"broker";

RESET ROLE;
