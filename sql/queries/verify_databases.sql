-- pgroles verify: the model's roles that may CONNECT to, or create TEMP objects in, a database
-- other than the connected (application) one, e.g. through PUBLIC's default CONNECT and TEMP on
-- `postgres`. Databases nobody can connect to (datallowconn false: template0) are left out.
-- $1 = the model's role names. PUBLIC's and the role's own ACL entries say where it comes from
-- (exploded only for the pairs found, usually none).
WITH r AS (
  -- By name, without scanning pg_roles; a role that does not exist is left out.
  SELECT m.name AS rolname, pg_catalog.to_regrole(pg_catalog.quote_ident(m.name))::oid AS oid
  FROM pg_catalog.unnest($1::text[]) AS m(name)
), access AS (
  SELECT d.oid AS db_oid, d.datname, d.datdba, d.datacl, r.oid AS role_oid, r.rolname,
         pg_catalog.has_database_privilege(r.oid, d.oid, 'CONNECT') AS can_connect,
         pg_catalog.has_database_privilege(r.oid, d.oid, 'TEMPORARY') AS can_temp
  FROM pg_catalog.pg_database d
  CROSS JOIN r
  WHERE r.oid IS NOT NULL
    AND d.datallowconn
    AND d.datname <> pg_catalog.current_database()
)
SELECT a.datname::text AS database,
       a.rolname::text AS role,
       a.can_connect,
       a.can_temp,
       ARRAY(SELECT DISTINCT e.privilege_type::text
             FROM pg_catalog.aclexplode(coalesce(a.datacl, pg_catalog.acldefault('d', a.datdba))) e
             WHERE e.grantee = 0) AS public_privs,
       ARRAY(SELECT DISTINCT e.privilege_type::text
             FROM pg_catalog.aclexplode(coalesce(a.datacl, pg_catalog.acldefault('d', a.datdba))) e
             WHERE e.grantee = a.role_oid AND e.privilege_type IN ('CONNECT', 'TEMPORARY')) AS own_privs,
       a.datdba = a.role_oid AS owns
FROM access a
WHERE a.can_connect OR a.can_temp
ORDER BY 1, 2
