-- pgroles verify: default privileges of one role (the owner). defaclnamespace 0 = global.
-- $1 = the owner role's name. The stored ACL is exploded as is (no acldefault).
SELECT d.defaclnamespace AS namespace,
       CASE WHEN d.defaclnamespace = 0 THEN NULL
            ELSE (SELECT n.nspname::text FROM pg_catalog.pg_namespace n WHERE n.oid = d.defaclnamespace) END AS schema,
       d.defaclobjtype::text AS objtype,
       a.grantees, a.privs, a.grantable
FROM pg_catalog.pg_default_acl d
LEFT JOIN LATERAL (
  SELECT array_agg(CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee)::text END) AS grantees,
         array_agg(e.privilege_type) AS privs,
         array_agg(e.is_grantable) AS grantable
  FROM pg_catalog.aclexplode(d.defaclacl) e
) a ON true
WHERE d.defaclrole = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = $1::text)
