-- pgroles 55_broker_passwords.sql: setting a firefighter password (design section 9; fixes G8
-- and issue 11: a hostile broker or firefighter login, see sql/README.md), the firefighter roles'
-- model settings put back at issue, expiry and termination, and EXECUTE for the broker on
-- exactly its functions. Run after 50_broker.sql, connected to the application database as the
-- bootstrap DBA; everything is created as, and owned by, admin.
-- Variables: admin broker ff_ro ff_rw admin_schema.

SET ROLE :"admin";

-- I11 (hostile caller): every function below pins, with SET clauses, the settings a caller could
-- use against it: DateStyle/TimeZone/IntervalStyle (VALID UNTIL must not travel as text in the
-- caller's format), password_encryption (a plaintext is stored as SCRAM, never md5) and
-- search_path. SET clauses override session and role-wide (ALTER ROLE ... SET) settings alike.
-- scram_iterations (16+) is pinned at run time: the parameter does not exist on 15.

-- The model's per-database settings of the firefighter roles (the ones 60_guardrails.sql sets;
-- kept equal to it, a test compares them). Expiry, termination and issue put exactly these back,
-- so a holder's ALTER ROLE CURRENT_USER SET ... does not reach the next holder.
CREATE TABLE IF NOT EXISTS :"admin_schema".firefighter_settings (
  role    name NOT NULL,
  setting text NOT NULL,
  value   text NOT NULL,
  PRIMARY KEY (role, setting)
);
REVOKE ALL ON TABLE :"admin_schema".firefighter_settings FROM PUBLIC;
INSERT INTO :"admin_schema".firefighter_settings (role, setting, value) VALUES
  (:'ff_ro', 'statement_timeout', '5min'),
  (:'ff_ro', 'idle_in_transaction_session_timeout', '2min'),
  (:'ff_rw', 'statement_timeout', '5min'),
  (:'ff_rw', 'lock_timeout', '5s'),
  (:'ff_rw', 'idle_in_transaction_session_timeout', '2min')
ON CONFLICT (role, setting) DO UPDATE SET value = EXCLUDED.value
  WHERE firefighter_settings.value IS DISTINCT FROM EXCLUDED.value;
DELETE FROM :"admin_schema".firefighter_settings
WHERE (role, setting) NOT IN (
  (:'ff_ro', 'statement_timeout'), (:'ff_ro', 'idle_in_transaction_session_timeout'),
  (:'ff_rw', 'statement_timeout'), (:'ff_rw', 'lock_timeout'),
  (:'ff_rw', 'idle_in_transaction_session_timeout'));

-- Internal (no EXECUTE for the broker): puts the role's settings back to exactly the model's:
-- no role-wide settings, none in other databases, the model's in this one. Changes nothing
-- when they already match.
CREATE OR REPLACE FUNCTION :"admin_schema".reset_firefighter_settings(p_role name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
AS $fn$
DECLARE
  v_oid oid := (SELECT r.oid FROM pg_roles r WHERE r.rolname = p_role);
  v_db name;
  v_expected text[];
  v_actual text[];
  s record;
BEGIN
  IF v_oid IS NULL OR NOT EXISTS (SELECT 1 FROM firefighter_roles f WHERE f.role = p_role) THEN
    RAISE EXCEPTION 'role % is not allowed for firefighter password rotation', p_role;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_db_role_setting WHERE setrole = v_oid AND setdatabase = 0) THEN
    EXECUTE format('ALTER ROLE %I RESET ALL', p_role);
  END IF;
  FOR v_db IN
    SELECT d.datname FROM pg_db_role_setting x JOIN pg_database d ON d.oid = x.setdatabase
    WHERE x.setrole = v_oid AND d.datname <> current_database()
  LOOP
    EXECUTE format('ALTER ROLE %I IN DATABASE %I RESET ALL', p_role, v_db);
  END LOOP;
  SELECT coalesce(array_agg(f.setting || '=' || f.value ORDER BY f.setting || '=' || f.value), '{}')
    INTO v_expected
  FROM firefighter_settings f WHERE f.role = p_role;
  SELECT coalesce(array_agg(c ORDER BY c), '{}') INTO v_actual
  FROM pg_db_role_setting x JOIN pg_database d ON d.oid = x.setdatabase, unnest(x.setconfig) c
  WHERE x.setrole = v_oid AND d.datname = current_database();
  IF v_actual IS DISTINCT FROM v_expected THEN
    EXECUTE format('ALTER ROLE %I IN DATABASE %I RESET ALL', p_role, current_database());
    FOR s IN SELECT f.setting, f.value FROM firefighter_settings f WHERE f.role = p_role
             ORDER BY f.setting LOOP
      EXECUTE format('ALTER ROLE %I IN DATABASE %I SET %I = %L',
                     p_role, current_database(), s.setting, s.value);
    END LOOP;
  END IF;
END;
$fn$;

-- Internal (no EXECUTE for the broker): the one check of a password or verifier the broker
-- sends, shared by issue_firefighter_password and the per-person logins (56_person_logins.sql).
-- A SCRAM-SHA-256 verifier must have exactly the shape PostgreSQL and the bot produce (4096
-- iterations, 16-byte salt, 32-byte keys, canonical base64), checked as text before anything
-- hashes (I11-2, I11-3); an md5 hash is refused; a plaintext has 32 to 256 characters.
CREATE OR REPLACE FUNCTION :"admin_schema".check_firefighter_password(p_password text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
AS $fn$
BEGIN
  IF p_password IS NULL THEN
    RAISE EXCEPTION 'temporary password must be at least 32 characters';
  ELSIF left(p_password, 14) = 'SCRAM-SHA-256$' THEN
    IF length(p_password) > 200 OR p_password !~ '^SCRAM-SHA-256\$[0-9]+:' THEN
      RAISE EXCEPTION 'malformed SCRAM-SHA-256 verifier';
    END IF;
    IF substring(p_password FROM '^SCRAM-SHA-256\$([0-9]+):') <> '4096' THEN
      RAISE EXCEPTION 'SCRAM-SHA-256 verifier must use 4096 iterations';
    END IF;
    IF p_password !~ ('^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{21}[AQgw]=='
                      '\$[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=:[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$') THEN
      RAISE EXCEPTION 'malformed SCRAM-SHA-256 verifier';
    END IF;
  ELSIF p_password ~ '^md5[0-9a-f]{32}$' THEN
    RAISE EXCEPTION 'md5 password hashes are not accepted';
  ELSIF length(p_password) < 32 THEN
    RAISE EXCEPTION 'temporary password must be at least 32 characters';
  ELSIF length(p_password) > 256 THEN
    RAISE EXCEPTION 'temporary password must be at most 256 characters';
  END IF;
END;
$fn$;

-- Internal: the one place a firefighter password is set. p_password is either a SCRAM-SHA-256
-- verifier in exactly the shape PostgreSQL and the bot produce (4096 iterations, 16-byte salt,
-- 32-byte keys, canonical base64; checked before anything hashes: the server hashes the role
-- name with the verifier's iteration count on ALTER ROLE) or a plaintext of 32 to 256
-- characters, stored as SCRAM with 4096 iterations. VALID UNTIL is p_valid_until rounded up to
-- the second and capped at 2 hours from now; it reaches ALTER ROLE as an ISO text with an
-- explicit +00 offset, formatted and parsed under the pinned settings.
CREATE OR REPLACE FUNCTION :"admin_schema".issue_firefighter_password(
  p_role name, p_password text, p_valid_until timestamptz,
  p_incident text, p_requester text, p_approvers text[], p_ends_at timestamptz)
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
  v_now timestamptz := clock_timestamp();
  v_expires_at timestamptz;
BEGIN
  IF p_role IS NULL OR NOT EXISTS (SELECT 1 FROM firefighter_roles f WHERE f.role = p_role) THEN
    RAISE EXCEPTION 'role % is not allowed for firefighter password rotation', p_role;
  END IF;

  -- R1: the audit fields are the caller's text; a row holds at most 200 characters of each and
  -- 50 approvers (the bot sends ids of at most 64). Cardinality first: no unnest of a huge array.
  IF length(p_incident) > 200 OR length(p_requester) > 200 OR cardinality(p_approvers) > 50 THEN
    RAISE EXCEPTION 'audit fields too long: at most 200 characters each and 50 approvers';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(p_approvers) a WHERE length(a) > 200) THEN
    RAISE EXCEPTION 'audit fields too long: at most 200 characters each and 50 approvers';
  END IF;

  PERFORM check_firefighter_password(p_password);

  IF p_valid_until IS NULL OR p_valid_until <= v_now
     OR p_valid_until > v_now + interval '2 hours 1 minute' THEN
    RAISE EXCEPTION 'temporary password validity must end within 2 hours from now';
  END IF;
  v_expires_at := date_trunc('second', p_valid_until);
  IF v_expires_at < p_valid_until THEN
    v_expires_at := v_expires_at + interval '1 second';
  END IF;
  v_expires_at := least(v_expires_at, v_now + interval '2 hours');

  -- A plaintext is hashed by the server: with 4096 iterations, whatever the caller set.
  IF current_setting('server_version_num')::int >= 160000 THEN
    PERFORM set_config('scram_iterations', '4096', true);
  END IF;

  -- R1: a takeover issues while the previous holder is connected; its open transaction on its
  -- own role rows (ALTER ROLE CURRENT_USER ...) is waited for at most lock_timeout, then the
  -- role's sessions that hold a transaction id are ended (the takeover ends them anyway) and
  -- the issue is tried once more.
  FOR v_try IN 1 .. 2 LOOP
    BEGIN
      -- I11-5: the next holder starts with the model's settings.
      PERFORM reset_firefighter_settings(p_role);

      -- G8: a failing ALTER ROLE would carry the statement, and so the secret, into the error
      -- CONTEXT and the server log. Re-raise without it.
      BEGIN
        EXECUTE format('ALTER ROLE %I PASSWORD %L VALID UNTIL %L', p_role, p_password,
                       to_char(v_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00');
      EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'could not set the password of role %: %', p_role, SQLERRM
          USING ERRCODE = SQLSTATE;
      END;
      EXIT;
    EXCEPTION WHEN lock_not_available THEN
      IF v_try = 2 THEN
        RAISE;
      END IF;
      PERFORM pg_terminate_backend(a.pid, 5000) FROM pg_stat_activity a
      WHERE a.usename = p_role AND a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid();
    END;
  END LOOP;

  INSERT INTO firefighter_audit (event, role, incident, requester, approvers, expires_at, ends_at)
  VALUES ('issue', p_role, p_incident, p_requester, p_approvers, v_expires_at,
          least(coalesce(p_ends_at, v_expires_at), v_expires_at));

  RETURN v_expires_at;
END;
$fn$;

-- What the bot calls (I11-6: minute precision): VALID UNTIL is the grant's planned end
-- p_valid_until (rounded up to the second, at most 2 hours from now), also recorded as the
-- audit row's ends_at.
CREATE OR REPLACE FUNCTION :"admin_schema".set_firefighter_password(
  p_role name, p_password text, p_valid_until timestamptz,
  p_incident text, p_requester text, p_approvers text[])
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
BEGIN
  RETURN issue_firefighter_password(p_role, p_password, p_valid_until, p_incident, p_requester,
                                    p_approvers, p_valid_until);
END;
$fn$;

-- The earlier bot's call (whole hours plus the planned end): VALID UNTIL is the planned end
-- when one is given (capped at p_hours), else p_hours from now.
CREATE OR REPLACE FUNCTION :"admin_schema".set_firefighter_password(
  p_role name, p_password text, p_hours integer,
  p_incident text, p_requester text, p_approvers text[], p_ends_at timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
DECLARE
  v_cap timestamptz;
BEGIN
  IF p_role IS NULL OR NOT EXISTS (SELECT 1 FROM firefighter_roles f WHERE f.role = p_role) THEN
    RAISE EXCEPTION 'role % is not allowed for firefighter password rotation', p_role;
  END IF;
  IF p_hours IS NULL OR p_hours < 1 OR p_hours > 2 THEN
    RAISE EXCEPTION 'temporary password validity must be between 1 and 2 hours';
  END IF;
  v_cap := clock_timestamp() + p_hours * interval '1 hour';
  RETURN issue_firefighter_password(
    p_role, p_password,
    CASE WHEN p_ends_at > clock_timestamp() THEN least(p_ends_at, v_cap) ELSE v_cap END,
    p_incident, p_requester, p_approvers, p_ends_at);
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
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
BEGIN
  RETURN set_firefighter_password(p_role, p_password, p_hours, p_incident, p_requester,
                                  p_approvers, NULL::timestamptz);
END;
$fn$;

-- The design's exact signature, kept for DBAs and Lambda-style callers (whole hours).
CREATE OR REPLACE FUNCTION :"admin_schema".set_firefighter_password(
  p_role name, p_password text, p_hours integer DEFAULT 2)
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET password_encryption = 'scram-sha-256'
AS $fn$
BEGIN
  RETURN set_firefighter_password(p_role, p_password, p_hours, NULL::text, NULL::text, NULL::text[]);
END;
$fn$;

-- EXECUTE: nobody by default (functions are executable by PUBLIC on creation), the broker on
-- exactly these.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA :"admin_schema" FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  :"admin_schema".set_firefighter_password(name, text, integer),
  :"admin_schema".set_firefighter_password(name, text, integer, text, text, text[]),
  :"admin_schema".set_firefighter_password(name, text, integer, text, text, text[], timestamptz),
  :"admin_schema".set_firefighter_password(name, text, timestamptz, text, text, text[]),
  :"admin_schema".expire_firefighter_password(name),
  :"admin_schema".expire_firefighter_password(name, text, text),
  :"admin_schema".terminate_firefighter_sessions(name),
  :"admin_schema".terminate_firefighter_sessions(name, text, text),
  :"admin_schema".firefighter_sessions(),
  :"admin_schema".firefighter_audit_recent(integer)
TO :"broker";

RESET ROLE;
