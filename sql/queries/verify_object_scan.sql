-- pgroles verify: one pass over the application schema's relations (and, when $6, routines)
-- that counts them and returns only the OIDs of those NOT owned by the owner role with exactly
-- the hint ACL of their kind (verify_object_hints.sql). A clean schema of 50,000 tables returns
-- two rows and empty arrays; drifted objects are grouped later by verify_object_groups.sql.
-- $1 = application schema name, $2 = owner role name, $3/$4/$5 = the table/sequence/routine
-- hint as aclitem[] text (NULL: no hint, every object is returned), $6 = also scan pg_proc.
-- {range} is empty, or a block range of pg_class (`AND c.ctid >= '(b,0)'::tid ...`) when the
-- scan is split over several connections sharing one snapshot.
SELECT 'rel'::text AS class, count(*) AS total, count(*) FILTER (WHERE c.relkind = 'S') AS sequences,
       coalesce(pg_catalog.array_agg(c.oid) FILTER (WHERE (
         c.relowner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = $2::text)
         AND c.relacl = CASE WHEN c.relkind = 'S' THEN (SELECT $4::text::pg_catalog.aclitem[])
                             ELSE (SELECT $3::text::pg_catalog.aclitem[]) END) IS NOT TRUE),
         '{}') AS drifted
FROM pg_catalog.pg_class c
WHERE c.relnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = $1::text)
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') {range}
UNION ALL
SELECT 'proc', count(*), 0,
       coalesce(pg_catalog.array_agg(p.oid) FILTER (WHERE (
         p.proowner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = $2::text)
         AND p.proacl = (SELECT $5::text::pg_catalog.aclitem[])) IS NOT TRUE), '{}')
FROM pg_catalog.pg_proc p
WHERE $6::boolean
  AND p.pronamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = $1::text)
