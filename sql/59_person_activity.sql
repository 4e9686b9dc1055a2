-- pgroles 59_person_activity.sql: what one per-person firefighter login did in this database
-- (issue 15, "Activity"), read from pg_stat_statements for the expiry note in the incident's
-- thread. Run after 56_person_logins.sql, connected to the application database as the
-- bootstrap DBA. First (as the bootstrap DBA) admin gets pg_read_all_stats where the bootstrap
-- DBA may grant it; then everything is created as, and owned by, admin; EXECUTE for the broker.
-- Variables: admin broker admin_schema.
--
-- Against a hostile broker (sql/README.md, issues 11 and 15): the function answers only for a
-- login recorded in person_logins (by its recorded oid: a role made later under the same name
-- is not it), reads the pg_stat_statements view of the extension's own schema (from
-- pg_extension, schema-qualified, and only if that view is a member of the extension), and
-- returns statement text only for plannable statements (SELECT, INSERT, UPDATE, DELETE, MERGE,
-- WITH, VALUES, TABLE) whose text has no quote, dollar quote or leftover comment, with comments
-- removed and every digit run outside $n and quoted identifiers masked: never a literal value.
-- Utility statements (ALTER ROLE ... PASSWORD, SET, DO, COPY, SELECT ... INTO) count as
-- 'other', their text withheld.
-- Work is bounded: top_n 0..20, at most 4000 characters of each statement examined, 300
-- returned. Settings pinned as in 50/55/56.

-- pg_read_all_stats lets admin (inside this function) see other users' statement text. The
-- bootstrap DBA grants it where it may (a superuser; 15: CREATEROLE; 16+: ADMIN OPTION on it,
-- as Aurora's master has); where it may not, a NOTICE says so and `pgroles verify` reports it
-- with the GRANT to run. Re-running changes nothing.
SET pgroles.admin = :'admin';
DO $stats$
DECLARE
  v_admin text := current_setting('pgroles.admin');
BEGIN
  IF pg_catalog.pg_has_role(v_admin, 'pg_read_all_stats', 'USAGE') THEN
    RETURN;
  END IF;
  BEGIN
    EXECUTE format('GRANT pg_read_all_stats TO %I', v_admin);
    RAISE NOTICE 'pgroles: granted pg_read_all_stats to %', v_admin;
  EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    RAISE NOTICE 'pgroles: not granted: pg_read_all_stats to % (%); activity summaries lack '
                 'statement text until it is (pgroles verify reports it)', v_admin, SQLERRM;
  END;
END
$stats$;

SET ROLE :"admin";

-- The activity of the recorded per-person login p_login (live or ended) in the current
-- database, as rows (section, kind, item, calls, rows, total_ms):
--   ('status', 'available' | 'partial' | 'not available', reason or extension version, ...)
--     always first; 'partial': admin lacks pg_read_all_stats, every statement counts as
--     'other' and no text is returned.
--   ('kind', select|insert|update|delete|merge|other, NULL, calls, rows, total_ms)
--   ('table', the kind, the table as written (unquoted parts lower-cased), calls, rows, ms):
--     targets of INSERT INTO, UPDATE, DELETE FROM, MERGE INTO (data-modifying CTEs too).
--   ('top', the kind, normalized text, calls, rows, total_ms): the p_top_n (0..20) most called
--     plannable statements (then by time), text as described at the top of this file.
-- Top-level statements only (pg_stat_statements.track = 'all' adds nested ones).
CREATE OR REPLACE FUNCTION :"admin_schema".person_activity(p_login name, p_top_n integer)
RETURNS TABLE (section text, kind text, item text, calls bigint, rows bigint,
               total_ms double precision)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, :"admin_schema", pg_temp
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
SET lock_timeout = '2s'
AS $fn$
DECLARE
  v_oid oid;
  v_ext oid;
  v_schema name;
  v_version text;
  v_view oid;
  v_calls bigint[];
  v_rows bigint[];
  v_ms double precision[];
  v_text text[];
  v_status text := 'available';
BEGIN
  IF p_top_n IS NULL OR p_top_n < 0 OR p_top_n > 20 THEN
    RAISE EXCEPTION 'top_n must be 0 to 20';
  END IF;
  SELECT p.role_oid INTO v_oid FROM person_logins p WHERE p.login = p_login;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'role % is not a per-person firefighter login', p_login;
  END IF;

  SELECT e.oid, n.nspname, e.extversion INTO v_ext, v_schema, v_version
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  WHERE e.extname = 'pg_stat_statements';
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'status', 'not available',
      'pg_stat_statements is not installed in this database', NULL::bigint, NULL::bigint,
      NULL::double precision;
    RETURN;
  END IF;
  -- The extension's own view, with the columns of 1.9+ (PostgreSQL 14+), nothing else.
  v_view := to_regclass(format('%I.%I', v_schema, 'pg_stat_statements'));
  IF v_view IS NULL
     OR NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = v_view
                      AND d.refclassid = 'pg_extension'::regclass AND d.refobjid = v_ext
                      AND d.deptype = 'e')
     OR (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = v_view AND NOT a.attisdropped
           AND a.attname IN ('userid', 'dbid', 'toplevel', 'calls', 'rows', 'total_exec_time',
                             'query')) <> 7
  THEN
    RETURN QUERY SELECT 'status', 'not available',
      format('pg_stat_statements %s has no usable view (ALTER EXTENSION pg_stat_statements '
             'UPDATE)', v_version), NULL::bigint, NULL::bigint, NULL::double precision;
    RETURN;
  END IF;
  IF NOT has_schema_privilege(v_schema, 'USAGE') OR NOT has_table_privilege(v_view, 'SELECT') THEN
    RETURN QUERY SELECT 'status', 'not available',
      format('admin may not read %I.pg_stat_statements (GRANT USAGE ON SCHEMA %I TO %I)',
             v_schema, v_schema, current_user), NULL::bigint, NULL::bigint,
      NULL::double precision;
    RETURN;
  END IF;
  IF NOT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') THEN
    v_status := 'partial';
  END IF;

  BEGIN
    EXECUTE format('SELECT array_agg(s.calls), array_agg(s.rows), '
                   'array_agg(s.total_exec_time), array_agg(left(s.query, 4000)) '
                   'FROM %I.%I s WHERE s.userid = $1 AND s.toplevel AND s.dbid = '
                   '(SELECT d.oid FROM pg_catalog.pg_database d '
                   ' WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())',
                   v_schema, 'pg_stat_statements')
      INTO v_calls, v_rows, v_ms, v_text USING v_oid;
  EXCEPTION WHEN object_not_in_prerequisite_state OR feature_not_supported THEN
    -- Installed but not loaded (shared_preload_libraries).
    RETURN QUERY SELECT 'status', 'not available',
      'pg_stat_statements is installed but not loaded (shared_preload_libraries)', NULL::bigint,
      NULL::bigint, NULL::double precision;
    RETURN;
  END;

  RETURN QUERY SELECT 'status', v_status,
    CASE WHEN v_status = 'partial'
      THEN 'admin lacks pg_read_all_stats: kinds, tables and text hidden'
      ELSE 'pg_stat_statements ' || v_version END,
    NULL::bigint, NULL::bigint, NULL::double precision;

  RETURN QUERY
  WITH raw AS (
    SELECT r.id, r.calls AS c, r.rows AS n, r.ms,
           -- Well-formed comments out; a leftover comment marker (nesting) is not trusted.
           regexp_replace(regexp_replace(coalesce(r.q, ''),
             '/\*[^*]*\*+([^/*][^*]*\*+)*/', ' ', 'g'), '--[^\n\r]*', ' ', 'g') AS t
    FROM unnest(v_calls, v_rows, v_ms, v_text) WITH ORDINALITY AS r(calls, rows, ms, q, id)
  ), led AS (
    SELECT raw.*,
           raw.t ~ '/\*|\*/' AS tricky,
           lower(substring(raw.t FROM '^[\s(]*([[:alpha:]]+)')) AS w
    FROM raw
  ), writes AS (
    -- Write targets; `DO UPDATE`, `FOR [NO KEY] UPDATE` and MERGE's `THEN UPDATE` are not.
    SELECT led.id, m.a[2] AS kw, m.a[4] AS target
    FROM led,
         regexp_matches(led.t,
           '(\S+\s+)?\m(insert\s+into|update|delete\s+from|merge\s+into)\s+(only\s+)?'
           '((?:"(?:[^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*)'
           '(?:\s*\.\s*(?:"(?:[^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*))?)', 'gi') AS m(a)
    WHERE NOT led.tricky AND led.w IN ('insert', 'update', 'delete', 'merge', 'with')
      AND NOT (lower(m.a[2]) = 'update'
               AND lower(btrim(coalesce(m.a[1], ''))) IN ('do', 'for', 'key', 'then'))
  ), classified AS (
    SELECT led.id, led.c, led.n, led.ms, led.t,
           CASE
             WHEN v_status = 'partial' OR led.tricky THEN 'other'
             WHEN led.w IN ('insert', 'update', 'delete', 'merge') THEN led.w
             WHEN led.w = 'with' AND EXISTS (SELECT 1 FROM writes x WHERE x.id = led.id) THEN
               (SELECT lower(substring(x.kw FROM '^[[:alpha:]]+')) FROM writes x
                WHERE x.id = led.id ORDER BY 1 LIMIT 1)
             WHEN led.w IN ('select', 'with', 'values', 'table') AND led.t !~* '\minto\M'
               THEN 'select'
             ELSE 'other'
           END AS k
    FROM led
  ), shown AS (
    -- Text only where no literal can hide: no quote, no dollar quote; digits outside $n masked.
    SELECT c.*,
           CASE WHEN c.k <> 'other' AND c.t !~ '''|\$([[:alpha:]_][[:alnum:]_]*)?\$' THEN
             left(btrim(regexp_replace(
               (SELECT string_agg(CASE WHEN x.p[1] ~ '^".*"$' THEN x.p[1]
                                  ELSE regexp_replace(x.p[1],
                                         '(^|[^$[:alnum:]_])[0-9][[:alnum:]_.]*', '\1?', 'g')
                                  END, '' ORDER BY x.i)
                FROM regexp_matches(c.t, '("(?:[^"]|"")*"|[^"]+|")', 'g')
                     WITH ORDINALITY AS x(p, i)),
               '[[:space:][:cntrl:]]+', ' ', 'g')), 300)
           END AS txt
    FROM classified c
  )
  SELECT 'kind', s.k, NULL::text, sum(s.c)::bigint, sum(s.n)::bigint, sum(s.ms)
  FROM shown s GROUP BY s.k
  UNION ALL
  SELECT 'table', string_agg(DISTINCT c.k, ',' ORDER BY c.k),
         CASE WHEN w.target ~ '"' THEN regexp_replace(w.target, '\s*\.\s*', '.')
              ELSE lower(regexp_replace(w.target, '\s', '', 'g')) END,
         sum(c.c)::bigint, sum(c.n)::bigint, sum(c.ms)
  FROM classified c JOIN (SELECT DISTINCT x.id, x.target FROM writes x) w ON w.id = c.id
  WHERE c.k IN ('insert', 'update', 'delete', 'merge')
  GROUP BY 3
  UNION ALL
  SELECT 'top', t.k, t.txt, t.c, t.n, t.ms FROM (
    SELECT s.k, s.txt, sum(s.c)::bigint AS c, sum(s.n)::bigint AS n, sum(s.ms) AS ms
    FROM shown s WHERE s.txt IS NOT NULL GROUP BY s.k, s.txt
    ORDER BY 3 DESC, 5 DESC, 2 LIMIT p_top_n) t;
END;
$fn$;

REVOKE ALL ON FUNCTION :"admin_schema".person_activity(name, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION :"admin_schema".person_activity(name, integer) TO :"broker";

RESET ROLE;
