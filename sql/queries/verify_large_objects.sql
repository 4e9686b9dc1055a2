-- pgroles verify: large objects owned by the firefighter roles or the broker, counted per role
-- (R1: creating one needs no privilege, so even the read-only firefighter can store data that
-- outlives its grant). pg_largeobject_metadata is readable by every role. $1 = the role names.
SELECT r.rolname::text AS role, count(*)::int8 AS n
FROM pg_catalog.pg_largeobject_metadata l
JOIN pg_catalog.pg_roles r ON r.oid = l.lomowner
WHERE r.rolname = ANY ($1::text[])
GROUP BY r.rolname
ORDER BY r.rolname
