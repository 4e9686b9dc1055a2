//! `pgroles apply|verify|revoke` over a fleet (issue 16): `--all` applies the model to every
//! `[targets.<name>]` with each target's own bootstrap URL, `--target` picks one, a fleet without
//! either is refused with the list, and each target's broker password comes from
//! `PGROLES_TARGETS_<NAME>_PASSWORD`. Real binary, real PostgreSQL 15 and 16.
//!
//! Run with `eval "$(scripts/test-services | tail -1)" && cargo test --test fleet_cli`.

#[path = "support/mod.rs"]
mod support;

use support::model::Model;
use support::pg;

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn pgroles(config: &std::path::Path, args: &[&str], env: &[(String, String)]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgroles"))
        .arg("--config")
        .arg(config)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PGROLES_REDIS_KEY_PREFIX", support::redis::prefix("fleetcli"))
        .env("PGROLES_REDIS_URL", support::redis::url())
        .output()
        .expect("run pgroles");
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn apply_and_verify_all_targets_and_refuse_an_unnamed_one() {
    let (Some(a), Some(b)) = (pg::version(15), pg::version(16)) else {
        panic!("PGROLES_TEST_PG has PostgreSQL 15 and 16");
    };
    let first = Model::new(&a, "fleetcli");
    let second = Model { pg: b.clone(), bootstrap_url: b.url.clone(), ..Model::new(&b, "x") };
    let second = Model { prefix: first.prefix.clone(), names: first.names.clone(), ..second };
    let n = &first.names;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pgroles.toml");
    let target = |name: &str, server: &pg::PgServer| {
        format!(
            "[targets.{name}]\nhost = \"127.0.0.1\"\nport = {}\nsslmode = \"disable\"\n\
             bootstrap_url = \"{}\"\n",
            server.port, server.url
        )
    };
    let text = format!(
        "[model]\nrole_prefix = \"{}\"\ndatabase = \"{}\"\nschema = \"{}\"\n\n{}\n{}",
        n.role_prefix,
        n.database,
        n.schema,
        target("pg15", &a),
        target("pg16", &b)
    );
    std::fs::write(&path, text).unwrap();

    let unnamed = pgroles(&path, &["apply"], &[]);
    assert_eq!(unnamed.code, 2, "{}", unnamed.err);
    assert!(unnamed.err.contains("2 targets (pg15, pg16): pass --target NAME or --all"));
    let unknown = pgroles(&path, &["--target", "pg99", "verify"], &[]);
    assert!(unknown.err.contains("no target \"pg99\"; the targets are: pg15, pg16"));

    let applied = pgroles(&path, &["apply", "--all"], &[]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.out, applied.err);
    assert!(applied.err.contains("== target pg15 ==") && applied.err.contains("== target pg16 =="));
    for model in [&first, &second] {
        let su = model.superuser().await;
        let owner: String = su
            .query_one(
                "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1",
                &[&n.database],
            )
            .await
            .expect("the database exists on each target")
            .get(0);
        assert_eq!(owner, n.owner(), "PG{}", model.pg.version);
    }
    let again = pgroles(&path, &["--target", "pg16", "apply"], &[]);
    assert_eq!(again.code, 0, "{}", again.err);
    assert!(again.out.contains("nothing to change"), "{}", again.out);

    // The brokers' passwords from the environment, one per target.
    let mut env = Vec::new();
    for (name, model) in [("PG15", &first), ("PG16", &second)] {
        let password = model.set_password(&n.broker()).await;
        env.push((format!("PGROLES_TARGETS_{name}_PASSWORD"), password));
    }
    let verified = pgroles(&path, &["verify", "--all"], &env);
    // Both verified (the shared test clusters' other databases are open to PUBLIC: drift, 1).
    assert!(verified.code <= 1, "{}\n{}", verified.out, verified.err);
    for server in [&a, &b] {
        let version = format!("PostgreSQL {}.", server.version);
        assert!(verified.out.contains(&version), "{}", verified.out);
    }
    let missing = pgroles(&path, &["verify", "--all"], &env[..1]);
    assert_eq!(missing.code, 2, "pg16 has no password: {}", missing.err);
    assert!(missing.err.contains("target pg16"), "{}", missing.err);

    first.drop().await;
    second.drop().await;
}
