-- pgroles 70_harden_cluster.sql (opt-in: `pgroles apply --harden-cluster`, or
-- `psql -v harden_cluster=1 -f apply.psql`): no role of the model may connect to, or create TEMP
-- objects in, any database but the application database (issue 10). PostgreSQL gives PUBLIC
-- CONNECT and TEMPORARY on every database it creates, `postgres` included.
-- Run as the bootstrap DBA on a maintenance database, after the model is applied.
--
-- For each other database some model role can reach (datallowconn; template0 is not), and only
-- those, so that a re-run changes nothing:
--   1. every LOGIN role outside the model that is not a superuser and can connect there today
--      keeps what it has, granted directly (the bootstrap DBA and other applications' logins are
--      not locked out), unless a model role inherits from it: that one is reported instead;
--   2. CONNECT and TEMPORARY are revoked from PUBLIC and from the model's roles.
-- Roles created later do not get PUBLIC's CONNECT there: grant it to them (docs/runbook.md).
-- A database the bootstrap DBA neither owns nor may grant on only WARNs (pgroles apply reports
-- it as refused). Variables: admin owner migrator app ff_ro ff_rw broker database.

SET pgroles.database = :'database';
SET pgroles.admin = :'admin';
SET pgroles.owner = :'owner';
SET pgroles.migrator = :'migrator';
SET pgroles.app = :'app';
SET pgroles.ff_ro = :'ff_ro';
SET pgroles.ff_rw = :'ff_rw';
SET pgroles.broker = :'broker';

DO $harden$
DECLARE
  v_model text[] := ARRAY[current_setting('pgroles.admin'), current_setting('pgroles.owner'),
                          current_setting('pgroles.migrator'), current_setting('pgroles.app'),
                          current_setting('pgroles.ff_ro'), current_setting('pgroles.ff_rw'),
                          current_setting('pgroles.broker')];
  v_db record;
  v_role record;
  v_privs text;
BEGIN
  FOR v_db IN
    SELECT d.oid, d.datname FROM pg_catalog.pg_database d
    WHERE d.datallowconn AND d.datname <> current_setting('pgroles.database')
      AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = ANY (v_model)
                  AND (pg_catalog.has_database_privilege(r.oid, d.oid, 'CONNECT')
                       OR pg_catalog.has_database_privilege(r.oid, d.oid, 'TEMPORARY')))
    ORDER BY d.datname
  LOOP
    FOR v_role IN
      SELECT r.rolname,
             pg_catalog.has_database_privilege(r.oid, v_db.oid, 'TEMPORARY') AS temp,
             EXISTS (SELECT 1 FROM unnest(v_model) m(name)
                     JOIN pg_catalog.pg_roles mr ON mr.rolname = m.name
                     WHERE pg_catalog.pg_has_role(mr.oid, r.oid, 'USAGE')) AS inherited_by_model
      FROM pg_catalog.pg_roles r
      WHERE r.rolcanlogin AND NOT r.rolsuper AND r.rolname <> ALL (v_model)
        AND pg_catalog.has_database_privilege(r.oid, v_db.oid, 'CONNECT')
      ORDER BY r.rolname
    LOOP
      IF v_role.inherited_by_model THEN
        RAISE WARNING 'pgroles: refused: not granting CONNECT ON DATABASE % to %: a role of the model inherits from it',
          v_db.datname, v_role.rolname;
        CONTINUE;
      END IF;
      v_privs := CASE WHEN v_role.temp THEN 'CONNECT, TEMPORARY' ELSE 'CONNECT' END;
      EXECUTE format('GRANT %s ON DATABASE %I TO %I', v_privs, v_db.datname, v_role.rolname);
      RAISE NOTICE 'pgroles: granted % on database % to %', v_privs, v_db.datname, v_role.rolname;
    END LOOP;
    EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', v_db.datname);
    FOR v_role IN SELECT unnest(v_model) AS rolname LOOP
      EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM %I', v_db.datname, v_role.rolname);
    END LOOP;
    RAISE NOTICE 'pgroles: revoked CONNECT, TEMPORARY on database % from PUBLIC and the model', v_db.datname;
  END LOOP;
END
$harden$;
