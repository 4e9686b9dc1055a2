-- pgroles verify: attributes of the model's roles. $1 = the model's role names.
-- VALID UNTIL: NULL = no expiry, valid_forever = 'infinity'; '-infinity' reads as 1970.
SELECT r.rolname::text AS name, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb,
       r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
       CASE WHEN r.rolvaliduntil = '-infinity'::timestamptz THEN '1970-01-01 00:00:00+00'::timestamptz
            WHEN pg_catalog.isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END AS valid_until,
       coalesce(r.rolvaliduntil = 'infinity'::timestamptz, false) AS valid_forever
FROM pg_catalog.pg_roles r
WHERE r.rolname = ANY ($1::text[])
