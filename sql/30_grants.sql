-- pgroles 30_grants.sql: privileges on objects that already exist (design section 6).
-- Run connected to the application database as the bootstrap DBA; grants are made as the owner.
-- Variables: owner app ff_ro ff_rw schema.

SET ROLE :"owner";

GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA :"schema" TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA :"schema" TO :"app";
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA :"schema" FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA :"schema" TO :"app";

GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"ff_ro";
GRANT SELECT ON ALL SEQUENCES IN SCHEMA :"schema" TO :"ff_ro";

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA :"schema" TO :"ff_rw";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA :"schema" TO :"ff_rw";

RESET ROLE;
