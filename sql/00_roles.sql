-- pgroles 00_roles.sql: cluster roles of the model (design section 3, fixes G2, G7 on 15, G10).
-- Run as the bootstrap DBA (the Aurora master: NOSUPERUSER CREATEROLE CREATEDB, member of
-- rds_superuser; or a superuser on plain PostgreSQL), connected to a maintenance database.
-- Idempotent: re-running creates nothing new, resets no password, raises no error.
-- Variables: admin owner migrator app ff_ro ff_rw broker mode iam_roles broker_connlimit.

SET pgroles.admin = :'admin';
SET pgroles.migrator = :'migrator';
SET pgroles.app = :'app';
SET pgroles.ff_ro = :'ff_ro';
SET pgroles.ff_rw = :'ff_rw';
SET pgroles.broker = :'broker';
SET pgroles.mode = :'mode';
SET pgroles.iam_roles = :'iam_roles';
SET pgroles.broker_connlimit = :'broker_connlimit';

-- Create each login role once, PASSWORD NULL (no password login until one is issued), then
-- converge the attributes the model fixes. Passwords and VALID UNTIL are never touched here.
DO $roles$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      (current_setting('pgroles.admin'),    'CREATEDB CREATEROLE', -1, ''),
      (current_setting('pgroles.migrator'), 'NOCREATEDB NOCREATEROLE', -1, ''),
      (current_setting('pgroles.app'),      'NOCREATEDB NOCREATEROLE', 100, ''),
      (current_setting('pgroles.ff_ro'),    'NOCREATEDB NOCREATEROLE', 5, ' VALID UNTIL ''1970-01-01 00:00:00+00'''),
      (current_setting('pgroles.ff_rw'),    'NOCREATEDB NOCREATEROLE', 3, ' VALID UNTIL ''1970-01-01 00:00:00+00'''),
      (current_setting('pgroles.broker'),   'NOCREATEDB NOCREATEROLE',
       current_setting('pgroles.broker_connlimit')::int, '')
    ) AS t(name, attrs, connlimit, created)
  LOOP
    -- A firefighter role starts expired, as the broker leaves it (the reconciler reads a NULL
    -- VALID UNTIL as an unbounded password and expires it: I11-7).
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      EXECUTE format('CREATE ROLE %I LOGIN INHERIT PASSWORD NULL%s', r.name, r.created);
      RAISE NOTICE 'pgroles: created role %', r.name;
    END IF;
    EXECUTE format('ALTER ROLE %I LOGIN %s CONNECTION LIMIT %s',
                   r.name, r.attrs, r.connlimit);
  END LOOP;
END
$roles$;

-- G7 on PostgreSQL 15: the migrator must not inherit the owner role, or DDL without SET ROLE
-- succeeds and creates objects owned by the migrator. 16+ uses WITH INHERIT FALSE on the
-- membership instead (05_owner.sql), so the role attribute stays INHERIT there.
DO $g7$
BEGIN
  IF current_setting('server_version_num')::int < 160000 THEN
    EXECUTE format('ALTER ROLE %I NOINHERIT', current_setting('pgroles.migrator'));
  END IF;
END
$g7$;

-- G2: on 16+ CREATEROLE alone no longer lets admin alter roles it did not create. Admin gets
-- ADMIN OPTION (and, through it, an inheriting membership, which G9's session termination needs).
DO $g2$
DECLARE
  v_role text;
BEGIN
  FOREACH v_role IN ARRAY ARRAY[current_setting('pgroles.ff_ro'), current_setting('pgroles.ff_rw'),
                                current_setting('pgroles.app'), current_setting('pgroles.migrator'),
                                current_setting('pgroles.broker')]
  LOOP
    EXECUTE format('GRANT %I TO %I WITH ADMIN OPTION', v_role, current_setting('pgroles.admin'));
  END LOOP;
END
$g2$;

-- The bootstrap DBA runs the later files under SET ROLE admin (G1), so it needs membership in
-- admin with SET (on 16+ creating admin gave it ADMIN OPTION only). A superuser needs nothing.
DO $boot$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
     AND NOT pg_catalog.pg_has_role(current_user, current_setting('pgroles.admin'),
               CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) THEN
    EXECUTE format('GRANT %I TO %I', current_setting('pgroles.admin'), current_user);
  END IF;
END
$boot$;

-- G10: the rds_* roles exist only on Aurora. Grant them where they exist; report a refused
-- grant as a WARNING that names it (pgroles apply turns it into a failure), never skip silently.
DO $aurora$
DECLARE
  v_mode text := current_setting('pgroles.mode');
  v_aurora boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'rds_password');
  v_role text;
  v_grants text[][] := ARRAY[]::text[][];
BEGIN
  IF v_mode = 'aurora' AND NOT v_aurora THEN
    RAISE EXCEPTION 'pgroles: mode is aurora but role rds_password does not exist';
  END IF;
  IF v_mode = 'vanilla' OR NOT v_aurora THEN
    RAISE NOTICE 'pgroles: vanilla PostgreSQL: no rds_* grants';
    RETURN;
  END IF;
  v_grants := v_grants || ARRAY[['rds_password', current_setting('pgroles.admin')]];
  FOREACH v_role IN ARRAY coalesce(string_to_array(nullif(current_setting('pgroles.iam_roles'), ''), ','), '{}')
  LOOP
    v_grants := v_grants || ARRAY[['rds_iam', btrim(v_role)]];
  END LOOP;
  FOR i IN 1 .. coalesce(array_length(v_grants, 1), 0) LOOP
    IF pg_catalog.pg_has_role(v_grants[i][2], v_grants[i][1], 'MEMBER') THEN
      CONTINUE;
    END IF;
    BEGIN
      EXECUTE format('GRANT %I TO %I', v_grants[i][1], v_grants[i][2]);
      RAISE NOTICE 'pgroles: granted % to %', v_grants[i][1], v_grants[i][2];
    EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
      RAISE WARNING 'pgroles: refused: GRANT % TO %: %', v_grants[i][1], v_grants[i][2], SQLERRM;
    END;
  END LOOP;
END
$aurora$;
