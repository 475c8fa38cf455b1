//! A throwaway PostgreSQL cluster: `initdb` and `pg_ctl` (Debian's
//! postgresql package) as the unprivileged `postgres` user, in a temporary
//! directory, on a free 127.0.0.1 port; stopped and removed on drop (also
//! when the test fails). Also used by the store's unit tests (`src/store`).

#![allow(dead_code)] // shared by test crates and the benchmark, each using a part

use std::path::PathBuf;
use std::process::Command;

use tempfile::TempDir;

pub struct Postgres {
    bin: PathBuf,
    dir: TempDir,
    pub port: u16,
    /// fsync on (benchmarks) or off (tests: only the judge is killed).
    durable: bool,
}

impl Postgres {
    pub fn start() -> Postgres {
        Postgres::start_with(false)
    }

    /// With fsync, as a real deployment runs.
    pub fn start_durable() -> Postgres {
        Postgres::start_with(true)
    }

    fn start_with(durable: bool) -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("judge-durability-pg-").tempdir().expect("a temporary directory");
        chown_postgres(dir.path());
        let data = dir.path().join("data");
        as_postgres(&bin, "initdb", &["-D", path(&data), "-A", "trust", "-U", "judge", "--no-sync", "-E", "UTF8"]);
        let port = free_port();
        let pg = Postgres { bin, dir, port, durable };
        pg.pg_ctl_start();
        pg
    }

    /// `postgres://…` for the judge's `--database`.
    pub fn url(&self) -> String {
        format!("postgres://judge@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl_start(&self) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("postgres.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync={} -c max_connections=200",
            self.port,
            path(self.dir.path()),
            if self.durable { "on" } else { "off" }
        );
        as_postgres(&self.bin, "pg_ctl", &["-D", path(&data), "-l", path(&log), "-o", &options, "-w", "start"]);
    }

    /// Stops the server (fast: connections are cut).
    pub fn stop(&self) {
        let data = self.dir.path().join("data");
        as_postgres(&self.bin, "pg_ctl", &["-D", path(&data), "-m", "fast", "-w", "stop"]);
    }

    pub fn start_again(&self) {
        self.pg_ctl_start();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", path(&data), "-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// The newest `/usr/lib/postgresql/N/bin`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)")
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("no /usr/lib/postgresql/N/bin/initdb").1
}

fn chown_postgres(dir: &std::path::Path) {
    let status = Command::new("chown").args(["postgres:postgres", path(dir)]).status().unwrap();
    assert!(status.success(), "chown postgres {}", dir.display());
}

fn as_postgres(bin: &std::path::Path, tool: &str, args: &[&str]) {
    let output = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join(tool))
        .args(args)
        .current_dir("/")
        .output()
        .unwrap_or_else(|e| panic!("runuser -u postgres -- {tool}: {e}"));
    assert!(
        output.status.success(),
        "{tool} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
