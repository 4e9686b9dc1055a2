//! Issue 17: the firefighter history (`db_admin.firefighter_history`, `sql/58_history.sql`) on
//! each PostgreSQL in `PGROLES_TEST_PG`, as the broker over SCRAM TCP: a hostile broker gets
//! bounded work and nothing but its rows whatever bounds and session it sends; the bot's own
//! call (`Broker::history`) shows who asked, who approved and how each login ended.

#![recursion_limit = "256"]

mod support;

use pgroles::access::history::{self, HistoryFormat, HistoryQuery};
use pgroles::broker::Broker;
use pgroles::config::AwsConfig;
use support::model::{db_message, Model};
use support::pg;
use tokio_postgres::Client;

const HISTORY: &str =
    "SELECT id, at, event, incident FROM db_admin.firefighter_history($1, $2, $3, $4)";

/// `(id, at, event, incident)` of every row the call returns, or the server's message.
async fn call(
    broker: &Client,
    days: Option<i32>,
    incident: Option<&str>,
    user: Option<&str>,
    rows: Option<i32>,
) -> Result<Vec<(i64, chrono::DateTime<chrono::Utc>, String, Option<String>)>, String> {
    broker
        .query(HISTORY, &[&days, &incident, &user, &rows])
        .await
        .map(|rs| rs.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
        .map_err(|e| db_message(&e))
}

/// A per-person login for `user`/`incident`, created as the broker; its name.
async fn create(broker: &Client, user: &str, grant: &str, incident: &str) -> String {
    let verifier = postgres_protocol::password::scram_sha_256(b"history-test-password-123456");
    broker
        .query_one(
            "SELECT login::text FROM db_admin.create_person_login('ro', $1, $2, $3, 30, $4, \
             ARRAY['U0BEN22', 'U0CAT33'])",
            &[&user, &grant, &verifier, &incident],
        )
        .await
        .unwrap_or_else(|e| panic!("create: {}", db_message(&e)))
        .get(0)
}

/// Audit rows placed `hours` in the past (absolute hours), as the superuser.
async fn old_row(su: &Client, incident: &str, hours_ago: f64) {
    su.execute(
        "INSERT INTO db_admin.firefighter_audit (event, role, incident, requester, at) \
         VALUES ('issue', 'old_role', $1, 'U0OLD01', clock_timestamp() - make_interval(secs => $2))",
        &[&incident, &(hours_ago * 3600.0)],
    )
    .await
    .expect("insert an old audit row");
}

#[tokio::test]
async fn a_hostile_broker_gets_bounded_work_and_nothing_else() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i17hb");
        m.apply().await;
        let su = m.superuser().await;
        let broker = m.login_as(&m.names.broker()).await;
        su.batch_execute(
            "INSERT INTO db_admin.firefighter_audit (event, role, incident, requester) \
             SELECT 'issue', 'bulk', 'INC-BULK', 'U0BULK1' FROM generate_series(1, 1200)",
        )
        .await
        .expect("bulk rows");
        old_row(&su, "INC-300D", 300.0 * 24.0).await;
        old_row(&su, "INC-400D", 400.0 * 24.0).await;

        let max = call(&broker, Some(i32::MAX), None, None, Some(i32::MAX)).await.unwrap();
        assert_eq!(max.len(), 1000, "PG{v}: rows capped at 1000");
        let all = call(&broker, Some(i32::MAX), Some("INC-300D"), None, None).await.unwrap();
        assert_eq!(all.len(), 1, "PG{v}: 366 days reach back 300 days");
        let too_old = call(&broker, Some(i32::MAX), Some("INC-400D"), None, None).await.unwrap();
        assert!(too_old.is_empty(), "PG{v}: but not 400");
        let least = call(&broker, Some(i32::MIN), None, None, Some(i32::MIN)).await.unwrap();
        assert_eq!(least.len(), 1, "PG{v}: at least one day, one row");
        let defaults = call(&broker, None, None, None, None).await.unwrap();
        assert_eq!(defaults.len(), 100, "PG{v}: NULL bounds: 7 days, 100 rows");

        let huge = "I".repeat(1 << 20);
        for (incident, user) in [(Some(huge.as_str()), None), (None, Some(huge.as_str()))] {
            let err = call(&broker, Some(7), incident, user, Some(10)).await.unwrap_err();
            assert_eq!(err, "history filters: at most 200 characters each", "PG{v}");
        }
        for table in ["firefighter_audit", "person_logins"] {
            let err = broker
                .query(&format!("SELECT * FROM db_admin.{table}"), &[])
                .await
                .map(|_| ())
                .map_err(|e| db_message(&e))
                .unwrap_err();
            assert!(err.starts_with("permission denied"), "PG{v}: {table}: {err}");
        }
        // Nobody else may call it: the app login is refused.
        let app = m.login_as(&m.names.app()).await;
        let err = call(&app, None, None, None, None).await.unwrap_err();
        assert!(err.starts_with("permission denied"), "PG{v}: app: {err}");
        drop((su, broker, app));
        m.drop().await;
    }
}

#[tokio::test]
async fn the_history_is_the_same_under_a_hostile_session() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i17hs");
        m.apply().await;
        let su = m.superuser().await;
        let broker = m.login_as(&m.names.broker()).await;
        create(&broker, "U0ANNA1", "0badcafe", "INC-17").await;
        // 40 days of 24 hours, give or take 30 minutes: a window computed in a session time
        // zone would move by the hour a daylight-saving change in those 40 days adds or takes.
        old_row(&su, "INC-IN", 40.0 * 24.0 - 0.5).await;
        old_row(&su, "INC-OUT", 40.0 * 24.0 + 0.5).await;
        let plain = call(&broker, Some(40), None, None, Some(50)).await.unwrap();
        // Worse than the model allows: the broker may create temporary objects, and fills a
        // temporary `firefighter_audit` and `person_logins` with forged rows.
        su.batch_execute(&format!(
            "GRANT TEMPORARY ON DATABASE {} TO {}",
            pg::ident(&m.names.database),
            pg::ident(&m.names.broker())
        ))
        .await
        .expect("grant TEMPORARY");
        let broker = m.login_as(&m.names.broker()).await;
        broker
            .batch_execute(
                "CREATE TEMP TABLE firefighter_audit AS SELECT 0::bigint AS id, \
                 clock_timestamp() AS at, 'issue'::text AS event, 'forged'::name AS role, \
                 'INC-FORGED'::text AS incident, 'U0EVIL1'::text AS requester, \
                 NULL::text[] AS approvers, NULL::timestamptz AS expires_at, \
                 NULL::integer AS sessions_ended, 'x'::name AS actor, \
                 NULL::timestamptz AS ends_at; \
                 CREATE TEMP TABLE person_logins AS SELECT 'forged'::name AS login, \
                 'rw'::text AS level, 'U0EVIL1'::text AS slack_user, 'dropped'::text AS end_outcome",
            )
            .await
            .unwrap_or_else(|e| panic!("PG{v}: temp tables: {}", db_message(&e)));
        let incidents: Vec<_> = plain.iter().filter_map(|r| r.3.clone()).collect();
        assert_eq!(incidents, ["INC-17", "INC-IN"], "PG{v}: newest first, the window in UTC");

        for (style, zone) in [
            ("SQL, DMY", "Pacific/Kiritimati"),
            ("German", "America/St_Johns"),
            ("Postgres, MDY", "CST-167"),
        ] {
            broker
                .batch_execute(&format!(
                    "SET DateStyle = '{style}'; SET TimeZone = '{zone}'; \
                     SET IntervalStyle = 'iso_8601'; SET search_path = pg_temp, public"
                ))
                .await
                .unwrap_or_else(|e| panic!("PG{v}: hostile session: {}", db_message(&e)));
            let hostile = call(&broker, Some(40), None, None, Some(50)).await.unwrap();
            assert_eq!(hostile, plain, "PG{v}: {style} / {zone}");
            let forged = call(&broker, Some(40), Some("INC-FORGED"), None, None).await.unwrap();
            assert!(forged.is_empty(), "PG{v}: the temporary table never stands in");
        }
        drop((su, broker));
        m.drop().await;
    }
}

#[tokio::test]
async fn the_bot_reads_who_asked_who_approved_and_how_it_ended() {
    for server in pg::versions() {
        let v = server.version;
        let m = Model::new(&server, "i17hr");
        m.apply().await;
        let sql_broker = m.login_as(&m.names.broker()).await;
        let anna = create(&sql_broker, "U0ANNA1", "0badcafe", "INC-17").await;
        create(&sql_broker, "U0DAN44", "1badcafe", "=HYPERLINK(\"http://x\")").await;
        sql_broker
            .execute("SELECT * FROM db_admin.end_person_login($1, 'U0BEN22')", &[&anna])
            .await
            .expect("end");

        let pw = m.set_password(&m.names.broker()).await;
        let broker = Broker::from_config(&m.broker_db_config(&pw), &AwsConfig::default(), &m.names)
            .await
            .expect("broker");
        let all = HistoryQuery::new(Some(1), None, None, Some(50)).unwrap();
        let rows = broker.history(&all).await.expect("history");
        let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events, ["expire", "terminate", "issue", "issue"], "PG{v}: newest first");
        let issued = rows.iter().rfind(|r| r.role == anna).expect("Anna's issue row");
        assert_eq!(issued.person.as_deref(), Some("U0ANNA1"), "PG{v}");
        assert_eq!(issued.level.as_deref(), Some("ro"), "PG{v}");
        assert_eq!(issued.approvers, ["U0BEN22", "U0CAT33"], "PG{v}");
        assert!(issued.ends_at.is_some(), "PG{v}");
        let ended = &rows[1];
        assert_eq!(ended.requester.as_deref(), Some("U0BEN22"), "PG{v}: who ended it");
        assert_eq!(ended.person.as_deref(), Some("U0ANNA1"), "PG{v}: whose it was");
        assert_eq!(ended.login_outcome.as_deref(), Some("dropped"), "PG{v}");
        assert_eq!(ended.actor, m.names.broker(), "PG{v}");

        let annas = HistoryQuery::new(Some(1), None, Some("U0ANNA1".into()), None).unwrap();
        assert_eq!(broker.history(&annas).await.unwrap().len(), 3, "PG{v}: by person");
        let inc = HistoryQuery::new(Some(1), Some("INC-17".into()), None, None).unwrap();
        assert_eq!(broker.history(&inc).await.unwrap().len(), 3, "PG{v}: by incident");

        let csv = history::render(&rows, HistoryFormat::Csv);
        assert!(csv.contains(",\"'=HYPERLINK(\"\"http://x\"\")\","), "PG{v}: guarded: {csv}");
        let text = history::render(&rows, HistoryFormat::Text);
        assert!(text.contains("approved by U0BEN22, U0CAT33"), "PG{v}: {text}");
        drop((sql_broker, broker));
        m.drop().await;
    }
}
