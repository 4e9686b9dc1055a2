//! Several holders of one level through Slack (`access.identity = "per_person"`): each gets a
//! login of their own in their DM, both log in at once, status lists both, a second request by a
//! holder is refused, revoke without a name is refused while two hold the level, and a revoke by
//! name or a holder's own revoke ends that person's login and sessions only.

use crate::helpers::*;
use crate::support::pg;
use pgroles::config::Identity;

struct Held {
    who: &'static str,
    login: String,
    password: String,
    client: tokio_postgres::Client,
}

/// The login named in the DM's psql line (`user=<login> `).
pub fn login_in(dm: &str) -> String {
    let rest = dm.split("user=").nth(1).unwrap_or_else(|| panic!("no user= in {dm}"));
    rest.split(' ').next().unwrap_or_default().to_owned()
}

async fn alive(c: &tokio_postgres::Client) -> bool {
    tokio::time::timeout(std::time::Duration::from_secs(5), c.query_one("SELECT 1", &[]))
        .await
        .is_ok_and(|r| r.is_ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_responders_hold_ro_at_once_and_each_revoke_ends_only_one() {
    let bot = spawn_bot(Options { identity: Identity::PerPerson, ..Options::default() }).await;
    let (server, db) = (bot.model.pg.clone(), bot.model.names.database.clone());
    let mut held = Vec::new();
    for (n, who) in [REQUESTER, OUTSIDER].into_iter().enumerate() {
        let ack = bot.command(who, "ro INC-7").await;
        assert!(ack.body.contains("Asking the approvers"), "{who}: {}", ack.body);
        let request = bot.request_message(n).await;
        bot.react(APPROVER1, APPROVE, &request.ts).await;
        let dm = bot.ephemeral(who, "Password: `").await;
        let login = login_in(&dm.text.clone().unwrap_or_default());
        let password = password_in(&dm);
        let client = pg::login(&server, &db, &login, &password).await.expect("own login");
        let me: String = client.query_one("SELECT session_user::text", &[]).await.unwrap().get(0);
        assert_eq!(me, login);
        held.push(Held { who, login, password, client });
    }
    assert_ne!(held[0].login, held[1].login, "one login each");

    bot.command(REQUESTER, "ro INC-7").await;
    bot.ephemeral(REQUESTER, "You already hold ro access for INC-7").await;

    bot.command(APPROVER1, "status").await;
    let status = bot.ephemeral(APPROVER1, "ro: held by").await.text.unwrap_or_default();
    for h in &held {
        assert!(status.contains(&format!("<@{}>", h.who)), "{status}");
        assert!(status.contains(&h.login), "status names the login: {status}");
    }

    bot.command(APPROVER1, "revoke ro").await;
    let which = bot.ephemeral(APPROVER1, "2 people hold ro").await.text.unwrap_or_default();
    assert!(which.contains(&format!("<@{OUTSIDER}>")), "{which}");
    assert!(alive(&held[0].client).await && alive(&held[1].client).await, "nobody revoked");

    bot.command(APPROVER1, &format!("revoke ro <@{OUTSIDER}>")).await;
    bot.ephemeral(APPROVER1, "Revoked ro").await;
    assert!(!alive(&held[1].client).await, "the outsider's session ended");
    assert!(pg::login(&server, &db, &held[1].login, &held[1].password).await.is_err());
    assert!(alive(&held[0].client).await, "the requester's access is untouched");

    bot.command(REQUESTER, "revoke ro").await;
    bot.ephemeral(REQUESTER, "Revoked ro").await;
    assert!(!alive(&held[0].client).await, "the requester's own revoke ended the session");
    let su = pg::superuser(&server, &db).await;
    let logins: Vec<&str> = held.iter().map(|h| h.login.as_str()).collect();
    let left: i64 = su
        .query_one("SELECT count(*) FROM pg_roles WHERE rolname = ANY($1)", &[&logins])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "both logins dropped");
    bot.model.drop().await;
}
