-- pgroles verify: what decides whether the broker's statements reach the server log with their
-- bind parameters (SCRAM verifiers). When verify runs as the broker these are its effective
-- session values; otherwise the check rebuilds them from the stored settings and uses `setting`
-- only when it comes from the server (source 'default', 'configuration file', ...).
-- $1 = the parameter names.
SELECT s.name::text AS name, s.setting, s.source
FROM pg_catalog.pg_settings s
WHERE s.name = ANY ($1::text[])
