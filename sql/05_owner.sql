-- pgroles 05_owner.sql: the NOLOGIN owner role of one database (design sections 3 and 12;
-- fixes G3 and G7 on 16+). Run as the bootstrap DBA on a maintenance database, after 00_roles.
-- Admin creates the owner and grants itself plain membership (G3: WITH ADMIN OPTION back to the
-- grantor fails on 16+); admin can then SET ROLE to the owner to create the database.
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
