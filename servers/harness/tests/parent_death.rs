//! No server outlives its harness, even one killed outright: a harness in a child process starts
//! a server through the spawner, the test SIGKILLs the harness, and the server must be gone
//! within a second. Once through `ServerProcess` (what loadgen and the suites use), with and
//! without the `taskset` launcher, and once through `die-with-parent` from a shell (what the
//! scripts use).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use harness::ServerProcess;
use harness::parent_death::die_with_this_thread;
use nix::sched::{CpuSet, sched_getaffinity};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

/// Set in the harness child: the launcher to start the server with, blank for none.
const HARNESS_LAUNCHER: &str = "PARENT_DEATH_HARNESS_LAUNCHER";
/// How soon the server must be gone after its harness.
const GRACE: Duration = Duration::from_secs(1);

fn server_binary() -> PathBuf {
    harness::server_binary("std").expect("server-std exists or builds")
}

/// `taskset -c N` with N the first CPU this process may use.
fn taskset() -> String {
    let set = sched_getaffinity(Pid::from_raw(0)).expect("the affinity of this process");
    let cpu = (0..CpuSet::count())
        .find(|&cpu| set.is_set(cpu).unwrap_or(false))
        .expect("some CPU");
    format!("taskset -c {cpu}")
}

/// Whether `pid` is gone: no such process, or a zombie (dead, waiting for init to reap it).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, fields)| fields.starts_with('Z')),
    }
}

/// Waits up to `GRACE` for `pid` to go; if it does not, kills it (this test started it) and
/// says how long it lived on.
fn assert_gone_soon(pid: u32, what: &str) {
    let killed = Instant::now();
    while !gone(pid) {
        if killed.elapsed() > GRACE {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            panic!("server {pid} still runs {GRACE:?} after {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reads lines from `out` until one starts with `prefix`, and returns the rest of it.
fn line_after(out: &mut BufReader<ChildStdout>, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let read = out.read_line(&mut line).expect("read the harness's output");
        assert!(read > 0, "the harness ended before printing {prefix:?}");
        if let Some(rest) = line.trim().strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
}

/// SIGKILLs `harness`, reaps it, and checks that `server` follows it within `GRACE`.
fn kill_harness_and_check(mut harness: Child, server: u32, what: &str) {
    assert!(
        !gone(server),
        "server {server} is not running to begin with"
    );
    harness.kill().expect("SIGKILL the harness");
    harness.wait().expect("reap the harness");
    assert_gone_soon(server, what);
}

/// The child process of `a_server_dies_within_a_second_of_its_sigkilled_harness`: it starts
/// server-std through `ServerProcess`, prints its PID and waits to be killed.
#[test]
#[ignore = "the harness child of the parent-death tests, which run it themselves"]
fn harness_child() {
    let launcher = std::env::var(HARNESS_LAUNCHER)
        .expect("run by a_server_dies_within_a_second_of_its_sigkilled_harness");
    let launcher: Vec<String> = launcher.split_whitespace().map(str::to_owned).collect();
    let args = ["--addr", "127.0.0.1:0", "--threads", "1"].map(str::to_owned);
    let server = ServerProcess::spawn(
        "std",
        &server_binary(),
        &args,
        &launcher,
        Duration::from_secs(10),
    )
    .expect("server-std starts");
    println!("server pid {}", server.pid());
    // The parent kills us long before this ends; it bounds the child if the parent dies first.
    std::thread::sleep(Duration::from_secs(30));
}

#[test]
fn a_server_dies_within_a_second_of_its_sigkilled_harness() {
    // Build it here, not in the child, so that a build does not count against the child's time.
    server_binary();
    for launcher in [String::new(), taskset()] {
        let what = format!("its harness was SIGKILLed (launcher {launcher:?})");
        let mut harness = Command::new(std::env::current_exe().expect("this test's binary"));
        // Should this test die, its harness (and so the server) goes with it.
        let mut harness = die_with_this_thread(&mut harness)
            .args(["--exact", "harness_child", "--ignored", "--nocapture"])
            .env(HARNESS_LAUNCHER, &launcher)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the harness starts");
        let mut out = BufReader::new(harness.stdout.take().expect("piped"));
        let server = line_after(&mut out, "server pid ").parse().expect("a PID");
        kill_harness_and_check(harness, server, &what);
    }
}

#[test]
fn a_server_started_by_die_with_parent_dies_within_a_second_of_its_sigkilled_shell() {
    let script = format!(
        "{} --parent $$ -- {} {} --addr 127.0.0.1:0 --threads 1 & echo \"server pid $!\"; wait",
        env!("CARGO_BIN_EXE_die-with-parent"),
        taskset(),
        server_binary().display()
    );
    let mut shell = Command::new("sh")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh starts");
    let mut out = BufReader::new(shell.stdout.take().expect("piped"));
    let server = line_after(&mut out, "server pid ").parse().expect("a PID");
    // Killing the shell before the server is up would test a server that never started.
    line_after(&mut out, "listening on ");
    kill_harness_and_check(shell, server, "its shell was SIGKILLed (die-with-parent)");
}

#[test]
fn die_with_parent_refuses_a_pid_that_is_not_its_parent() {
    // PID 1 is not the parent of a process this test starts, so the program must not run.
    let output = Command::new(env!("CARGO_BIN_EXE_die-with-parent"))
        .args(["--parent", "1", "--", "echo", "ran"])
        .output()
        .expect("die-with-parent runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "the program ran anyway");
    assert!(String::from_utf8_lossy(&output.stderr).contains("PID 1"));
}

#[test]
fn a_server_dies_with_the_thread_that_spawned_it() {
    // The signal follows the spawning thread, not the process (see `parent_death`): a server
    // left running when its thread ends is killed, here with this process still alive.
    let binary = server_binary();
    let pid = std::thread::spawn(move || {
        let args = ["--addr", "127.0.0.1:0", "--threads", "1"].map(str::to_owned);
        let server = ServerProcess::spawn("std", &binary, &args, &[], Duration::from_secs(10))
            .expect("server-std starts");
        let pid = server.pid();
        // Leak it: no Drop stops it, only the kernel when this thread ends.
        std::mem::forget(server);
        pid
    })
    .join()
    .expect("the thread ends");
    assert_gone_soon(pid, "the thread that spawned it ended");
    // It is still this process's child (a zombie now): reap it.
    let _ = waitpid(Pid::from_raw(pid as i32), None);
}
