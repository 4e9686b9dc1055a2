-- pgroles verify: names of the relations of one drifted group (see verify_object_groups.sql).
-- For a sequence, linked_table names the table that owns it (identity or serial column): such a
-- sequence follows its table's owner (ALTER TABLE ... OWNER moves it; ALTER SEQUENCE is refused).
-- $1 = schema OID, $2 = relkind, $3 = owner OID, $4 = ACL as text (NULL: default ACL),
-- $5 = how many names at most.
SELECT c.relname::text AS name,
       (SELECT t.relname::text
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
        WHERE c.relkind = 'S' AND d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
        LIMIT 1) AS linked_table
FROM pg_catalog.pg_class c
WHERE c.relnamespace = $1::oid AND c.relkind = $2::text::"char" AND c.relowner = $3::oid
  AND c.relacl::text IS NOT DISTINCT FROM $4::text
ORDER BY c.relname
LIMIT $5::bigint
