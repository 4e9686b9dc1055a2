-- pgroles: the ACL of every database, as (key, value) rows; `pgroles apply --harden-cluster`
-- diffs two snapshots to print what changed.
SELECT 'database ' || datname AS key,
       'owner ' || pg_catalog.pg_get_userbyid(datdba) || ' acl ' || coalesce(datacl::text, 'default') AS value
FROM pg_catalog.pg_database
