-- pgroles verify: every relation and routine of the admin schema (a few), one row each, with
-- owner, SECURITY DEFINER, proconfig and exploded ACL. $1 = admin schema name (looked up
-- in pg_namespace; objects are then found by that OID).
WITH o AS (
  SELECT 'rel'::text AS class, c.relkind::text AS kind, c.relname::text AS name, ''::text AS args,
         c.relowner AS owner, false AS secdef, NULL::text[] AS config, c.relacl AS acl
  FROM pg_catalog.pg_class c
  WHERE c.relnamespace = (SELECT ns.oid FROM pg_catalog.pg_namespace ns WHERE ns.nspname = $1::text)
    AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  UNION ALL
  SELECT 'proc', p.prokind::text, p.proname::text, pg_catalog.oidvectortypes(p.proargtypes),
         p.proowner, p.prosecdef, p.proconfig, p.proacl
  FROM pg_catalog.pg_proc p
  WHERE p.pronamespace = (SELECT ns.oid FROM pg_catalog.pg_namespace ns WHERE ns.nspname = $1::text)
)
SELECT o.class, o.kind, o.name, o.args, pg_catalog.pg_get_userbyid(o.owner)::text AS owner_name,
       o.secdef, o.config, a.grantees, a.privs, a.grantable
FROM o
LEFT JOIN LATERAL (
  SELECT array_agg(CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee)::text END) AS grantees,
         array_agg(e.privilege_type) AS privs,
         array_agg(e.is_grantable) AS grantable
  FROM pg_catalog.aclexplode(coalesce(o.acl, pg_catalog.acldefault(
         CASE WHEN o.class = 'proc' THEN 'f'::"char" WHEN o.kind = 'S' THEN 's'::"char" ELSE 'r'::"char" END,
         o.owner))) e
) a ON true
ORDER BY o.class, o.name, o.args
