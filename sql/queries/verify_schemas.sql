-- pgroles verify: owner and exploded ACL of the given schemas. $1 = schema names.
SELECT n.nspname::text AS name,
       pg_catalog.pg_get_userbyid(n.nspowner)::text AS owner,
       a.grantees, a.privs, a.grantable
FROM pg_catalog.pg_namespace n
LEFT JOIN LATERAL (
  SELECT array_agg(CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee)::text END) AS grantees,
         array_agg(e.privilege_type) AS privs,
         array_agg(e.is_grantable) AS grantable
  FROM pg_catalog.aclexplode(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) e
) a ON true
WHERE n.nspname = ANY ($1::text[])
