//! The four database routes of every server, against a throwaway PostgreSQL that the suite
//! starts itself (its own life is tested in the harness crate).
//!
//! Without PostgreSQL installed the tests say so in one line and pass; with it installed, any
//! failure to start it is a failure.

use std::time::Duration;

use conformance::database::{check_database_routes, check_without_database};
use harness::postgres::{Postgres, PostgresError};
use harness::{ServerProcess, server_binary};

/// A started cluster, or `None` when PostgreSQL is not installed (said on stderr).
fn postgres_or_skip(test: &str) -> Option<Postgres> {
    match Postgres::start() {
        Ok(postgres) => Some(postgres),
        Err(PostgresError::NotInstalled) => {
            eprintln!("skipping {test}: {}", PostgresError::NotInstalled);
            None
        }
        Err(err) => panic!("{test}: cannot start a throwaway PostgreSQL: {err}"),
    }
}

/// `ROSETTA_SERVERS=axum,hyper` limits the servers, for working on one of them; unset, every
/// runnable server is checked.
fn servers() -> Vec<&'static contract::ServerInfo> {
    let only = std::env::var("ROSETTA_SERVERS").unwrap_or_default();
    harness::runnable_servers()
        .into_iter()
        .filter(|s| only.is_empty() || only.split(',').any(|n| n.trim() == s.name))
        .collect()
}

fn start(name: &str, database_url: Option<&str>) -> Result<ServerProcess, String> {
    let binary = server_binary(name).map_err(|e| e.to_string())?;
    let mut args: Vec<String> = ["--addr", "127.0.0.1:0", "--threads", "2"]
        .map(str::to_owned)
        .into();
    if let Some(url) = database_url {
        args.extend(["--database-url".to_owned(), url.to_owned()]);
    }
    ServerProcess::spawn(name, &binary, &args, &[], Duration::from_secs(20))
        .map_err(|e| e.to_string())
}

#[test]
fn every_server_answers_the_database_routes() {
    let Some(postgres) = postgres_or_skip("every_server_answers_the_database_routes") else {
        return;
    };
    let url = postgres.url();
    let mut failures = Vec::new();
    for server in servers() {
        match start(server.name, Some(&url)) {
            Ok(process) => {
                for problem in check_database_routes(server.name, process.addr(), &postgres) {
                    failures.push(format!("server-{}: {problem}", server.name));
                }
            }
            Err(err) => failures.push(format!("server-{}: {err}", server.name)),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn without_a_database_the_routes_answer_503() {
    let mut failures = Vec::new();
    for server in servers() {
        match start(server.name, None) {
            Ok(process) => {
                for problem in check_without_database(server.name, process.addr()) {
                    failures.push(format!("server-{}: {problem}", server.name));
                }
            }
            Err(err) => failures.push(format!("server-{}: {err}", server.name)),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
