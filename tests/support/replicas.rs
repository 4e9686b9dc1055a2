//! A PostgreSQL primary of our own (`wal_level = replica`) with streaming hot-standby replicas
//! made by `pg_basebackup -R`, standing in for an Aurora writer and its readers (issue 16).
//!
//! Owns initdb, configuration, start and stop of these clusters in one temporary directory,
//! removed on drop. Must not touch the shared clusters.

use super::cluster::{as_pg, run};
use super::pg::PgServer;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A primary and its standbys, stopped and removed on drop.
pub struct ReplicaSet {
    dir: PathBuf,
    bin: PathBuf,
    datas: Vec<PathBuf>,
    pub primary: PgServer,
    pub replicas: Vec<PgServer>,
}

const HBA: &str = "local all all trust\nlocal replication all trust\n\
    host all postgres 127.0.0.1/32 trust\nhost replication postgres 127.0.0.1/32 trust\n\
    host all all 127.0.0.1/32 scram-sha-256\n";

fn conf(port: u16, sock: &Path) -> String {
    format!(
        "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
         password_encryption = 'scram-sha-256'\nfsync = off\nlogging_collector = off\n\
         wal_level = replica\nmax_wal_senders = 10\nhot_standby = on\nmax_connections = 50\n",
        sock.display()
    )
}

impl ReplicaSet {
    /// PostgreSQL `version` from `bin`: a primary and `replicas` streaming standbys.
    pub fn start(version: u32, bin: &Path, replicas: usize) -> ReplicaSet {
        let dir = std::env::temp_dir().join(format!("pgroles-i16-{}", super::random_alnum(10)));
        std::fs::create_dir_all(&dir).expect("create the directory");
        let mut set = ReplicaSet {
            dir: dir.clone(),
            bin: bin.to_path_buf(),
            datas: Vec::new(),
            primary: PgServer { version, host: String::new(), port: 0, url: String::new() },
            replicas: Vec::new(),
        };
        let data = dir.join("primary");
        std::fs::create_dir_all(&data).expect("primary dir");
        let _ = Command::new("chown").args(["-R", "postgres"]).arg(&dir).output();
        let mut initdb = as_pg(&bin.join("initdb"));
        initdb.arg("-D").arg(&data).args(["-U", "postgres", "--encoding=UTF8", "--locale=C"]);
        initdb.args(["--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"]);
        run(initdb, "initdb");
        let port = super::free_port();
        std::fs::write(data.join("pg_hba.conf"), HBA).expect("pg_hba.conf");
        let mut text = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        text.push_str(&conf(port, &dir));
        std::fs::write(data.join("postgresql.conf"), text).expect("conf");
        set.primary = set.start_one(&data, version, port);
        for i in 0..replicas {
            let rdata = dir.join(format!("replica{i}"));
            let mut bb = as_pg(&bin.join("pg_basebackup"));
            bb.arg("-D").arg(&rdata).args(["-R", "-X", "stream", "-h", "127.0.0.1", "-U"]);
            bb.args(["postgres", "-p", &port.to_string()]);
            run(bb, "pg_basebackup");
            let rport = super::free_port();
            let mut text = std::fs::read_to_string(rdata.join("postgresql.conf")).expect("conf");
            text.push_str(&format!("port = {rport}\n"));
            std::fs::write(rdata.join("postgresql.conf"), text).expect("conf");
            let server = set.start_one(&rdata, version, rport);
            set.replicas.push(server);
        }
        set
    }

    fn start_one(&mut self, data: &Path, version: u32, port: u16) -> PgServer {
        let _ = Command::new("chown").args(["-R", "postgres"]).arg(&self.dir).output();
        let mut start = as_pg(&self.bin.join("pg_ctl"));
        start.arg("start").arg("-D").arg(data).arg("-l").arg(data.with_extension("log"));
        start.args(["-w", "-t", "60"]);
        run(start, "pg_ctl start");
        self.datas.push(data.to_path_buf());
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        PgServer { version, host: "127.0.0.1".into(), port, url }
    }
}

impl Drop for ReplicaSet {
    fn drop(&mut self) {
        for data in self.datas.iter().rev() {
            let mut stop = as_pg(&self.bin.join("pg_ctl"));
            stop.arg("stop").arg("-D").arg(data).args(["-m", "immediate"]);
            let _ = stop.output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
