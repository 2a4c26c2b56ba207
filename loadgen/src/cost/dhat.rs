//! valgrind's DHAT: the command that starts a server under it and the reader of the JSON file
//! it writes when the server exits (one entry per allocation point, `tbk` blocks and `tb`
//! bytes allocated there over the whole run).
//!
//! DHAT (valgrind 3.19) has no way to zero or dump its counts mid-run: no monitor commands, no
//! client request for it. So each sample is a run of its own, from start to exit, and the
//! marginal count between two runs that differ only in the number of requests of one scenario
//! is that scenario's cost per request.

use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

/// A DHAT file that cannot be read.
#[derive(Debug, Error)]
pub enum ParseError {
    /// Not JSON of the expected shape.
    #[error("not a DHAT heap profile: {0}")]
    Json(#[from] serde_json::Error),
    /// A DHAT file of another mode (copy, ad-hoc) or version.
    #[error("a DHAT file of mode {mode:?}, version {version}; heap mode, version 2 is needed")]
    Mode {
        /// Its mode.
        mode: String,
        /// Its `dhatFileVersion`.
        version: u32,
    },
}

/// What a whole run allocated on the heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapTotals {
    /// Blocks allocated.
    pub blocks: u64,
    /// Bytes allocated.
    pub bytes: u64,
}

#[derive(Deserialize)]
struct DhatFile {
    #[serde(rename = "dhatFileVersion")]
    version: u32,
    mode: String,
    pps: Vec<ProgramPoint>,
}

#[derive(Deserialize)]
struct ProgramPoint {
    /// Total bytes allocated at this point.
    tb: u64,
    /// Total blocks allocated at this point.
    tbk: u64,
}

/// The valgrind arguments (before the server's binary) that run it under DHAT, writing its
/// profile to `out` and valgrind's own messages to `log`.
pub fn launcher(valgrind: &Path, out: &Path, log: &Path) -> Vec<String> {
    vec![
        valgrind.display().to_string(),
        "--tool=dhat".to_owned(),
        format!("--dhat-out-file={}", out.display()),
        format!("--log-file={}", log.display()),
    ]
}

/// The heap allocations of a whole run, summed over its allocation points.
pub fn totals(json: &str) -> Result<HeapTotals, ParseError> {
    let file: DhatFile = serde_json::from_str(json)?;
    if file.mode != "heap" || file.version != 2 {
        return Err(ParseError::Mode {
            mode: file.mode,
            version: file.version,
        });
    }
    Ok(file.pps.iter().fold(
        HeapTotals {
            blocks: 0,
            bytes: 0,
        },
        |sum, pp| HeapTotals {
            blocks: sum.blocks + pp.tbk,
            bytes: sum.bytes + pp.tb,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_of_a_real_profile() {
        // Written on this project's machine by `valgrind --tool=dhat` of the debug server-tokio,
        // stopped with SIGTERM after 100 `GET /json` on one connection (the frame table, stacks
        // and access histograms emptied to keep it small). DHAT's own summary of that run said
        // "Total: 86,472 bytes in 371 blocks".
        let totals = totals(include_str!("fixtures/dhat.out.json")).unwrap();
        assert_eq!(
            totals,
            HeapTotals {
                blocks: 371,
                bytes: 86_472
            }
        );
    }

    #[test]
    fn other_modes_and_shapes_are_refused() {
        let copy = r#"{"dhatFileVersion":2,"mode":"copy","pps":[]}"#;
        assert!(matches!(totals(copy), Err(ParseError::Mode { .. })));
        assert!(matches!(totals("{}"), Err(ParseError::Json(_))));
        let two =
            r#"{"dhatFileVersion":2,"mode":"heap","pps":[{"tb":10,"tbk":1},{"tb":5,"tbk":2}]}"#;
        assert_eq!(
            totals(two).unwrap(),
            HeapTotals {
                blocks: 3,
                bytes: 15
            }
        );
    }
}
