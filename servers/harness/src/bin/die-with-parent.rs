//! `die-with-parent --parent PID -- PROGRAM [ARGS...]`: runs PROGRAM so that the kernel kills it
//! (SIGKILL) the moment process PID, its parent, dies, however it dies.
//!
//! It is the shell scripts' door to the workspace's one spawner (`harness::parent_death`):
//! it sets the parent-death signal on itself, checks that PID is still its parent, and execs
//! PROGRAM in its place, which keeps the signal. The shell's `$!` is then the program's own PID,
//! so `kill` and `wait` work as before:
//!
//! ```sh
//! die-with-parent --parent $$ -- taskset -c 0 target/release/server-hyper --addr 127.0.0.1:0 &
//! ```
//!
//! `--parent` is required: the parent could die between the fork and this program's first
//! instruction, and only the PID the shell gave closes that window. Start it straight from the
//! shell whose PID you pass (`$$` is not a subshell's PID), or it refuses.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use clap::Parser;
use harness::parent_death::die_with_parent;
use nix::unistd::Pid;

/// Runs a program that the kernel kills when this program's parent dies.
#[derive(Debug, Parser)]
#[command(name = "die-with-parent", version, about)]
struct Args {
    /// The PID of the process that starts this one (in a shell script: `$$`).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    parent: i32,
    /// The program and its arguments, after `--`.
    #[arg(required = true, last = true)]
    program: Vec<OsString>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(err) = die_with_parent(Pid::from_raw(args.parent)) {
        eprintln!(
            "die-with-parent: cannot tie the program to PID {} (is that its parent, still running?): {err}",
            args.parent
        );
        return ExitCode::from(1);
    }
    let (program, rest) = args
        .program
        .split_first()
        .expect("clap requires at least the program");
    // `exec` returns only if it failed.
    let err = Command::new(program).args(rest).exec();
    eprintln!(
        "die-with-parent: cannot run {}: {err}",
        program.to_string_lossy()
    );
    ExitCode::from(127)
}
