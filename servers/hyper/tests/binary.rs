//! The real `server-hyper` binary starts on port 0, answers `GET /`, and SIGTERM ends it with
//! exit code 0. Having this test also makes `cargo test --workspace` build the binary, which the
//! conformance suite and the load generator's tests start. How it behaves with a database that
//! is down is checked with the other fifteen, in the conformance suite's `tests/database.rs`.

#[test]
fn the_binary_starts_answers_and_stops_cleanly() {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_server-hyper"));
    if let Err(failure) = conformance::check_binary("hyper", binary) {
        panic!("server-hyper: {failure}");
    }
}
