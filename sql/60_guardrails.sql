-- pgroles 60_guardrails.sql: per-database session settings (design section 10; fix G4).
-- Run as the bootstrap DBA (any database); settings are changed as admin, which holds ADMIN
-- OPTION on these roles (G2).
-- Variables: admin migrator app ff_ro ff_rw broker database schema.

SET ROLE :"admin";

ALTER ROLE :"ff_ro" IN DATABASE :"database" SET statement_timeout = '5min';
ALTER ROLE :"ff_ro" IN DATABASE :"database" SET idle_in_transaction_session_timeout = '2min';

ALTER ROLE :"ff_rw" IN DATABASE :"database" SET statement_timeout = '5min';
ALTER ROLE :"ff_rw" IN DATABASE :"database" SET lock_timeout = '5s';
ALTER ROLE :"ff_rw" IN DATABASE :"database" SET idle_in_transaction_session_timeout = '2min';

-- G4: an identifier, not a string ('"x"' would store the quotes literally).
ALTER ROLE :"app" IN DATABASE :"database" SET search_path = :"schema", public;
ALTER ROLE :"migrator" IN DATABASE :"database" SET search_path = :"schema", public;

RESET ROLE;

-- Issue 8: the broker sends SCRAM verifiers as bind parameters, and its functions run dynamic
-- ALTER ROLE statements: none of its statements, their parameters or the context of its errors
-- may reach the server log, whatever the server's log_statement. Role-wide (every database).
-- All but log_parameter_max_length_on_error are superuser-only (that one is user-settable: the
-- broker could change it back, and verify reports it): the bootstrap DBA sets them itself (a
-- superuser, or on 15+ a login granted SET ON PARAMETER), not as admin. A refusal is a WARNING
-- naming the parameter (pgroles apply reports it); on Aurora set log_parameter_max_length = 0
-- and log_parameter_max_length_on_error = 0 in the DB cluster parameter group instead
-- (docs/runbook.md). The list is model::settings::BROKER_LOG_SETTINGS; verify checks the values
-- the broker actually gets.
SET pgroles.broker = :'broker';
DO $logging$
DECLARE
  v_setting text[];
BEGIN
  FOREACH v_setting SLICE 1 IN ARRAY ARRAY[
    ['log_statement', 'none'],
    ['log_min_duration_statement', '-1'],
    ['log_min_duration_sample', '-1'],
    ['log_transaction_sample_rate', '0'],
    ['log_parameter_max_length', '0'],
    ['log_parameter_max_length_on_error', '0'],
    ['log_error_verbosity', 'terse']]
  LOOP
    BEGIN
      EXECUTE format('ALTER ROLE %I SET %I = %L', current_setting('pgroles.broker'),
                     v_setting[1], v_setting[2]);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE WARNING 'pgroles: refused: ALTER ROLE % SET % = %: %', current_setting('pgroles.broker'),
        v_setting[1], v_setting[2], SQLERRM;
    END;
  END LOOP;
END
$logging$;
