//! `skips clear` empties the skip log (`target/skips.log`) before a run; `skips report` counts
//! and prints the tests that it lists after the run, so that a skip is never only an `ok`.
//!
//! `just test` and `.ci/run` run it around `cargo test --workspace`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use harness::skip;

/// Clears or reports the log of skipped tests.
#[derive(Debug, Parser)]
#[command(name = "skips", version, about)]
struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Empty the log, before a run.
    Clear,
    /// Count and print the skipped tests, after a run.
    Report,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(log) = skip::log_path() else {
        eprintln!("skips: cannot tell where the target folder is");
        return ExitCode::FAILURE;
    };
    match args.action {
        Action::Clear => match std::fs::remove_file(&log) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("skips: cannot remove {}: {err}", log.display());
                ExitCode::FAILURE
            }
        },
        Action::Report => match skip::read_log(&log) {
            Ok(lines) if lines.is_empty() => {
                println!("skipped tests: none");
                ExitCode::SUCCESS
            }
            Ok(lines) => {
                println!("skipped tests: {} ({})", lines.len(), log.display());
                for line in &lines {
                    println!("  {line}");
                }
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("skips: cannot read {}: {err}", log.display());
                ExitCode::FAILURE
            }
        },
    }
}
