//! Configuration loading as an operator meets it: a TOML file, env overrides, `*_FILE` secrets,
//! one-line errors naming the key, and secrets that never show in Debug output.

use pgroles::config::keys::KEYS;
use pgroles::config::{Config, ConfigError, DbAuth, Loaded, SslMode};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn write_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).expect("create file");
    f.write_all(text.as_bytes()).expect("write file");
    path
}

fn load(path: Option<&Path>, pairs: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    Config::load(path, &env(pairs))
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Everything `serve` needs, as the Kubernetes Secret would provide it.
const SERVE_ENV: &[(&str, &str)] = &[
    ("PGROLES_SLACK_BOT_TOKEN", "xoxb-test-bot-token"),
    ("PGROLES_SLACK_SIGNING_SECRET", "test-signing-secret"),
    ("PGROLES_SLACK_AUDIT_CHANNEL", "C0AUDIT"),
    ("PGROLES_ACCESS_APPROVERS", "U0ALICE,U0BOB"),
    ("PGROLES_DATABASE_PASSWORD", "broker-password"),
    ("PGROLES_DATABASE_SSLMODE", "disable"),
];

#[test]
fn unknown_key_is_named_in_one_line_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(&dir, "pgroles.toml", "[slack]\naudit_chanel = \"C1\"\n");
    let err = load(Some(&path), &[]).expect_err("typo must be rejected").to_string();
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(
        err.ends_with("unknown key 'slack.audit_chanel' (did you mean 'audit_channel'?)"),
        "{err}"
    );
    assert!(err.starts_with(&path.display().to_string()), "{err}");
}

#[test]
fn unknown_section_and_misplaced_key_are_named() {
    let err = Config::from_toml("[slak]\nbot_token = \"x\"\n").expect_err("unknown section");
    assert_eq!(err.to_string(), "pgroles.toml: unknown key 'slak' (did you mean 'slack'?)");
    let err = Config::from_toml("audit_channel = \"C1\"\n").expect_err("key outside its section");
    assert!(err.to_string().contains("(did you mean 'slack.audit_channel'?)"), "{err}");
}

#[test]
fn wrong_type_names_line_and_key_without_echoing_the_line() {
    let err = Config::from_toml("[database]\nhost = \"db\"\nport = \"not-a-port\"\n")
        .expect_err("port must be an integer")
        .to_string();
    assert!(err.starts_with("pgroles.toml line 3: database.port: "), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn env_override_wins_over_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(
        &dir,
        "pgroles.toml",
        "[redis]\nurl = \"redis://file-host:6379\"\n[access]\napprovals_rw = 3\napprovers = [\"U1\"]\n",
    );
    let loaded = load(
        Some(&path),
        &[
            ("PGROLES_REDIS_URL", "redis://env-host:6380"),
            ("PGROLES_ACCESS_APPROVERS", "U7, U8,"),
            ("PGROLES_DATABASE_SSLMODE", "Require"),
        ],
    )
    .expect("loads");
    let c = loaded.config;
    assert_eq!(c.redis.url, "redis://env-host:6380");
    assert_eq!(c.access.approvers, vec!["U7", "U8"]);
    assert_eq!(c.access.approvals_rw, 3, "file value kept where env is silent");
    assert_eq!(c.database.sslmode, SslMode::Require);
    assert_eq!(c.database.auth, DbAuth::Password, "default kept where both are silent");
}

#[test]
fn bad_env_value_names_the_variable() {
    let err = load(None, &[("PGROLES_DATABASE_PORT", "99999")]).expect_err("port too large");
    assert!(err.to_string().starts_with("PGROLES_DATABASE_PORT: expected an integer"), "{err}");
}

#[test]
fn secret_is_read_from_file_with_trailing_newline_trimmed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = write_file(&dir, "bot_token", "xoxb-from-file\r\n\n");
    let secret = secret.to_str().expect("utf-8 path");
    let loaded = load(None, &[("PGROLES_SLACK_BOT_TOKEN_FILE", secret)]).expect("loads");
    let token = loaded.config.slack.bot_token.expect("token set");
    assert_eq!(token.expose_secret(), "xoxb-from-file");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn secret_set_both_directly_and_as_file_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = write_file(&dir, "pw", "from-file\n");
    let err = load(
        None,
        &[
            ("PGROLES_DATABASE_PASSWORD", "direct"),
            ("PGROLES_DATABASE_PASSWORD_FILE", secret.to_str().expect("utf-8 path")),
        ],
    )
    .expect_err("ambiguous secret");
    assert_eq!(
        err.to_string(),
        "both PGROLES_DATABASE_PASSWORD and PGROLES_DATABASE_PASSWORD_FILE are set: use one of them"
    );
}

#[test]
fn missing_secret_file_names_variable_and_path() {
    let err = load(None, &[("PGROLES_SLACK_SIGNING_SECRET_FILE", "/nonexistent/signing")])
        .expect_err("unreadable secret file");
    let err = err.to_string();
    assert!(err.starts_with("PGROLES_SLACK_SIGNING_SECRET_FILE: cannot read /nonexistent/signing"));
}

#[test]
fn missing_signing_secret_is_one_line_naming_key_and_variable() {
    let without: Vec<_> =
        SERVE_ENV.iter().copied().filter(|(k, _)| *k != "PGROLES_SLACK_SIGNING_SECRET").collect();
    let cfg = load(None, &without).expect("loads").config;
    let err = cfg.validate_for_serve().expect_err("no signing secret");
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.starts_with("missing slack.signing_secret:"), "{msg}");
    assert!(msg.contains("PGROLES_SLACK_SIGNING_SECRET / PGROLES_SLACK_SIGNING_SECRET_FILE"));
    assert_eq!(err.key(), Some("slack.signing_secret"));
}

#[test]
fn complete_serve_config_validates() {
    let cfg = load(None, SERVE_ENV).expect("loads").config;
    cfg.validate_for_serve().expect("complete");
}

#[test]
fn serve_rejects_unsafe_or_incomplete_settings() {
    let cases: &[(&str, &str, &str)] = &[
        ("PGROLES_SLACK_BOT_TOKEN", "", "missing slack.bot_token"),
        ("PGROLES_SLACK_AUDIT_CHANNEL", "", "missing slack.audit_channel"),
        ("PGROLES_ACCESS_APPROVERS", "", "missing access.approvers"),
        ("PGROLES_ACCESS_APPROVALS_RW", "0", "invalid access.approvals_rw"),
        ("PGROLES_ACCESS_MAX_DURATION_SECS", "7201", "invalid access.max_duration_secs"),
        ("PGROLES_DATABASE_PASSWORD", "", "missing database.password"),
        ("PGROLES_DATABASE_HOST", "db.example.com", "invalid database.sslmode"),
        ("PGROLES_REDIS_URL", "", "missing redis.url"),
        ("PGROLES_REDIS_URL", "http://redis:6379", "invalid redis.url"),
    ];
    for (var, value, expected) in cases {
        let mut pairs = env(SERVE_ENV);
        pairs.insert(var.to_string(), value.to_string());
        let cfg = Config::load(None, &pairs).expect("loads").config;
        let err = cfg.validate_for_serve().expect_err(var).to_string();
        assert!(err.starts_with(expected), "{var}={value:?}: {err}");
    }
}

#[test]
fn disabled_tls_is_accepted_only_on_loopback() {
    for host in ["127.0.0.1", "localhost", "::1"] {
        let mut pairs = env(SERVE_ENV);
        pairs.insert("PGROLES_DATABASE_HOST".into(), host.into());
        let cfg = Config::load(None, &pairs).expect("loads").config;
        cfg.validate_for_serve().unwrap_or_else(|e| panic!("{host}: {e}"));
    }
}

#[test]
fn apply_needs_a_bootstrap_url() {
    let err = load(None, &[]).expect("loads").config.validate_for_apply().expect_err("no url");
    assert!(err.to_string().starts_with("missing apply.bootstrap_url"), "{err}");
    let cfg =
        load(None, &[("PGROLES_APPLY_BOOTSTRAP_URL", "postgres://postgres@127.0.0.1/postgres")])
            .expect("loads")
            .config;
    cfg.validate_for_apply().expect("complete");
}

#[test]
fn unknown_pgroles_variables_are_returned_as_warnings() {
    let loaded = load(
        None,
        &[
            ("PGROLES_SLACK_BOT_TOKN", "x"),
            ("PGROLES_CONFIG", "/etc/pgroles.toml"),
            ("PGROLES_TEST_PG", "15=..."),
        ],
    )
    .expect("a typo in the environment is a warning, not an error");
    assert_eq!(
        loaded.warnings,
        vec!["PGROLES_SLACK_BOT_TOKN is not a pgroles setting (did you mean PGROLES_SLACK_BOT_TOKEN?); ignored"]
    );
}

#[test]
fn debug_output_contains_no_secret_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(
        &dir,
        "pgroles.toml",
        "[redis]\nurl = \"redis://:url-embedded-S3CRET@redis:6379/0\"\n",
    );
    let secrets = [
        ("PGROLES_SLACK_BOT_TOKEN", "xoxb-SECRET-1"),
        ("PGROLES_SLACK_SIGNING_SECRET", "SECRET-2-signing"),
        ("PGROLES_SLACK_APP_TOKEN", "xapp-SECRET-3"),
        ("PGROLES_DATABASE_PASSWORD", "SECRET-4-db"),
        ("PGROLES_REDIS_PASSWORD", "SECRET-5-redis"),
        ("PGROLES_APPLY_BOOTSTRAP_URL", "postgres://master:SECRET-6@db/postgres"),
        ("PGROLES_PAGERDUTY_TOKEN", "SECRET-7-pagerduty"),
    ];
    let loaded = load(Some(&path), &secrets).expect("loads");
    let rendered = format!("{loaded:?} {:#?}", loaded.config);
    for (_, value) in secrets {
        assert!(!rendered.contains(value), "{value} leaked into Debug output");
    }
    assert!(!rendered.contains("url-embedded-S3CRET"), "password inside redis.url leaked");
    assert!(rendered.contains("REDACTED"), "secrets are shown as redacted: {rendered}");
}

#[test]
fn example_file_loads_and_documents_every_key() {
    let path = repo_file("pgroles.example.toml");
    let loaded = Config::load(Some(&path), &env(&[])).expect("example loads");
    assert_eq!(loaded.config.model.role_prefix, "my_pg_");
    let text = std::fs::read_to_string(&path).expect("read example");
    for key in KEYS {
        let present = text.lines().any(|l| {
            let l = l.trim_start_matches(['#', ' ']);
            l.starts_with(&format!("{} =", key.name))
        });
        assert!(present, "pgroles.example.toml does not show {}", key.dotted());
    }
}

#[test]
fn configuration_reference_lists_every_key_and_variable() {
    let text = std::fs::read_to_string(repo_file("docs/configuration.md")).expect("read docs");
    for key in KEYS {
        assert!(text.contains(&format!("`{}`", key.dotted())), "docs lack {}", key.dotted());
        assert!(text.contains(&format!("`{}`", key.env_var())), "docs lack {}", key.env_var());
    }
}

#[test]
fn kubernetes_configmap_holds_a_config_that_serves_with_the_secret() {
    let yaml = std::fs::read_to_string(repo_file("deploy/k8s/configmap.yaml")).expect("read");
    let doc: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("yaml");
    let toml_text = doc["data"]["pgroles.toml"].as_str().expect("data.pgroles.toml");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(&dir, "pgroles.toml", toml_text);
    let ca = write_file(&dir, "rds-ca.pem", "-----BEGIN CERTIFICATE-----\n");
    let pairs = [
        ("PGROLES_SLACK_BOT_TOKEN", "xoxb-k8s"),
        ("PGROLES_SLACK_SIGNING_SECRET", "k8s-signing"),
        ("PGROLES_REDIS_PASSWORD", "k8s-redis"),
        ("PGROLES_DATABASE_CA_FILE", ca.to_str().expect("utf-8 path")),
    ];
    let loaded = load(Some(&path), &pairs).expect("configmap config loads");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    loaded.config.validate_for_serve().expect("configmap + secret is a complete serve config");
}
