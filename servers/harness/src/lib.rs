//! Starts, builds and talks to server processes: what loadgen's `compare` and `cost` phases and
//! the test suites share, apart from the tests themselves.
//!
//! # Layout
//! - [`process`]: [`ServerProcess`] spawns `server-<name>`, waits for `listening on http://…`,
//!   signals it, and kills and reaps it on drop;
//! - [`parent_death`]: every server dies with the thread that spawned it, even when the harness
//!   gets SIGKILL; the `die-with-parent` binary does the same for shell scripts;
//! - [`build`]: where a server's binary is ([`server_binary`]), and the cargo and Go builds
//!   ([`build_go`], the workspace's one `go build`); the `build-server` binary prints the path of
//!   a built server for the justfile;
//! - [`error`]: [`StartError`], why a server could not be started;
//! - [`client`]: [`RawClient`], [`RawResponse`], [`parse_response`], [`request_bytes`]: the wire;
//! - [`postgres`]: a throwaway PostgreSQL cluster for the database routes, gone with its
//!   [`postgres::Postgres`] however the harness ends; the `throwaway-postgres` binary
//!   (`just db`) keeps one until Ctrl-C;
//! - [`skip`]: a test that cannot run here says so past libtest's capture, in the skip log that
//!   the `skips` binary counts, and fails under `CI=true` unless what is missing may be missing.

pub mod build;
pub mod client;
pub mod error;
pub mod parent_death;
pub mod postgres;
pub mod process;
pub mod skip;

pub use build::{
    GoBuildError, NO_GO, build_go, go_tool, runnable_servers, server_binary, server_source_dir,
    servers_to_test,
};
pub use client::{Parsed, RawClient, RawResponse, parse_response, request_bytes};
pub use error::StartError;
pub use process::ServerProcess;
