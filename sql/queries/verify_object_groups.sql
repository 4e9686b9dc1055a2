-- pgroles verify: tables, views, sequences and routines of the application schema, grouped by
-- (kind, owner, ACL) with a count; only the ACL of each group is exploded, and names are fetched
-- later for drifted groups only. $1 = application schema name, looked up once in pg_namespace;
-- objects are found by that OID, never by qualified name (the broker has no USAGE on the schema).
-- $2 / $3 = the relation / routine OIDs to group (those verify_object_scan.sql returned), or
-- NULL for every object of the schema. class is 'rel' (pg_class) or 'proc' (pg_proc).
WITH g AS (
  SELECT 'rel'::text AS class, c.relkind::text AS kind, c.relowner AS owner, c.relacl AS acl,
         count(*) AS n
  FROM pg_catalog.pg_class c
  WHERE c.relnamespace = (SELECT ns.oid FROM pg_catalog.pg_namespace ns WHERE ns.nspname = $1::text)
    AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    AND ($2::oid[] IS NULL OR c.oid = ANY ($2::oid[]))
  GROUP BY c.relkind, c.relowner, c.relacl
  UNION ALL
  SELECT 'proc'::text, p.prokind::text, p.proowner, p.proacl, count(*)
  FROM pg_catalog.pg_proc p
  WHERE p.pronamespace = (SELECT ns.oid FROM pg_catalog.pg_namespace ns WHERE ns.nspname = $1::text)
    AND ($3::oid[] IS NULL OR p.oid = ANY ($3::oid[]))
  GROUP BY p.prokind, p.proowner, p.proacl
)
SELECT g.class, g.kind, g.owner, pg_catalog.pg_get_userbyid(g.owner)::text AS owner_name, g.n,
       g.acl::text AS acl_text, a.grantees, a.privs, a.grantable
FROM g
LEFT JOIN LATERAL (
  SELECT array_agg(CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee)::text END) AS grantees,
         array_agg(e.privilege_type) AS privs,
         array_agg(e.is_grantable) AS grantable
  FROM pg_catalog.aclexplode(coalesce(g.acl, pg_catalog.acldefault(
         CASE WHEN g.class = 'proc' THEN 'f'::"char" WHEN g.kind = 'S' THEN 's'::"char" ELSE 'r'::"char" END,
         g.owner))) e
) a ON true
