//! The throwaway PostgreSQL's own life: it has the schema, and it is gone after a normal end
//! and after a SIGKILL of whoever started it (nothing listening, its folder removed).
//!
//! Without PostgreSQL installed the tests are skipped (`harness::skip`: shown, logged, and a
//! failure under `CI=true`); with it installed, any failure to start it is a failure.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::postgres::{self, Postgres, PostgresError};
use harness::skip::{Missing, skip};

/// A started cluster, or `None` when PostgreSQL is not installed (said on stderr).
fn postgres_or_skip(test: &str) -> Option<Postgres> {
    match Postgres::start() {
        Ok(postgres) => Some(postgres),
        Err(PostgresError::NotInstalled) => {
            skip(test, Missing::PostgreSql, PostgresError::NotInstalled);
            None
        }
        Err(err) => panic!("{test}: cannot start a throwaway PostgreSQL: {err}"),
    }
}

fn refuses(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    )
    .is_err()
}

/// Waits up to 15 s for `done`.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// The folder of the cluster on `port`, found from its postmaster's command line.
fn cluster_folder(postgres: &Postgres) -> PathBuf {
    let pid = postgres.pid().expect("running");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("its command line");
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let data = args
        .iter()
        .position(|a| a == "-D")
        .and_then(|i| args.get(i + 1))
        .expect("-D DIR");
    PathBuf::from(data)
        .parent()
        .expect("data's parent")
        .to_path_buf()
}

#[test]
fn the_cluster_has_the_schema_and_is_gone_after_drop() {
    let Some(postgres) = postgres_or_skip("the_cluster_has_the_schema_and_is_gone_after_drop")
    else {
        return;
    };
    postgres::check_schema(&postgres.url()).expect("the schema it loaded");
    let port = postgres.port();
    let folder = cluster_folder(&postgres);
    assert!(folder.is_dir());
    drop(postgres);
    assert!(refuses(port), "nothing listens on {port} after drop");
    assert!(
        eventually(|| !folder.exists()),
        "{} is removed",
        folder.display()
    );
}

#[test]
fn a_sigkilled_harness_leaves_no_cluster_behind() {
    if postgres::installed().is_none() {
        skip(
            "a_sigkilled_harness_leaves_no_cluster_behind",
            Missing::PostgreSql,
            PostgresError::NotInstalled,
        );
        return;
    }
    let mut harness = Command::new(env!("CARGO_BIN_EXE_throwaway-postgres"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("throwaway-postgres starts");
    let mut line = String::new();
    BufReader::new(harness.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("its URL");
    let port: u16 = line
        .trim()
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a URL with a port: {line:?}"));
    assert!(!refuses(port), "the cluster listens on {port}");
    let clusters_before = leftover_folders();
    harness.kill().expect("SIGKILL");
    harness.wait().expect("reaped");
    assert!(
        eventually(|| refuses(port)),
        "nothing listens on {port} after the SIGKILL"
    );
    assert!(
        eventually(|| leftover_folders().len() < clusters_before.len()),
        "its folder is removed: {:?}",
        leftover_folders()
    );
}

/// The clusters' folders in the temporary folder.
fn leftover_folders() -> Vec<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("rosetta-pg-"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}
