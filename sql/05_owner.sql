-- pgroles 05_owner.sql: the NOLOGIN owner role of one database (design sections 3 and 12;
-- fixes G3 and G7 on 16+). Run as the bootstrap DBA on a maintenance database, after 00_roles.
-- Admin creates the owner and grants itself plain membership (G3: WITH ADMIN OPTION back to the
-- grantor fails on 16+); admin can then SET ROLE to the owner to create the database. ADMIN
-- OPTION comes from the creator grant on 16+ and from the bootstrap DBA otherwise (I11-9).
-- Variables: admin owner migrator.

SET pgroles.admin = :'admin';
SET pgroles.owner = :'owner';
SET pgroles.migrator = :'migrator';
SET ROLE :"admin";

DO $owner$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = current_setting('pgroles.owner')) THEN
    EXECUTE format('CREATE ROLE %I NOLOGIN INHERIT', current_setting('pgroles.owner'));
    RAISE NOTICE 'pgroles: created role %', current_setting('pgroles.owner');
  END IF;
  EXECUTE format('ALTER ROLE %I NOLOGIN NOCREATEDB NOCREATEROLE',
                 current_setting('pgroles.owner'));
  EXECUTE format('GRANT %I TO %I', current_setting('pgroles.owner'), current_setting('pgroles.admin'));
  -- G7: the migrator may SET ROLE to the owner but does not inherit its privileges.
  IF current_setting('server_version_num')::int >= 160000 THEN
    EXECUTE format('GRANT %I TO %I WITH INHERIT FALSE, SET TRUE',
                   current_setting('pgroles.owner'), current_setting('pgroles.migrator'));
  ELSE
    EXECUTE format('GRANT %I TO %I', current_setting('pgroles.owner'), current_setting('pgroles.migrator'));
  END IF;
END
$owner$;

RESET ROLE;

-- I11-9: admin holds the owner WITH ADMIN OPTION (design section 12). On 16+ creating the owner
-- gave admin that already (the automatic creator grant; G3: admin cannot grant it to itself);
-- on 15, or for an owner admin did not create, the bootstrap DBA grants it. A refusal is a
-- WARNING that names it (pgroles apply turns it into a failure).
DO $owner_admin$
DECLARE
  v_owner text := current_setting('pgroles.owner');
  v_admin text := current_setting('pgroles.admin');
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
             WHERE m.roleid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = v_owner)
               AND m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = v_admin)
               AND m.admin_option) THEN
    RETURN;
  END IF;
  BEGIN
    EXECUTE format('GRANT %I TO %I WITH ADMIN OPTION', v_owner, v_admin);
    RAISE NOTICE 'pgroles: granted % to % WITH ADMIN OPTION', v_owner, v_admin;
  EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    RAISE WARNING 'pgroles: refused: GRANT % TO % WITH ADMIN OPTION: %', v_owner, v_admin, SQLERRM;
  END;
END
$owner_admin$;
