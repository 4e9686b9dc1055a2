//! Issue 16: Aurora cluster discovery through `aws-sdk-rds` against moto's RDS: a cluster with a
//! writer and two readers is described, the readers' endpoints become the instances whose
//! firefighter sessions must end, the writer and already listed instances are not added twice,
//! and an unknown cluster is a clear error.

mod support;

use pgroles::aws::rds::{discover, ClusterMember};
use pgroles::broker::instances::add_readers;
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
