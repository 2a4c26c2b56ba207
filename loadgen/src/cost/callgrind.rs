//! valgrind's callgrind: the command that starts a server under it, the monitor command that
//! dumps its counters mid-run (what `callgrind_control --dump` sends through vgdb), and the
//! parser of its output files (the `events:` line names the counters, `totals:` or `summary:`
//! holds their values).
//!
//! Every dump writes a file of its own, `<out>.<n>` for the n-th dump, and zeroes the
//! counters, so one run of a server measures many scenarios: each dump holds exactly the work
//! done since the one before.
//!
//! A dump also counts every call from one function to another (its `calls=` lines), and so the
//! calls into the allocator: the allocations, counted exactly in the same run as the
//! instructions (DHAT, which sees the sizes, cannot be zeroed mid-run).

use std::collections::HashMap;

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

/// The event callgrind counts by default: instructions executed, user space only.
pub const INSTRUCTIONS: &str = "Ir";

/// The functions a program calls for a new heap block: the C library's (Rust's default global
/// allocator calls `malloc`, `calloc`, `realloc` and, for large alignments, `posix_memalign`)
/// and the Go runtime's `mallocgc`, which every Go allocation that escapes to the heap goes
/// through (`new`, `make`, appends that grow, conversions to interfaces). None of them calls
/// another of them in glibc or in Go 1.26, so no block is counted twice.
pub const ALLOCATOR_ENTRIES: &[&str] = &[
    "malloc",
    "calloc",
    "realloc",
    "posix_memalign",
    "aligned_alloc",
    "memalign",
    "valloc",
    "pvalloc",
    "runtime.mallocgc",
];

/// What one dump counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpCounts {
    /// Instructions executed (`Ir`).
    pub instructions: u64,
    /// Calls into [`ALLOCATOR_ENTRIES`].
    pub allocations: u64,
}

/// A callgrind file that does not say what it counted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    /// No `events:` line, or one without `Ir`.
    #[error("no `events:` line naming {INSTRUCTIONS}")]
    NoEvents,
    /// No `totals:` or `summary:` line, or one too short for the events.
    #[error("no `totals:` or `summary:` line with a count for each event")]
    NoTotals,
    /// A `cfn=(id)` that no earlier line of the file named.
    #[error("`cfn=({0})` refers to a function the file never named")]
    UnknownFunction(String),
    /// A `calls=` line whose count is not a number.
    #[error("a `calls=` line without a count: {0:?}")]
    BadCalls(String),
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
        // Function names in full on every line: each dump can then be read on its own.
        "--compress-strings=no".to_owned(),
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

/// The instructions and the allocations counted in one callgrind output file.
pub fn counts(text: &str) -> Result<DumpCounts, ParseError> {
    Ok(DumpCounts {
        instructions: instructions(text)?,
        allocations: calls_to(text, ALLOCATOR_ENTRIES)?,
    })
}

/// The calls counted in one callgrind output file into any of `functions`, by name. Reads both
/// the plain form (`cfn=malloc`) and the compressed one (`cfn=(12) malloc` the first time,
/// `cfn=(12)` after).
pub fn calls_to(text: &str, functions: &[&str]) -> Result<u64, ParseError> {
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut callee: Option<&str> = None;
    let mut total = 0;
    for line in text.lines() {
        let (is_callee, spec) = if let Some(spec) = line.strip_prefix("cfn=") {
            (true, spec)
        } else if let Some(spec) = line.strip_prefix("fn=") {
            (false, spec)
        } else if let Some(calls) = line.strip_prefix("calls=") {
            let count = calls
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| ParseError::BadCalls(line.to_owned()))?;
            if callee.is_some_and(|name| functions.contains(&name)) {
                total += count;
            }
            continue;
        } else {
            continue;
        };
        // A compressed name's id is a number: `(below main)` is a name.
        let compressed = spec
            .strip_prefix('(')
            .and_then(|rest| rest.split_once(')'))
            .filter(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
        let name = match compressed {
            Some((id, "")) => *names
                .get(id)
                .ok_or_else(|| ParseError::UnknownFunction(id.to_owned()))?,
            Some((id, name)) => {
                let name = name.trim_start();
                names.insert(id, name);
                name
            }
            None => spec,
        };
        // A new function's block: its calls name their callee afresh.
        callee = is_callee.then_some(name);
    }
    Ok(total)
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
    fn counts_the_allocations_of_real_dumps_of_a_rust_and_a_go_server() {
        // Dumps taken on this project's machine with the launcher's options (names in full),
        // of the release server-hyper and server-go-gin (GODEBUG=asyncpreemptoff=1) after
        // 100 unmeasured and then 200 measured `GET /json` on one connection. The functions
        // that call no allocator are cut, and of the others every call but the allocator's
        // and one more; `totals:` and the allocator calls are as callgrind wrote them (a
        // script summed those over the whole dump: 1,612 and 4,542).
        let hyper = include_str!("fixtures/callgrind-hyper-json.out");
        assert_eq!(
            counts(hyper),
            Ok(DumpCounts {
                instructions: 2_048_503,
                allocations: 1_612,
            })
        );
        let go = include_str!("fixtures/callgrind-go-gin-json.out");
        assert_eq!(
            counts(go),
            Ok(DumpCounts {
                instructions: 8_262_881,
                allocations: 4_542,
            })
        );
    }

    #[test]
    fn only_calls_into_the_allocator_are_counted_in_either_form_of_names() {
        let plain = "events: Ir\nfn=main\ncfn=malloc\ncalls=3 10\n* 9\ncfn=free\ncalls=5 11\n\
                     * 4\nfn=(below main)\ncfn=(below main)\ncalls=1 2\n* 1\ncfn=calloc\ncalls=2 3\n* 1\n";
        assert_eq!(calls_to(plain, ALLOCATOR_ENTRIES), Ok(5));
        let compressed = "fn=(1) main\ncfn=(2) malloc\ncalls=3 10\n* 9\ncfn=(3) free\ncalls=5 11\n\
                          * 4\nfn=(3)\ncfn=(2)\ncalls=7 1\n* 2\n";
        assert_eq!(calls_to(compressed, ALLOCATOR_ENTRIES), Ok(10));
        assert_eq!(
            calls_to("fn=(1) a\ncfn=(9)\ncalls=1 2\n", ALLOCATOR_ENTRIES),
            Err(ParseError::UnknownFunction("9".into()))
        );
        assert!(matches!(
            calls_to("cfn=malloc\ncalls=x 2\n", ALLOCATOR_ENTRIES),
            Err(ParseError::BadCalls(_))
        ));
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
