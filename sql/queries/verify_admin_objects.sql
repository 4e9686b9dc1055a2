-- pgroles verify: every relation and routine of the admin schema (a few), one row each, with
-- owner, SECURITY DEFINER, proconfig and exploded ACL. $1 = admin schema name (looked up in
-- pg_namespace). The objects are found through pg_depend's index on the referenced object
-- (every relation and routine records a dependency on its schema, moved by SET SCHEMA): a scan
-- of pg_class by relnamespace would cost as much as checking the whole application schema.
WITH ns AS (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = $1::text),
member AS (
  SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
  WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
    AND d.refobjid = (SELECT ns.oid FROM ns) AND d.refobjsubid = 0
),
o AS (
  SELECT 'rel'::text AS class, c.relkind::text AS kind, c.relname::text AS name, ''::text AS args,
         c.relowner AS owner, false AS secdef, NULL::text[] AS config, c.relacl AS acl
  FROM pg_catalog.pg_class c
  WHERE c.oid IN (SELECT m.objid FROM member m WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass)
    AND c.relnamespace = (SELECT ns.oid FROM ns)
    AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  UNION ALL
  SELECT 'proc', p.prokind::text, p.proname::text, pg_catalog.oidvectortypes(p.proargtypes),
         p.proowner, p.prosecdef, p.proconfig, p.proacl
  FROM pg_catalog.pg_proc p
  WHERE p.oid IN (SELECT m.objid FROM member m WHERE m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass)
    AND p.pronamespace = (SELECT ns.oid FROM ns)
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
