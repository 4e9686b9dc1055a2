//! Throwaway PostgreSQL clusters for tests that need a server configured differently from the
//! shared ones (`log_statement = all` into a known file) or a whole cluster of their own (no
//! other engineer's databases; `apply --harden-cluster` changes cluster-wide ACLs).
//!
//! Owns: finding the binaries of each tested version, initdb, start and stop,
//! the way `scripts/lib-demo.sh` does (the superuser trusted on loopback, every other role SCRAM),
//! and removing the directory. Must not touch the shared clusters.

use super::pg::PgServer;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A cluster of our own, stopped and removed on drop.
pub struct Throwaway {
    dir: PathBuf,
    bin: PathBuf,
    pub server: PgServer,
}

/// `cmd` as the `postgres` OS user when we are root (initdb and postgres refuse root).
pub fn as_pg(program: &Path) -> Command {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n");
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Runs `cmd`, panicking with its output if it fails.
pub fn run(mut cmd: Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A directory holding initdb and pg_ctl.
fn usable(bin: &Path) -> bool {
    bin.join("initdb").exists() && bin.join("pg_ctl").exists()
}

/// The PostgreSQL versions to test on, with their binaries: those of the shared test clusters
/// (`PGROLES_TEST_PG`; the directory of the binary their backends run, read from
/// `/proc/<pid>/exe`, which needs root or the `postgres` user), else whatever is installed in
/// `/usr/lib/postgresql/<major>/bin`.
pub async fn installed() -> Vec<(u32, PathBuf)> {
    let mut out: Vec<(u32, PathBuf)> = Vec::new();
    for server in super::pg::versions() {
        let client = super::pg::superuser(&server, "postgres").await;
        let Ok(row) = client.query_one("SELECT pg_backend_pid()", &[]).await else { continue };
        let pid: i32 = row.get(0);
        let bin = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf));
        if let Some(bin) = bin.filter(|b| usable(b)) {
            out.push((server.version, bin));
        }
    }
    if out.is_empty() {
        out = std::fs::read_dir("/usr/lib/postgresql")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let v: u32 = e.file_name().to_str()?.parse().ok()?;
                        let bin = e.path().join("bin");
                        usable(&bin).then_some((v, bin))
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
    out.sort();
    assert!(!out.is_empty(), "no PostgreSQL binaries (initdb, pg_ctl) found");
    out
}

impl Throwaway {
    pub fn start(version: u32, bin: &Path) -> Throwaway {
        let dir = std::env::temp_dir().join(format!("pgroles-i11b-{}", super::random_alnum(10)));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("create the cluster directory");
        let _ = Command::new("chown").args(["-R", "postgres"]).arg(&dir).output();
        let mut initdb = as_pg(&bin.join("initdb"));
        initdb.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(initdb, "initdb");
        let port = super::free_port();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhost all postgres 127.0.0.1/32 trust\n\
             host all all 127.0.0.1/32 scram-sha-256\n",
        )
        .expect("pg_hba.conf");
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             password_encryption = 'scram-sha-256'\nfsync = off\nsynchronous_commit = off\n\
             logging_collector = off\nlog_statement = 'all'\nlog_min_duration_statement = 0\n\
             log_connections = on\n",
            dir.display()
        );
        let mut text = std::fs::read_to_string(data.join("postgresql.conf")).expect("read conf");
        text.push_str(&conf);
        std::fs::write(data.join("postgresql.conf"), text).expect("write conf");
        let mut start = as_pg(&bin.join("pg_ctl"));
        start.arg("start").arg("-D").arg(&data).arg("-l").arg(dir.join("server.log"));
        start.args(["-w", "-t", "60"]);
        run(start, "pg_ctl start");
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        eprintln!("throwaway PostgreSQL {version} ({}) on port {port}", bin.display());
        Throwaway {
            dir,
            bin: bin.to_path_buf(),
            server: PgServer { version, host: "127.0.0.1".into(), port, url },
        }
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).expect("read the server log")
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let mut stop = as_pg(&self.bin.join("pg_ctl"));
        stop.arg("stop").arg("-D").arg(self.dir.join("data")).args(["-m", "immediate"]);
        let _ = stop.output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
