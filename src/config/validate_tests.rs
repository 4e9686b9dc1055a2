//! Tests of `validate`: instance lists and cluster ids.

use super::*;

#[test]
fn instances_are_host_port_pairs_without_the_writer_or_duplicates() {
    assert_eq!(parse_host_port("r1.example:5432"), Ok(("r1.example".into(), 5432)));
    assert_eq!(parse_host_port("[::1]:6543"), Ok(("[::1]".into(), 6543)));
    for bad in ["r1", "r1:0", "r1:70000", ":5432", "a b:1", "[zz]:1", "r1:54x", "-r:1"] {
        assert!(parse_host_port(bad).is_err(), "{bad}");
    }
    let mut cfg = Config::default();
    cfg.database.instances = vec!["r1:5432".into(), " r2:5433 ".into()];
    assert_eq!(cfg.instance_addrs().unwrap(), [("r1".into(), 5432), ("r2".into(), 5433)]);
    cfg.database.instances = vec!["r1:5432".into(), "R1:5432".into()];
    let e = cfg.instance_addrs().unwrap_err().to_string();
    assert!(e.contains("database.instances") && e.contains("listed twice"), "{e}");
    assert!(e.contains("PGROLES_DATABASE_INSTANCES"), "{e}");
    cfg.database.instances = vec!["127.0.0.1:5432".into()];
    let e = cfg.instance_addrs().unwrap_err().to_string();
    assert!(e.contains("is the writer"), "{e}");
    cfg.database.instances = vec!["r1".into()];
    assert!(cfg.instance_addrs().unwrap_err().to_string().contains("not host:port"));
    cfg.database.instances = (0..17).map(|i| format!("r{i}:5432")).collect();
    assert!(cfg.instance_addrs().unwrap_err().to_string().contains("at most 16"));
    cfg.database.instances = vec!["r1:5432".into()];
    cfg.database.sslmode = SslMode::Disable;
    assert!(cfg.instance_addrs().unwrap_err().to_string().contains("loopback only"));
}

#[test]
fn a_cluster_to_discover_is_an_rds_cluster_id() {
    for ok in ["my-pg", "a", "prod-cluster-2"] {
        assert!(valid_cluster_id(ok), "{ok}");
    }
    let long = "a".repeat(64);
    for bad in ["", "1abc", "my--pg", "my-pg-", "my_pg", "arn:aws:rds:x", long.as_str()] {
        assert!(!valid_cluster_id(bad), "{bad}");
    }
}
