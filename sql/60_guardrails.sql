-- pgroles 60_guardrails.sql: per-database session settings (design section 10; fix G4).
-- Run as the bootstrap DBA (any database); settings are changed as admin, which holds ADMIN
-- OPTION on these roles (G2).
-- Variables: admin migrator app ff_ro ff_rw database schema.

SET ROLE :"admin";

ALTER ROLE :"ff_ro" IN DATABASE :"database" SET statement_timeout = '5min';
ALTER ROLE :"ff_ro" IN DATABASE :"database" SET idle_in_transaction_session_timeout = '2min';

ALTER ROLE :"ff_rw" IN DATABASE :"database" SET statement_timeout = '5min';
ALTER ROLE :"ff_rw" IN DATABASE :"database" SET lock_timeout = '5s';
ALTER ROLE :"ff_rw" IN DATABASE :"database" SET idle_in_transaction_session_timeout = '2min';

-- G4: an identifier, not a string ('"x"' would store the quotes literally).
ALTER ROLE :"app" IN DATABASE :"database" SET search_path = :"schema", public;
ALTER ROLE :"migrator" IN DATABASE :"database" SET search_path = :"schema", public;

RESET ROLE;
