-- pgroles 40_default_privileges.sql: privileges of objects created later by the owner
-- (design section 7; fix G5). Run connected to the application database as the bootstrap DBA.
-- Objects get these only when created by the owner role: migrations must SET ROLE first (G7).
-- Variables: owner app ff_ro ff_rw schema.

SET ROLE :"owner";

ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
  GRANT SELECT, INSERT, UPDATE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
  GRANT USAGE, SELECT ON SEQUENCES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
  GRANT EXECUTE ON FUNCTIONS TO :"app";

ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
  GRANT SELECT ON TABLES TO :"ff_ro";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
  GRANT SELECT ON SEQUENCES TO :"ff_ro";

ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"ff_rw";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
  GRANT USAGE, SELECT ON SEQUENCES TO :"ff_rw";

-- G5: per-schema default privileges only add to the global ones, so the design's
-- IN SCHEMA revoke did nothing. The global form removes PUBLIC's EXECUTE on new functions.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner"
  REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

RESET ROLE;
