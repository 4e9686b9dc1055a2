-- pgroles verify: every membership in, or of, a model role. INHERIT and SET options exist on
-- PostgreSQL 16+ only (NULL on 15), read through to_jsonb so one query serves every version.
-- $1 = the model's role names.
SELECT g.rolname::text AS role,
       m.rolname::text AS member,
       gr.rolname::text AS grantor,
       coalesce(gr.rolsuper, false) AS grantor_is_superuser,
       (m.rolsuper OR m.rolcreaterole) AS member_is_bootstrap,
       g.rolsuper AS role_is_superuser,
       am.admin_option,
       (pg_catalog.to_jsonb(am) ->> 'inherit_option')::boolean AS inherit_option,
       (pg_catalog.to_jsonb(am) ->> 'set_option')::boolean AS set_option
FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
JOIN pg_catalog.pg_roles m ON m.oid = am.member
LEFT JOIN pg_catalog.pg_roles gr ON gr.oid = am.grantor
WHERE g.rolname = ANY ($1::text[]) OR m.rolname = ANY ($1::text[])
ORDER BY 1, 2, 3
