//! Servers that die with whoever started them, even when that is killed outright.
//!
//! Dropping a [`ServerProcess`](crate::ServerProcess) kills its server, and `compare` stops its
//! servers on Ctrl-C; neither runs when the harness gets SIGKILL (the OOM killer, a CI timeout,
//! `timeout -s KILL`). The kernel's parent-death signal covers that case: `PR_SET_PDEATHSIG`
//! makes the kernel send SIGKILL to a process as soon as its parent goes, whatever killed it.
//!
//! This is the one spawner of the workspace: [`ServerProcess::spawn`](crate::ServerProcess::spawn)
//! (loadgen's `compare`, the conformance and hardening suites, `loadgen`'s tests) sets it on every
//! server through [`die_with_this_thread`], and the `die-with-parent` binary sets it for the shell
//! scripts (`loadgen/scripts/calibrate.sh`) through [`die_with_parent`] before it execs the server.
//!
//! # What the signal follows
//! - **The thread, not the process.** The kernel sends the signal when the *thread* that forked
//!   the child ends, even if the rest of the process lives on. A server must be spawned from a
//!   thread that outlives it: `compare` spawns from its main thread, each test from its own test
//!   thread, and a [`ServerProcess`](crate::ServerProcess) is dropped (and its server stopped)
//!   before that thread ends. Never spawn from a thread pool whose threads may retire (tokio's
//!   blocking threads do, after ten idle seconds): the server would get SIGKILL mid-run.
//! - **Across exec.** The setting survives `execve`, so a launcher that execs the server
//!   (`taskset -c 0 server-hyper` is one process: taskset sets the affinity, then execs) passes it
//!   on. The kernel clears it only for set-user-ID or set-group-ID binaries and ones with file
//!   capabilities; none of ours is.
//! - **Not across fork.** A server's own children do not inherit it; ours start none.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::unistd::{Pid, getpid, getppid};

/// Asks the kernel to SIGKILL the calling process when its parent (thread) ends, then checks
/// that its parent is still `parent`: if the parent died before the request, the process has
/// already been handed to init (or a subreaper) and the signal would never come, so this
/// returns `ESRCH` instead and the caller must not go on.
///
/// It only makes two system calls (`prctl`, `getppid`) and allocates nothing, so it is safe to
/// call between fork and exec.
pub fn die_with_parent(parent: Pid) -> io::Result<()> {
    die_with_parent_by(parent, Signal::SIGKILL)
}

/// As [`die_with_parent`], with `signal` instead of SIGKILL: PostgreSQL takes SIGQUIT as its
/// immediate shutdown, which also ends its own children ([`crate::postgres`]).
pub fn die_with_parent_by(parent: Pid, signal: Signal) -> io::Result<()> {
    prctl::set_pdeathsig(signal)?;
    if getppid() != parent {
        return Err(io::Error::from(Errno::ESRCH));
    }
    Ok(())
}

/// Makes the process that `command` starts get SIGKILL when the thread that spawns it ends (see
/// the module documentation for why the thread matters). If this process is already gone by the
/// time the child runs, the child exits before exec and never becomes a server.
pub fn die_with_this_thread(command: &mut Command) -> &mut Command {
    die_with_this_thread_by(command, Signal::SIGKILL)
}

/// As [`die_with_this_thread`], with `signal` instead of SIGKILL. The signal is asked for after
/// any user change that `command` makes (std runs `pre_exec` last), so a server started as
/// another user keeps it: the kernel clears it on a change of credentials.
#[allow(unsafe_code)] // `pre_exec` is unsafe; the workspace denies unsafe code everywhere else.
pub fn die_with_this_thread_by(command: &mut Command, signal: Signal) -> &mut Command {
    let parent = getpid();
    // SAFETY: `pre_exec` runs the closure in the child between fork and exec. The child is a copy
    // of a possibly multi-threaded process with only the forking thread left, so any lock another
    // thread held (malloc's, stdio's) stays locked forever: the closure may only make
    // async-signal-safe calls. It makes two system calls, prctl(2) and getppid(2), reads errno,
    // compares two integers (`signal` is a `Copy` enum moved in) and builds an `io::Error` from a raw OS error code (no allocation);
    // `parent` is a `Copy` integer moved in. It touches no lock, allocates nothing and cannot
    // panic. On error std reports the code to the parent and the child exits without exec.
    unsafe { command.pre_exec(move || die_with_parent_by(parent, signal)) }
}
