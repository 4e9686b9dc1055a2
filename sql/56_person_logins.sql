-- pgroles 56_person_logins.sql: per-person firefighter logins (issue 15). Each approved request
-- gets its own login, a member of exactly one firefighter role, so that several responders can
-- hold a level at once and every session and statement names its person. Run after
-- 55_broker_passwords.sql, connected to the application database as the bootstrap DBA;
-- everything is created as, and owned by, admin. EXECUTE for the broker on exactly the four
-- functions at the end.
-- Variables: admin broker ff_ro ff_rw admin_schema ff_login_prefix.
--
-- A hostile broker (sql/README.md, issue 11) gets nothing from these functions beyond such a
-- login: the caller never passes a role name to create, attributes, memberships, settings or a
-- validity as text. The name is built here from a level, a Slack user id and a short grant id,
-- each checked by a strict pattern; the verifier goes through the one check of
-- 55_broker_passwords.sql (check_firefighter_password), and a plaintext is refused; VALID UNTIL
-- is computed here from a count of minutes (at most 120). Ending, extending and rotating refuse
-- every role that is not a recorded, live per-person login (same name and same oid). Every
-- function pins the settings a caller could use against it, as 50/55 do; createrole_self_grant
-- (16+, not a SET clause: the parameter does not exist on 15) is pinned at run time.

SET ROLE :"admin";

-- The two levels, their firefighter role and the name prefix of their logins
-- (`<role prefix>ff_ro_`): admin-owned, nobody else holds anything on it.
CREATE TABLE IF NOT EXISTS :"admin_schema".person_login_levels (
  level        text PRIMARY KEY CHECK (level IN ('ro', 'rw')),
  role         name NOT NULL,
  login_prefix text NOT NULL
);
REVOKE ALL ON TABLE :"admin_schema".person_login_levels FROM PUBLIC;
INSERT INTO :"admin_schema".person_login_levels (level, role, login_prefix) VALUES
  ('ro', :'ff_ro', :'ff_login_prefix' || 'ro_'),
  ('rw', :'ff_rw', :'ff_login_prefix' || 'rw_')
ON CONFLICT (level) DO UPDATE SET role = EXCLUDED.role, login_prefix = EXCLUDED.login_prefix
  WHERE (person_login_levels.role, person_login_levels.login_prefix)
        IS DISTINCT FROM (EXCLUDED.role, EXCLUDED.login_prefix);

-- Every per-person login ever created, with its oid (a role of the same name made later by
-- someone else is not it), and how it ended. The broker reads it through person_logins() only.
CREATE TABLE IF NOT EXISTS :"admin_schema".person_logins (
  login       name        PRIMARY KEY,
  role_oid    oid         NOT NULL,
  level       text        NOT NULL CHECK (level IN ('ro', 'rw')),
  role        name        NOT NULL,
  slack_user  text        NOT NULL,
  grant_id    text        NOT NULL,
  incident    text,
  planned_end timestamptz NOT NULL,
  pgaudit     boolean     NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  ended_at    timestamptz,
  end_outcome text        CHECK (end_outcome IN ('dropped', 'disabled', 'gone')),
  end_detail  text,
  created_by  name        NOT NULL DEFAULT session_user
);
REVOKE ALL ON TABLE :"admin_schema".person_logins FROM PUBLIC;

-- Internal: the login's settings back to exactly its level's model settings (the values of
-- 60_guardrails.sql in firefighter_settings) plus pgaudit.log where it was set at creation:
-- nothing role-wide, nothing in other databases. A holder's ALTER ROLE CURRENT_USER SET ...
-- is undone at rotation (verify reports it meanwhile).
CREATE OR REPLACE FUNCTION :"admin_schema".reset_person_login_settings(p_login name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
AS $fn$
DECLARE
  v_row person_logins%ROWTYPE;
  v_db name;
  s record;
BEGIN
  SELECT * INTO v_row FROM person_logins p WHERE p.login = p_login AND p.ended_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'role % is not a live per-person firefighter login', p_login;
  END IF;
  EXECUTE format('ALTER ROLE %I RESET ALL', p_login);
  FOR v_db IN
    SELECT d.datname FROM pg_db_role_setting x JOIN pg_database d ON d.oid = x.setdatabase
    WHERE x.setrole = v_row.role_oid
  LOOP
    EXECUTE format('ALTER ROLE %I IN DATABASE %I RESET ALL', p_login, v_db);
  END LOOP;
  FOR s IN SELECT f.setting, f.value FROM firefighter_settings f WHERE f.role = v_row.role
           ORDER BY f.setting LOOP
    EXECUTE format('ALTER ROLE %I IN DATABASE %I SET %I = %L',
                   p_login, current_database(), s.setting, s.value);
  END LOOP;
  IF v_row.pgaudit THEN
    EXECUTE format('ALTER ROLE %I IN DATABASE %I SET pgaudit.log = %L',
                   p_login, current_database(), 'all');
  END IF;
END;
$fn$;

-- Creates the login `<login prefix of the level><slack user, lower-cased>_<grant id>` for one
-- approved request and returns its name and VALID UNTIL. p_slack_user: a Slack user id
-- (`U`/`W`, then 1 to 19 upper-case letters or digits); p_grant_id: 8 lower-case hex digits
-- (the start of the request's UUID); p_verifier: a SCRAM-SHA-256 verifier (never a plaintext);
-- p_minutes: 1 to 120, VALID UNTIL and the planned end are now + p_minutes, on the server's
-- clock. LOGIN INHERIT and no other attribute, the connection limit of its firefighter role,
-- membership in that role only (16+: INHERIT TRUE, SET FALSE; never ADMIN), the role's model
-- settings, pgaudit.log = 'all' where pgaudit is loaded and admin may set it. At most 50 live
-- logins per level, whatever the bot's own maximum. One transaction: all or nothing.
CREATE OR REPLACE FUNCTION :"admin_schema".create_person_login(
  p_level text, p_slack_user text, p_grant_id text, p_verifier text, p_minutes integer,
  p_incident text, p_approvers text[],
  OUT login name, OUT valid_until timestamptz)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
SET lock_timeout = '2s'
AS $fn$
DECLARE
  v_level person_login_levels%ROWTYPE;
  v_connlimit integer;
  v_oid oid;
  v_pgaudit boolean := false;
  v_now timestamptz;
BEGIN
  SELECT * INTO v_level FROM person_login_levels l WHERE l.level = p_level;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'level must be ro or rw';
  END IF;
  IF p_slack_user IS NULL OR p_slack_user !~ '^[UW][A-Z0-9]{1,19}$' THEN
    RAISE EXCEPTION 'slack user must be a Slack user id (U or W, then 1 to 19 of A-Z 0-9)';
  END IF;
  IF p_grant_id IS NULL OR p_grant_id !~ '^[0-9a-f]{8}$' THEN
    RAISE EXCEPTION 'grant id must be 8 lower-case hex digits';
  END IF;
  IF p_minutes IS NULL OR p_minutes < 1 OR p_minutes > 120 THEN
    RAISE EXCEPTION 'per-person login validity must be 1 to 120 minutes';
  END IF;
  IF length(p_incident) > 200 OR cardinality(p_approvers) > 50 THEN
    RAISE EXCEPTION 'audit fields too long: at most 200 characters each and 50 approvers';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(p_approvers) a WHERE length(a) > 200) THEN
    RAISE EXCEPTION 'audit fields too long: at most 200 characters each and 50 approvers';
  END IF;
  IF p_verifier IS NULL OR left(p_verifier, 14) <> 'SCRAM-SHA-256$' THEN
    RAISE EXCEPTION 'a per-person login takes a SCRAM-SHA-256 verifier, never a plaintext';
  END IF;
  PERFORM check_firefighter_password(p_verifier);

  login := v_level.login_prefix || lower(p_slack_user) || '_' || p_grant_id;
  IF octet_length(login) > 63 THEN
    RAISE EXCEPTION 'per-person login name would exceed 63 bytes';
  END IF;

  -- One creation at a time: the per-level ceiling is counted race-free.
  LOCK TABLE person_logins IN SHARE ROW EXCLUSIVE MODE;
  IF EXISTS (SELECT 1 FROM person_logins p WHERE p.login = create_person_login.login) THEN
    RAISE EXCEPTION 'per-person login % exists already', login;
  END IF;
  IF (SELECT count(*) FROM person_logins p
      WHERE p.level = p_level AND p.ended_at IS NULL) >= 50 THEN
    RAISE EXCEPTION 'too many live per-person logins at level % (at most 50)', p_level;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = login) THEN
    RAISE EXCEPTION 'role % exists already and is not a per-person login', login;
  END IF;

  SELECT CASE WHEN r.rolconnlimit < 0 THEN 5 ELSE r.rolconnlimit END INTO v_connlimit
  FROM pg_roles r WHERE r.rolname = v_level.role;
  IF v_connlimit IS NULL THEN
    RAISE EXCEPTION 'firefighter role % does not exist', v_level.role;
  END IF;

  v_now := clock_timestamp();
  valid_until := date_trunc('second', v_now) + interval '1 second' + p_minutes * interval '1 minute';
  valid_until := least(valid_until, v_now + interval '2 hours');

  -- 16+: admin gets an inheriting membership in the new login (it signals the login's backends
  -- through it, as G9 does for the shared roles), never SET; whatever the caller set.
  IF current_setting('server_version_num')::int >= 160000 THEN
    PERFORM set_config('createrole_self_grant', 'inherit', true);
  END IF;

  -- G8: a failing CREATE ROLE would carry the verifier into the error CONTEXT and the log.
  BEGIN
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE '
                   'NOREPLICATION NOBYPASSRLS CONNECTION LIMIT %s PASSWORD %L VALID UNTIL %L',
                   login, v_connlimit, p_verifier,
                   to_char(valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00');
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'could not create role %: %', login, SQLERRM USING ERRCODE = SQLSTATE;
  END;
  SELECT r.oid INTO v_oid FROM pg_roles r WHERE r.rolname = login;

  IF current_setting('server_version_num')::int >= 160000 THEN
    EXECUTE format('GRANT %I TO %I WITH INHERIT TRUE, SET FALSE, ADMIN FALSE',
                   v_level.role, login);
  ELSE
    EXECUTE format('GRANT %I TO %I', v_level.role, login);
    -- 15: admin signals the login's backends through a plain (inheriting) membership.
    EXECUTE format('GRANT %I TO %I', login, current_user);
  END IF;

  IF EXISTS (SELECT 1 FROM pg_settings s WHERE s.name = 'pgaudit.log') THEN
    BEGIN
      EXECUTE format('ALTER ROLE %I IN DATABASE %I SET pgaudit.log = %L',
                     login, current_database(), 'all');
      v_pgaudit := true;
    EXCEPTION WHEN insufficient_privilege THEN
      v_pgaudit := false;
    END;
  END IF;

  INSERT INTO person_logins (login, role_oid, level, role, slack_user, grant_id, incident,
                             planned_end, pgaudit)
  VALUES (login, v_oid, p_level, v_level.role, p_slack_user, p_grant_id, p_incident,
          valid_until, v_pgaudit);
  PERFORM reset_person_login_settings(login);

  INSERT INTO firefighter_audit (event, role, incident, requester, approvers, expires_at, ends_at)
  VALUES ('issue', login, p_incident, p_slack_user, p_approvers, valid_until, valid_until);
END;
$fn$;

-- Internal: the recorded, live login p_login (same name and oid), else an error naming it.
CREATE OR REPLACE FUNCTION :"admin_schema".live_person_login(p_login name)
RETURNS :"admin_schema".person_logins
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
AS $fn$
DECLARE
  v_row person_logins%ROWTYPE;
BEGIN
  SELECT * INTO v_row FROM person_logins p WHERE p.login = p_login FOR UPDATE;
  IF NOT FOUND OR v_row.ended_at IS NOT NULL
     OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = v_row.role_oid AND r.rolname = p_login)
  THEN
    RAISE EXCEPTION 'role % is not a live per-person firefighter login', p_login;
  END IF;
  RETURN v_row;
END;
$fn$;

-- Internal: ends every session of the role p_oid (but the caller's), in every database, and
-- waits (at most 5 s) until they have left pg_stat_activity, their transactions' locks released;
-- returns how many were signalled. All are signalled first and awaited together:
-- pg_terminate_backend(pid, 5000) one by one sleeps 100 ms per session (BENCHMARKS.md,
-- "Per-person login expiry"). The backend status is read afresh on each poll
-- (pg_stat_clear_snapshot: within a transaction it is otherwise a snapshot).
CREATE OR REPLACE FUNCTION :"admin_schema".end_role_sessions(p_oid oid)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
AS $fn$
DECLARE
  v_pids integer[];
  v_deadline timestamptz := clock_timestamp() + interval '5 seconds';
BEGIN
  PERFORM pg_stat_clear_snapshot();
  SELECT coalesce(array_agg(a.pid) FILTER (WHERE pg_terminate_backend(a.pid)), '{}')
  INTO v_pids
  FROM pg_stat_activity a WHERE a.usesysid = p_oid AND a.pid <> pg_backend_pid();
  LOOP
    PERFORM pg_stat_clear_snapshot();
    EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = ANY (v_pids))
           OR clock_timestamp() > v_deadline;
    PERFORM pg_sleep(0.002);
  END LOOP;
  RETURN cardinality(v_pids);
END;
$fn$;

-- Ends a per-person login: ends its sessions (by oid, in every database, waiting for them),
-- takes LOGIN, the password, the validity and the firefighter membership away, then drops it.
-- If DROP is impossible (it owns objects or holds privileges), the login stays disabled and
-- outcome says 'disabled' with the reason in person_logins.end_detail. Calling it again for an
-- ended login ends any session that slipped in before the first call committed and changes
-- nothing else. Refuses every role that was never recorded as a per-person login.
CREATE OR REPLACE FUNCTION :"admin_schema".end_person_login(
  p_login name, p_actor text, OUT outcome text, OUT sessions_ended integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
SET lock_timeout = '2s'
AS $fn$
DECLARE
  v_row person_logins%ROWTYPE;
  v_more integer;
BEGIN
  SELECT * INTO v_row FROM person_logins p WHERE p.login = p_login FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'role % is not a per-person firefighter login', p_login;
  END IF;
  sessions_ended := end_role_sessions(v_row.role_oid);
  IF v_row.ended_at IS NOT NULL THEN
    outcome := 'ended already';
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = v_row.role_oid) THEN
    outcome := 'gone';
  ELSE
    EXECUTE format('ALTER ROLE %I NOLOGIN PASSWORD NULL VALID UNTIL %L',
                   p_login, '1970-01-01 00:00:00+00');
    EXECUTE format('REVOKE %I FROM %I', v_row.role, p_login);
    v_more := end_role_sessions(v_row.role_oid);
    sessions_ended := sessions_ended + v_more;
    BEGIN
      EXECUTE format('DROP ROLE %I', p_login);
      outcome := 'dropped';
    EXCEPTION WHEN OTHERS THEN
      outcome := 'disabled';
      v_row.end_detail := left(SQLERRM, 500);
    END;
  END IF;
  UPDATE person_logins p SET ended_at = clock_timestamp(), end_outcome = outcome,
    end_detail = v_row.end_detail
  WHERE p.login = p_login;
  INSERT INTO firefighter_audit (event, role, incident, requester, sessions_ended)
  VALUES ('terminate', p_login, v_row.incident, left(p_actor, 200), sessions_ended);
  INSERT INTO firefighter_audit (event, role, incident, requester, expires_at)
  VALUES ('expire', p_login, v_row.incident, left(p_actor, 200), '1970-01-01 00:00:00+00');
END;
$fn$;

-- Extends (and, with a verifier, rotates the password of) a live per-person login: VALID UNTIL
-- and the planned end become now + p_minutes (1 to 120); its settings go back to the model's.
-- p_verifier NULL keeps the password. Refuses every other role.
CREATE OR REPLACE FUNCTION :"admin_schema".renew_person_login(
  p_login name, p_verifier text, p_minutes integer, p_actor text)
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
SET lock_timeout = '2s'
AS $fn$
DECLARE
  v_row person_logins%ROWTYPE;
  v_now timestamptz := clock_timestamp();
  v_until timestamptz;
BEGIN
  v_row := live_person_login(p_login);
  IF p_minutes IS NULL OR p_minutes < 1 OR p_minutes > 120 THEN
    RAISE EXCEPTION 'per-person login validity must be 1 to 120 minutes';
  END IF;
  IF p_verifier IS NOT NULL THEN
    IF left(p_verifier, 14) <> 'SCRAM-SHA-256$' THEN
      RAISE EXCEPTION 'a per-person login takes a SCRAM-SHA-256 verifier, never a plaintext';
    END IF;
    PERFORM check_firefighter_password(p_verifier);
  END IF;
  v_until := least(date_trunc('second', v_now) + interval '1 second' + p_minutes * interval '1 minute',
                   v_now + interval '2 hours');
  BEGIN
    IF p_verifier IS NULL THEN
      EXECUTE format('ALTER ROLE %I VALID UNTIL %L', p_login,
                     to_char(v_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00');
    ELSE
      EXECUTE format('ALTER ROLE %I PASSWORD %L VALID UNTIL %L', p_login, p_verifier,
                     to_char(v_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00');
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'could not renew role %: %', p_login, SQLERRM USING ERRCODE = SQLSTATE;
  END;
  PERFORM reset_person_login_settings(p_login);
  UPDATE person_logins p SET planned_end = v_until WHERE p.login = p_login;
  INSERT INTO firefighter_audit (event, role, incident, requester, expires_at, ends_at)
  VALUES ('issue', p_login, v_row.incident, left(p_actor, 200), v_until, v_until);
  RETURN v_until;
END;
$fn$;

-- The recorded logins (live ones, and with p_include_ended the last 1000 ended ones), whether
-- the role still exists, and its open sessions; for the bot, the reconciler and verify.
CREATE OR REPLACE FUNCTION :"admin_schema".person_logins(p_include_ended boolean)
RETURNS TABLE (login name, level text, role name, slack_user text, grant_id text,
               incident text, planned_end timestamptz, created_at timestamptz,
               ended_at timestamptz, end_outcome text, role_exists boolean, sessions integer)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
AS $fn$
  SELECT * FROM (
    SELECT p.login, p.level, p.role, p.slack_user, p.grant_id, p.incident, p.planned_end,
           p.created_at, p.ended_at, p.end_outcome,
           EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = p.role_oid),
           (SELECT count(*)::integer FROM pg_stat_activity a WHERE a.usesysid = p.role_oid
              AND a.pid <> pg_backend_pid())
    FROM person_logins p
    WHERE p.ended_at IS NULL
    UNION ALL
    SELECT * FROM (
      SELECT p.login, p.level, p.role, p.slack_user, p.grant_id, p.incident, p.planned_end,
             p.created_at, p.ended_at, p.end_outcome,
             EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = p.role_oid),
             (SELECT count(*)::integer FROM pg_stat_activity a WHERE a.usesysid = p.role_oid
                AND a.pid <> pg_backend_pid())
      FROM person_logins p
      WHERE p.ended_at IS NOT NULL AND p_include_ended
      ORDER BY p.ended_at DESC LIMIT 1000) ended
  ) t
  ORDER BY 8;
$fn$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA :"admin_schema" FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  :"admin_schema".create_person_login(text, text, text, text, integer, text, text[]),
  :"admin_schema".end_person_login(name, text),
  :"admin_schema".renew_person_login(name, text, integer, text),
  :"admin_schema".person_logins(boolean)
TO :"broker";

RESET ROLE;
