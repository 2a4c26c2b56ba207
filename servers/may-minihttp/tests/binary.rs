//! The real `server-may-minihttp` binary starts on port 0, answers `GET /`, and SIGTERM ends it with
//! exit code 0. Having this test also makes `cargo test --workspace` build the binary, which the
//! conformance suite and the load generator's tests start.

use std::time::{Duration, Instant};

#[test]
fn the_binary_starts_answers_and_stops_cleanly() {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_server-may-minihttp"));
    if let Err(failure) = conformance::check_binary("may-minihttp", binary) {
        panic!("server-may-minihttp: {failure}");
    }
}

fn start(database_url: Option<&str>) -> harness::ServerProcess {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_server-may-minihttp"));
    let mut args: Vec<String> = ["--addr", "127.0.0.1:0", "--threads", "1"]
        .map(str::to_owned)
        .into();
    if let Some(url) = database_url {
        args.extend(["--database-url".to_owned(), url.to_owned()]);
    }
    harness::ServerProcess::spawn("may-minihttp", binary, &args, &[], Duration::from_secs(10))
        .expect("the server starts")
}

#[test]
fn without_a_database_the_database_routes_answer_503() {
    let server = start(None);
    let problems = conformance::database::check_without_database("may-minihttp", server.addr());
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn with_a_database_that_is_down_it_starts_and_answers_503_within_the_pool_timeout() {
    // Nothing listens on port 1: every connection attempt is refused.
    let server = start(Some("postgres://benchmarkdbuser:x@127.0.0.1:1/hello_world"));
    let started = Instant::now();
    let response = conformance::database::get(server.addr(), "/db").expect("an answer");
    assert_eq!(response.status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let hello = conformance::database::get(server.addr(), "/").expect("an answer");
    assert_eq!(hello.status, 200);
}
