//! Aurora cluster discovery (issue 16, `database.discover_cluster`): the cluster's members and
//! their endpoints from the RDS API (`DescribeDBClusters`, then `DescribeDBInstances` per
//! member), so every reader's sessions can be ended without listing the readers by hand.
//!
//! Owns the two calls and what they mean: a member's role (writer or reader) comes from the
//! cluster's member list, its endpoint from the instance; a member without an endpoint yet
//! (still being created) is reported without one. Must not connect to PostgreSQL.

use anyhow::{anyhow, Context};
use aws_config::SdkConfig;

/// At most this many members are asked about (Aurora has at most 15 readers and a writer).
pub const MAX_MEMBERS: usize = 16;

/// One instance of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMember {
    pub id: String,
    pub writer: bool,
    /// `(address, port)` of the instance endpoint; `None` while it has none (creating).
    pub endpoint: Option<(String, u16)>,
    /// `DBInstanceStatus` (`available`, `creating`, ...).
    pub status: Option<String>,
}

/// The members of `cluster_id`, writer first.
pub async fn discover(sdk: &SdkConfig, cluster_id: &str) -> anyhow::Result<Vec<ClusterMember>> {
    let client = aws_sdk_rds::Client::new(sdk);
    let clusters = client
        .describe_db_clusters()
        .db_cluster_identifier(cluster_id)
        .send()
        .await
        .with_context(|| format!("DescribeDBClusters {cluster_id}"))?;
    let cluster =
        clusters.db_clusters().first().ok_or_else(|| anyhow!("no DB cluster {cluster_id:?}"))?;
    let mut out = Vec::new();
    for m in cluster.db_cluster_members().iter().take(MAX_MEMBERS) {
        let Some(id) = m.db_instance_identifier() else { continue };
        let found = client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .with_context(|| format!("DescribeDBInstances {id}"))?;
        let instance = found.db_instances().first();
        let endpoint = instance.and_then(|i| i.endpoint()).and_then(|e| {
            let port = u16::try_from(e.port()?).ok()?;
            Some((e.address()?.to_owned(), port))
        });
        out.push(ClusterMember {
            id: id.to_owned(),
            writer: m.is_cluster_writer().unwrap_or(false),
            endpoint,
            status: instance.and_then(|i| i.db_instance_status()).map(str::to_owned),
        });
    }
    out.sort_by_key(|m| (!m.writer, m.id.clone()));
    Ok(out)
}
