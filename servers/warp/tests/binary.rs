//! The real `server-warp` binary starts on port 0, answers `GET /`, and SIGTERM ends it with
//! exit code 0. Having this test also makes `cargo test --workspace` build the binary, which the
//! conformance suite and the load generator's tests start.

use std::time::{Duration, Instant};

#[test]
fn the_binary_starts_answers_and_stops_cleanly() {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_server-warp"));
    if let Err(failure) = conformance::check_binary("warp", binary) {
        panic!("server-warp: {failure}");
    }
}

#[test]
fn with_a_database_that_is_down_it_starts_and_answers_503_within_the_pool_timeout() {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_server-warp"));
    // Nothing listens on port 1: every connection attempt is refused.
    let args = [
        "--addr",
        "127.0.0.1:0",
        "--threads",
        "1",
        "--database-url",
        "postgres://benchmarkdbuser:x@127.0.0.1:1/hello_world",
    ]
    .map(str::to_owned);
    let server = harness::ServerProcess::spawn("warp", binary, &args, &[], Duration::from_secs(10))
        .expect("the server starts");
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
