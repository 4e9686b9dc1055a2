//! Issue 16: Aurora cluster discovery through `aws-sdk-rds` against moto's RDS: a cluster with a
//! writer and two readers is described, the readers' endpoints become the instances whose
//! firefighter sessions must end, the writer and already listed instances are not added twice,
//! an unknown cluster is a clear error, and a refresh follows readers that come and go.

mod support;

use pgroles::aws::rds::{discover, ClusterMember};
use pgroles::broker::instances::add_readers;
use pgroles::broker::Instances;
use pgroles::config::DatabaseConfig;

async fn aurora_cluster(sdk: &aws_config::SdkConfig, cluster: &str, members: &[&str]) {
    let rds = aws_sdk_rds::Client::new(sdk);
    rds.create_db_cluster()
        .db_cluster_identifier(cluster)
        .engine("aurora-postgresql")
        .engine_version("15.4")
        .master_username("postgres")
        .master_user_password("not-a-secret-123")
        .send()
        .await
        .expect("create the cluster in moto");
    for id in members {
        rds.create_db_instance()
            .db_instance_identifier(*id)
            .db_cluster_identifier(cluster)
            .engine("aurora-postgresql")
            .db_instance_class("db.r6g.large")
            .send()
            .await
            .expect("create an instance in moto");
    }
}

#[tokio::test]
async fn the_readers_of_a_cluster_become_instances_and_the_writer_does_not() {
    let moto = support::moto::Moto::spawn();
    let (_aws, sdk) = moto.sdk().await;
    aurora_cluster(&sdk, "pgroles-prod", &["prod-1", "prod-2", "prod-3"]).await;

    let members: Vec<ClusterMember> = discover(&sdk, "pgroles-prod").await.expect("discover");
    assert_eq!(members.len(), 3, "{members:#?}");
    let writers: Vec<&ClusterMember> = members.iter().filter(|m| m.writer).collect();
    assert_eq!(writers.len(), 1, "exactly one writer: {members:#?}");
    assert!(members[0].writer, "writer first: {members:#?}");
    for m in &members {
        let (host, port) = m.endpoint.clone().expect("an endpoint");
        assert!(host.contains(&m.id), "{host} names {}", m.id);
        assert_eq!(port, 5432);
    }

    // The writer is `database.host`; one reader is listed by hand already.
    let (writer_host, writer_port) = members[0].endpoint.clone().unwrap();
    let db = DatabaseConfig { host: writer_host, port: writer_port, ..DatabaseConfig::default() };
    let listed = members[1].endpoint.clone().unwrap();
    let mut addrs = vec![listed.clone()];
    add_readers(&mut addrs, &db, &members);
    let readers: Vec<(String, u16)> =
        members.iter().filter(|m| !m.writer).filter_map(|m| m.endpoint.clone()).collect();
    assert_eq!(addrs.len(), 2, "{addrs:?}");
    for r in &readers {
        assert_eq!(addrs.iter().filter(|a| *a == r).count(), 1, "{r:?} once in {addrs:?}");
    }
    assert!(!addrs.contains(&members[0].endpoint.clone().unwrap()), "the writer is not added");

    let err = discover(&sdk, "no-such-cluster").await.expect_err("unknown cluster");
    assert!(format!("{err:#}").contains("no-such-cluster"), "{err:#}");
}

/// `Instances` with `database.discover_cluster`: the readers at start, then a reader added and
/// one removed in the RDS API are picked up by `refresh` (kept instances keep their broker).
#[tokio::test]
async fn a_refresh_adds_new_readers_and_drops_gone_ones() {
    let moto = support::moto::Moto::spawn();
    let (aws, sdk) = moto.sdk().await;
    aurora_cluster(&sdk, "pgroles-grow", &["grow-1", "grow-2"]).await;
    let members = discover(&sdk, "pgroles-grow").await.unwrap();
    let (host, port) = members[0].endpoint.clone().unwrap();
    // The default credential chain, as in production (moto accepts any key).
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    let db = DatabaseConfig {
        host,
        port,
        password: Some(secrecy::SecretString::from("unused-here".to_owned())),
        sslmode: pgroles::config::SslMode::Disable,
        discover_cluster: Some("pgroles-grow".into()),
        ..DatabaseConfig::default()
    };
    let names = pgroles::model::Names::default();
    let instances = Instances::from_config(&db, &aws, &names, &[]).await.expect("instances");
    assert!(instances.discovers());
    assert_eq!(instances.len(), 1, "the one reader");
    let first = instances.current()[0].clone();
    assert!(first.addr.contains("grow-2"), "{}", first.addr);
    assert!(!instances.refresh().await.unwrap(), "nothing changed");

    let rds = aws_sdk_rds::Client::new(&sdk);
    rds.create_db_instance()
        .db_instance_identifier("grow-3")
        .db_cluster_identifier("pgroles-grow")
        .engine("aurora-postgresql")
        .db_instance_class("db.r6g.large")
        .send()
        .await
        .unwrap();
    assert!(instances.refresh().await.unwrap(), "a reader appeared");
    let now = instances.current();
    assert_eq!(now.len(), 2);
    assert!(now.iter().any(|i| std::sync::Arc::ptr_eq(i, &first)), "grow-2 kept as it was");
    assert!(now.iter().any(|i| i.addr.contains("grow-3")));

    rds.delete_db_instance().db_instance_identifier("grow-2").send().await.unwrap();
    assert!(instances.refresh().await.unwrap(), "a reader went");
    let addrs: Vec<String> = instances.current().iter().map(|i| i.addr.clone()).collect();
    assert_eq!(addrs.len(), 1, "{addrs:?}");
    assert!(addrs[0].contains("grow-3"), "{addrs:?}");
}
