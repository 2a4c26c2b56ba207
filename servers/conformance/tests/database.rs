//! The four database routes of every server, against a throwaway PostgreSQL that the suite
//! starts itself (its own life is tested in the harness crate).
//!
//! Without PostgreSQL installed the tests say so in one line and pass; with it installed, any
//! failure to start it is a failure.

use conformance::database::{
    REFUSED_DATABASE_URL, check_database_refused, check_database_routes, check_without_database,
    cluster_or_skip, servers_under_test, start_server,
};

#[test]
fn every_server_answers_the_database_routes() {
    let Some(postgres) = cluster_or_skip("every_server_answers_the_database_routes")
        .expect("a throwaway PostgreSQL starts where it is installed")
    else {
        return;
    };
    let url = postgres.url();
    let mut failures = Vec::new();
    for server in servers_under_test() {
        match start_server(server.name, Some(&url)) {
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
    for server in servers_under_test() {
        match start_server(server.name, None) {
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

/// Needs no PostgreSQL: the URL points where nothing listens.
#[test]
fn with_a_database_that_refuses_connections_every_server_starts_and_answers_503() {
    let mut failures = Vec::new();
    for server in servers_under_test() {
        match start_server(server.name, Some(REFUSED_DATABASE_URL)) {
            Ok(process) => {
                for problem in check_database_refused(server.name, process.addr()) {
                    failures.push(format!("server-{}: {problem}", server.name));
                }
            }
            Err(err) => failures.push(format!("server-{}: {err}", server.name)),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
