-- pgroles verify: the ACL PostgreSQL gives a new table, sequence and routine that the owner role
-- creates in the application schema. As get_user_default_acl() computes it: the owner's global
-- default privileges (or acldefault() without them) merged with its default privileges for the
-- schema, sorted by grantee and grantor. Objects carrying exactly this ACL are only counted by
-- verify_object_scan.sql; each hint is then checked against the model like any group of objects.
-- $1 = application schema name, $2 = owner role name. Rows have the shape of
-- verify_object_groups.sql's, n = 0; kind is pg_default_acl's objtype ('r' tables and table-like
-- relations, 'S' sequences, 'f' routines). No rows when the owner role is missing.
WITH ns AS (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = $1::text),
own AS (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = $2::text),
hint AS (
  SELECT t.objtype,
         (SELECT pg_catalog.array_agg(u.item ORDER BY k.grantee, k.grantor)
          FROM (SELECT pg_catalog.unnest(coalesce(
                         (SELECT d.defaclacl FROM pg_catalog.pg_default_acl d
                          WHERE d.defaclrole = own.oid AND d.defaclnamespace = 0
                            AND d.defaclobjtype = t.objtype),
                         pg_catalog.acldefault(t.deftype, own.oid)))
                UNION ALL
                SELECT pg_catalog.unnest(d.defaclacl) FROM pg_catalog.pg_default_acl d
                WHERE d.defaclrole = own.oid AND d.defaclnamespace = (SELECT ns.oid FROM ns)
                  AND d.defaclobjtype = t.objtype) u(item)
          LEFT JOIN LATERAL (SELECT e.grantee, e.grantor
                             FROM pg_catalog.aclexplode(ARRAY[u.item]) e LIMIT 1) k ON true) AS acl
  FROM (VALUES ('r'::"char", 'r'::"char"), ('S', 's'), ('f', 'f')) t(objtype, deftype)
  CROSS JOIN own
)
SELECT CASE WHEN h.objtype = 'f' THEN 'proc' ELSE 'rel' END AS class, h.objtype::text AS kind,
       own.oid AS owner, pg_catalog.pg_get_userbyid(own.oid)::text AS owner_name, 0::bigint AS n,
       h.acl::text AS acl_text, a.grantees, a.privs, a.grantable
FROM hint h
CROSS JOIN own
LEFT JOIN LATERAL (
  SELECT array_agg(CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee)::text END) AS grantees,
         array_agg(e.privilege_type) AS privs,
         array_agg(e.is_grantable) AS grantable
  FROM pg_catalog.aclexplode(h.acl) e
) a ON true
WHERE h.acl IS NOT NULL
ORDER BY h.objtype
