-- pgroles verify: names and argument types of the routines of one drifted group.
-- $1 = schema OID, $2 = prokind, $3 = owner OID, $4 = ACL as text (NULL: default ACL),
-- $5 = how many names at most.
SELECT p.proname::text AS name, pg_catalog.oidvectortypes(p.proargtypes) AS args
FROM pg_catalog.pg_proc p
WHERE p.pronamespace = $1::oid AND p.prokind = $2::text::"char" AND p.proowner = $3::oid
  AND p.proacl::text IS NOT DISTINCT FROM $4::text
ORDER BY p.proname, 2
LIMIT $5::bigint
