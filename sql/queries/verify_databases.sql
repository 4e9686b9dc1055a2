-- pgroles verify: the model's roles that may CONNECT to, or create TEMP objects in, a database
-- other than the connected (application) one, e.g. through PUBLIC's default CONNECT and TEMP on
-- `postgres`. Databases nobody can connect to (datallowconn false: template0) are left out.
-- $1 = the model's role names. PUBLIC's and the role's own ACL entries say where it comes from.
SELECT d.datname::text AS database,
       r.rolname::text AS role,
       pg_catalog.has_database_privilege(r.oid, d.oid, 'CONNECT') AS can_connect,
       pg_catalog.has_database_privilege(r.oid, d.oid, 'TEMPORARY') AS can_temp,
       pg_catalog.array_remove(pg_catalog.array_agg(DISTINCT e.privilege_type::text)
         FILTER (WHERE e.grantee = 0), NULL) AS public_privs,
       pg_catalog.array_remove(pg_catalog.array_agg(DISTINCT e.privilege_type::text)
         FILTER (WHERE e.grantee = r.oid AND e.privilege_type IN ('CONNECT', 'TEMPORARY')), NULL)
         AS own_privs,
       d.datdba = r.oid AS owns
FROM pg_catalog.pg_database d
CROSS JOIN pg_catalog.pg_roles r
LEFT JOIN LATERAL pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) e
  ON true
WHERE d.datallowconn
  AND d.datname <> pg_catalog.current_database()
  AND r.rolname = ANY ($1::text[])
  AND (pg_catalog.has_database_privilege(r.oid, d.oid, 'CONNECT')
       OR pg_catalog.has_database_privilege(r.oid, d.oid, 'TEMPORARY'))
GROUP BY d.datname, r.rolname, r.oid, d.oid, d.datdba
ORDER BY 1, 2
