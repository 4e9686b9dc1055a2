-- pgroles verify: open sessions of the firefighter roles, through the broker's SECURITY DEFINER
-- function (pg_stat_activity hides other roles' sessions from a non-superuser).
-- {admin_schema} is replaced by the quoted admin schema name before the query is sent.
SELECT s.pid, s.role::text AS role, s.client_addr, s.backend_start, s.state
FROM {admin_schema}.firefighter_sessions() s
