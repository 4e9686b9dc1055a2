-- pgroles 10_database.sql: the application database and its ACL (design section 4; fix G1).
-- Run as the bootstrap DBA on a maintenance database; never inside a transaction block.
-- G1: the master cannot create a database owned by the owner role, and its REVOKE/GRANT on a
-- database it does not own only WARN: so creation runs as admin, and the ACL as the owner.
-- Variables: admin owner migrator app ff_ro ff_rw broker database.

SET ROLE :"admin";

SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING %L CONNECTION LIMIT 200',
              :'database', :'owner', 'UTF8')
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = :'database')
\gexec

SET ROLE :"owner";

REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"admin", :"migrator", :"app", :"ff_ro", :"ff_rw", :"broker";

RESET ROLE;
