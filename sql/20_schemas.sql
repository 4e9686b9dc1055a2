-- pgroles 20_schemas.sql: application schema, public-schema hardening, and the admin schema
-- (design sections 5 and 9). Run connected to the application database as the bootstrap DBA.
-- Variables: admin owner app ff_ro ff_rw broker schema admin_schema.

SET ROLE :"owner";

CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"owner";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
GRANT USAGE ON SCHEMA :"schema" TO :"app", :"ff_ro", :"ff_rw";

-- public is owned by pg_database_owner (the owner role) on 15+.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE USAGE ON SCHEMA public FROM PUBLIC;

SET ROLE :"admin";

CREATE SCHEMA IF NOT EXISTS :"admin_schema" AUTHORIZATION :"admin";
REVOKE ALL ON SCHEMA :"admin_schema" FROM PUBLIC;
GRANT USAGE ON SCHEMA :"admin_schema" TO :"broker";

RESET ROLE;
