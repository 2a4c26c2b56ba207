//! Why a check could not get as far as judging an answer: the conformance crate's one error
//! type. What a check finds wrong with an answer is not an error: checks return their
//! mismatches as a list, empty when the server conforms.

use std::io;

use harness::StartError;
use thiserror::Error;

/// Why a check could not judge an answer, or the few checks that stop at their first finding.
#[derive(Debug, Error)]
pub enum CheckError {
    /// The server did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// A request could not be sent, or its answer read.
    #[error("{what}: {source}")]
    Io {
        /// The request and the step, `GET /db: connect`.
        what: String,
        /// The socket's error.
        source: io::Error,
    },
    /// The database behind the server could not be read.
    #[error("{what}: {source}")]
    Database {
        /// What was being read.
        what: &'static str,
        /// The driver's error.
        source: postgres::Error,
    },
    /// The body is not the JSON the route promises.
    #[error("GET {path}: not {want}: {source}: {body:?}")]
    Json {
        /// The request's path.
        path: String,
        /// What it should have been.
        want: &'static str,
        /// serde_json's error.
        source: serde_json::Error,
        /// The body, lossily decoded.
        body: String,
    },
    /// A row's keys are not exactly TechEmpower's.
    #[error("GET {path}: a row has the keys {keys:?}, not exactly id and randomNumber")]
    Keys {
        /// The request's path.
        path: String,
        /// The keys found.
        keys: Vec<String>,
    },
    /// A status other than the one wanted.
    #[error("GET {path}: status {status} (want {want})")]
    Status {
        /// The request's path.
        path: String,
        /// The status answered.
        status: u16,
        /// The status wanted.
        want: u16,
    },
    /// `pg_stat_statements` counted fewer statements than the route must run.
    #[error(
        "GET {path}: pg_stat_statements counted {selects} SELECTs of {table} and {updated} rows \
         updated (want at least {min_selects} and {min_updated})"
    )]
    TooFewQueries {
        /// The request's path.
        path: &'static str,
        /// The table counted.
        table: &'static str,
        /// SELECT calls counted.
        selects: i64,
        /// Rows updated counted.
        updated: i64,
        /// The least SELECT calls allowed.
        min_selects: i64,
        /// The least rows updated allowed.
        min_updated: i64,
    },
    /// The answer did not match its contract row.
    #[error("{}", .0.join("; "))]
    Mismatches(Vec<String>),
    /// SIGTERM did not end the server with exit code 0.
    #[error("SIGTERM did not end it with exit code 0: {0}")]
    Stop(String),
}
