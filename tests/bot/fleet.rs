//! One bot, three databases (issue 16): `[targets.*]` on PostgreSQL 15, 16 and 17 with the same
//! role model. A request names its target (or is refused with the list), the DM's psql line
//! points at that target's server, grants live on two targets at once with their own Redis
//! keys, status shows each target, `revoke` without a target finds the one holding the level,
//! a target's own approval count applies, and `/pgroles verify all` answers with one line per
//! target.

use crate::helpers::*;
use crate::support::model::Model;
use crate::support::{pg, random_alnum};
use pgroles::config::TargetConfig;
use pgroles::model::Level;
use std::sync::Arc;

/// The target name of a PostgreSQL major version.
fn name(version: u32) -> String {
    format!("orders{version}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bot_serves_three_targets_and_grants_live_on_two_at_once() {
    let versions: Vec<u32> =
        [15, 16, 17].into_iter().filter(|v| pg::version(*v).is_some()).collect();
    assert_eq!(versions.len(), 3, "PGROLES_TEST_PG has PostgreSQL 15, 16 and 17");
    // The other two clusters' broker passwords, known before the bot is built.
    let passwords: Vec<String> = (0..2).map(|_| random_alnum(32)).collect();
    let (others, pws) = (versions[1..].to_vec(), passwords.clone());
    let tweak: Tweak = Arc::new(move |cfg, _deps| {
        let first = TargetConfig { database: cfg.database.clone(), ..TargetConfig::default() };
        cfg.targets.insert(name(15), first);
        for (v, pw) in others.iter().zip(&pws) {
            let server = pg::version(*v).expect("cluster");
            let database = server.static_database_config(pw);
            // orders17 asks for one approval less than the shared default for rw.
            let approvals_rw = (*v == 17).then_some(1);
            cfg.targets
                .insert(name(*v), TargetConfig { database, approvals_rw, ..Default::default() });
        }
    });
    let bot = spawn_bot(Options { tweak: Some(tweak), ..Options::default() }).await;
    let mut models = Vec::new();
    for (v, pw) in versions[1..].iter().zip(&passwords) {
        let server = pg::version(*v).expect("cluster");
        let model = Model {
            pg: server.clone(),
            prefix: bot.model.prefix.clone(),
            names: bot.model.names.clone(),
            bootstrap_url: server.url.clone(),
        };
        model.apply().await;
        model.migrate_orders().await;
        let su = pg::superuser(&server, "postgres").await;
        let broker = pg::ident(&model.names.broker());
        su.batch_execute(&format!("ALTER ROLE {broker} PASSWORD '{pw}'")).await.unwrap();
        models.push(model);
    }
    let db = bot.model.names.database.clone();

    let which = bot.command(REQUESTER, "ro INC-7").await;
    assert!(which.body.contains("Which database? Name one of: orders15, orders16, orders17"));
    let typo = bot.command(REQUESTER, "ro ordres15 INC-7").await;
    assert!(typo.body.contains("no database called `ordres15`"), "{}", typo.body);

    // ro on PostgreSQL 15.
    let ack = bot.command(REQUESTER, "ro orders15 INC-7").await;
    assert!(ack.body.contains("[orders15] Asking the approvers"), "{}", ack.body);
    let ro_request = bot.request_message(0).await;
    assert!(text_of(&ro_request).contains("access on `orders15` for INC-7"));
    bot.react(APPROVER1, APPROVE, &ro_request.ts).await;
    let server15 = pg::version(15).unwrap();
    let dm = bot.ephemeral(REQUESTER, &format!("port={}", server15.port)).await;
    let ro_password = password_in(&dm);
    let ro = pg::login(&server15, &db, &bot.model.names.firefighter(Level::Ro), &ro_password)
        .await
        .expect("ro logs in on PostgreSQL 15");

    // rw on PostgreSQL 17: its own approval count (1) applies.
    let ack = bot.command(APPROVER2, "rw orders17 INC-8 30m").await;
    assert!(ack.body.contains("[orders17]"), "{}", ack.body);
    let rw_request = bot.request_message(1).await;
    assert!(text_of(&rw_request).contains("Needs 1 of 1 approvals"), "{}", text_of(&rw_request));
    bot.react(APPROVER1, APPROVE, &rw_request.ts).await;
    let server17 = pg::version(17).unwrap();
    let dm = bot.ephemeral(APPROVER2, &format!("port={}", server17.port)).await;
    let rw_password = password_in(&dm);
    let rw = pg::login(&server17, &db, &bot.model.names.firefighter(Level::Rw), &rw_password)
        .await
        .expect("rw logs in on PostgreSQL 17");
    rw.batch_execute(&format!(
        "UPDATE {}.orders SET status = 'fixed' WHERE order_no = 'ORD-1001'",
        pg::ident(&bot.model.names.schema)
    ))
    .await
    .expect("rw writes on 17");
    // Each password is its target's only.
    assert!(pg::login(&server17, &db, &bot.model.names.firefighter(Level::Ro), &ro_password)
        .await
        .is_err());
    let server16 = pg::version(16).unwrap();
    assert!(pg::login(&server16, &db, &bot.model.names.firefighter(Level::Rw), &rw_password)
        .await
        .is_err());

    // Both live at once, each under its target's Redis keys.
    let dump = bot.redis_dump().await;
    assert!(dump.contains("target:orders15:grant:ro"), "{dump}");
    assert!(dump.contains("target:orders17:grant:rw"), "{dump}");
    bot.command(APPROVER1, "status").await;
    let status = bot.ephemeral(APPROVER1, "*orders17*").await.text.unwrap_or_default();
    let at = |needle: &str| status.find(needle).unwrap_or_else(|| panic!("{needle}: {status}"));
    assert!(at("*orders15*") < at("ro: held by") && at("ro: held by") < at("*orders16*"));
    assert!(at("*orders17*") < at("rw: held by"), "{status}");

    // verify all: one message, one line per target.
    bot.slash("/pgroles", APPROVER1, "verify all").await;
    let report = bot.ephemeral(APPROVER1, "pgroles verify all (3 targets)").await;
    let text = report.text.unwrap_or_default();
    for v in [15, 16, 17] {
        assert!(text.contains(&format!("`orders{v}`: ")), "{text}");
    }
    assert!(!text.contains(":x:"), "every target verified: {text}");
    bot.slash("/pgroles", APPROVER1, "verify orders16").await;
    bot.ephemeral(APPROVER1, "pgroles verify on `orders16`").await;

    // revoke without a target: the one target where the caller holds ro.
    bot.command(REQUESTER, "revoke ro").await;
    bot.ephemeral(REQUESTER, "Revoked ro").await;
    let gone = ro.query_one("SELECT 1", &[]).await;
    assert!(gone.is_err(), "the ro session on 15 ended");
    assert!(pg::login(&server15, &db, &bot.model.names.firefighter(Level::Ro), &ro_password)
        .await
        .is_err());
    rw.query_one("SELECT 1", &[]).await.expect("rw on 17 untouched");
    bot.command(APPROVER2, "revoke rw orders17").await;
    bot.ephemeral(APPROVER2, "Revoked rw").await;
    assert!(rw.query_one("SELECT 1", &[]).await.is_err(), "the rw session on 17 ended");

    for model in models {
        model.drop().await;
    }
    bot.model.drop().await;
}
