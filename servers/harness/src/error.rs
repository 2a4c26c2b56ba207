//! Why a server could not be started: the one error type of the harness.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// Why a server could not be started.
#[derive(Debug, Error)]
pub enum StartError {
    /// The binary is not where it should be and could not be built.
    #[error("no binary for server-{name} at {}: {reason}", path.display())]
    NoBinary {
        /// The server.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
        /// What went wrong building it.
        reason: String,
    },
    /// The process could not be spawned.
    #[error("cannot start {}: {source}", path.display())]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// It did not print its ready line in time, or printed something else.
    #[error("server-{name} did not print `listening on http://…` within {timeout:?}: {detail}")]
    NotReady {
        /// The server.
        name: String,
        /// How long we waited.
        timeout: Duration,
        /// What we saw instead.
        detail: String,
    },
}
