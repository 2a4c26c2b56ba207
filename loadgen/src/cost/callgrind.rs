//! valgrind's callgrind: the command that starts a server under it, the monitor command that
//! dumps its counters mid-run (what `callgrind_control --dump` sends through vgdb), and the
//! parser of its output files (the `events:` line names the counters, `totals:` or `summary:`
//! holds their values).
//!
//! Every dump writes a file of its own, `<out>.<n>` for the n-th dump, and zeroes the
//! counters, so one run of a server measures many scenarios: each dump holds exactly the work
//! done since the one before.

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

/// The event callgrind counts by default: instructions executed, user space only.
pub const INSTRUCTIONS: &str = "Ir";

/// A callgrind file that does not say what it counted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    /// No `events:` line, or one without `Ir`.
    #[error("no `events:` line naming {INSTRUCTIONS}")]
    NoEvents,
    /// No `totals:` or `summary:` line, or one too short for the events.
    #[error("no `totals:` or `summary:` line with a count for each event")]
    NoTotals,
}

/// A failure to talk to a running callgrind.
#[derive(Debug, Error)]
pub enum DumpError {
    /// vgdb could not be run.
    #[error("cannot run {}: {source}", vgdb.display())]
    Spawn {
        /// The vgdb binary.
        vgdb: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// vgdb ran and failed.
    #[error("`vgdb --pid={pid} {command}` failed ({status}): {output}")]
    Failed {
        /// The valgrind process.
        pid: u32,
        /// The monitor command.
        command: String,
        /// vgdb's exit status.
        status: std::process::ExitStatus,
        /// What it printed.
        output: String,
    },
}

/// The valgrind arguments (before the server's binary) that run it under callgrind, writing its
/// dumps to `out` (`out.1`, `out.2`…) and valgrind's own messages to `log`.
pub fn launcher(valgrind: &Path, out: &Path, log: &Path) -> Vec<String> {
    vec![
        valgrind.display().to_string(),
        "--tool=callgrind".to_owned(),
        format!("--callgrind-out-file={}", out.display()),
        format!("--log-file={}", log.display()),
        // vgdb reaches a server blocked in a syscall (waiting for a request) through ptrace.
        "--vgdb=yes".to_owned(),
    ]
}

/// The file of the `n`-th dump (from 1) of a run writing to `out`.
pub fn dump_path(out: &Path, n: u32) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Asks the callgrind running as `pid` to dump its counters (and zero them), as
/// `callgrind_control --dump=<hint> <pid>` does; returns once the file is written.
pub fn dump(vgdb: &Path, pid: u32, hint: &str) -> Result<(), DumpError> {
    let command = format!("dump {hint}");
    let output = Command::new(vgdb)
        .arg(format!("--pid={pid}"))
        .args(command.split(' '))
        .output()
        .map_err(|source| DumpError::Spawn {
            vgdb: vgdb.to_owned(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(DumpError::Failed {
        pid,
        command,
        status: output.status,
        output: String::from_utf8_lossy(&[output.stdout, output.stderr].concat())
            .trim()
            .to_owned(),
    })
}

/// The instructions (`Ir`) counted in one callgrind output file.
pub fn instructions(text: &str) -> Result<u64, ParseError> {
    let events: Vec<&str> = text
        .lines()
        .find_map(|line| line.strip_prefix("events:"))
        .ok_or(ParseError::NoEvents)?
        .split_whitespace()
        .collect();
    let column = events
        .iter()
        .position(|&e| e == INSTRUCTIONS)
        .ok_or(ParseError::NoEvents)?;
    // `totals:` is the sum over the file; `summary:` is the older name for the same figure.
    let totals = |prefix: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|values| values.split_whitespace().nth(column))
            .and_then(|value| value.parse::<u64>().ok())
    };
    totals("totals:")
        .or_else(|| totals("summary:"))
        .ok_or(ParseError::NoTotals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_instructions_of_a_real_dump() {
        // A dump taken on this project's machine (`vgdb --pid=PID dump json-1000`, what
        // `callgrind_control --dump` sends) of the debug server-tokio after 1,000 `GET /json` on
        // one connection; the per-function lines are cut after the first function.
        let text = include_str!("fixtures/callgrind.out.1");
        assert_eq!(instructions(text), Ok(29_636_022));
    }

    #[test]
    fn the_instructions_column_is_found_by_name() {
        let text = "events: Dr Ir Dw\nsummary: 5 7 9\n";
        assert_eq!(instructions(text), Ok(7));
        let text = "events: Ir\nsummary: 11\ntotals: 12\n";
        assert_eq!(instructions(text), Ok(12));
        assert_eq!(instructions("summary: 5\n"), Err(ParseError::NoEvents));
        assert_eq!(
            instructions("events: Dr\nsummary: 5\n"),
            Err(ParseError::NoEvents)
        );
        assert_eq!(
            instructions("events: Dr Ir\nsummary: 5\n"),
            Err(ParseError::NoTotals)
        );
        assert_eq!(instructions("events: Ir\n"), Err(ParseError::NoTotals));
    }

    #[test]
    fn dumps_are_numbered_after_the_output_file() {
        assert_eq!(
            dump_path(Path::new("/tmp/x/callgrind.out"), 3),
            PathBuf::from("/tmp/x/callgrind.out.3")
        );
    }
}
