//! The `loadgen` binary: bad input fails with a clear message and a non-zero exit, results are
//! written as promised, and `verify` checks a real server.

mod common;

use std::process::{Command, Output};

use common::{Faults, TestServer};
use harness::ServerProcess;

fn loadgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .expect("loadgen runs")
}

fn fails_with(args: &[&str], message: &str) {
    let output = loadgen(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} succeeded");
    assert!(
        output.status.code().is_some(),
        "{args:?} was killed by a signal: a panic?"
    );
    assert!(stderr.contains(message), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn bad_input_gets_a_clear_error_and_a_non_zero_exit() {
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://127.0.0.1:{free_port}/");
    fails_with(&["run", "not a url", "-n", "1"], "not a valid URL");
    fails_with(&["run", "ftp://127.0.0.1/", "-n", "1"], "only http");
    fails_with(&["run", &closed, "-n", "1"], "cannot connect");
    fails_with(&["run", &closed, "-c", "0"], "invalid value '0'");
    fails_with(
        &["run", &closed, "--rate", "10", "-n", "5"],
        "cannot be used with",
    );
    fails_with(&["run", &closed, "-d", "soon"], "is not a duration");
    fails_with(
        &["run", &closed, "-c", "1", "-t", "2"],
        "at least one per thread",
    );
    fails_with(
        &["run", "https://127.0.0.1/", "--engine", "hyper", "-n", "1"],
        "http:// only",
    );
    fails_with(&["run", &closed, "-H", "nocolon"], "Name: value");
    fails_with(
        &["merge", "/no/such/a.json", "/no/such/b.json"],
        "cannot read",
    );
}

#[test]
fn an_unwritable_or_existing_json_path_is_refused_before_any_load() {
    let server = TestServer::start(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing/out.json");
    fails_with(
        &[
            "run",
            &server.url("/"),
            "-n",
            "10",
            "--json",
            missing.to_str().unwrap(),
        ],
        "cannot write",
    );
    let existing = dir.path().join("exists.json");
    std::fs::write(&existing, "keep me").unwrap();
    fails_with(
        &[
            "run",
            &server.url("/"),
            "-n",
            "10",
            "--json",
            existing.to_str().unwrap(),
        ],
        "exists",
    );
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    assert_eq!(
        server.answered.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "load ran before the check"
    );
}

#[test]
fn run_writes_json_that_merge_reads_back_exactly() {
    let server = TestServer::start(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let (a, b, merged) = (
        dir.path().join("a.json"),
        dir.path().join("b.json"),
        dir.path().join("m.json"),
    );
    for (path, engine) in [(&a, "hyper"), (&b, "reqwest")] {
        let output = loadgen(&[
            "run",
            &server.url("/"),
            "-n",
            "300",
            "-c",
            "3",
            "--engine",
            engine,
            "--json",
            path.to_str().unwrap(),
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("throughput") && stdout.contains("p99"),
            "{stdout}"
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    assert_eq!(report["requests"], 300);
    assert_eq!(report["status"]["200"], 300);
    assert_eq!(report["partial"], false);
    assert!(report["histogram"].as_str().is_some_and(|h| h.len() > 10));
    let output = loadgen(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--json",
        merged.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let merged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    assert_eq!(merged["requests"], 600);
    assert_eq!(merged["status"]["200"], 600);
}

#[test]
fn verify_passes_a_conforming_server_and_fails_a_stranger() {
    let server = ServerProcess::start("hyper", 1).expect("server-hyper starts");
    let url = format!("http://{}", server.addr());
    let output = loadgen(&["verify", &url]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("0 mismatches"), "{stdout}");
    let output = loadgen(&["verify", &url, "--server", "axum"]);
    assert_eq!(output.status.code(), Some(1));

    let stranger = TestServer::start(Faults::default());
    let output = loadgen(&["verify", &stranger.url(""), "--timeout", "2s"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("MISMATCH"));
}

#[test]
fn a_signal_mid_run_stops_it_and_still_writes_partial_results() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let server = TestServer::start(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        let json = dir.path().join(format!("{signal}.json"));
        let child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "run",
                &server.url("/"),
                "-c",
                "2",
                "-d",
                "30s",
                "--json",
                json.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        let started = std::time::Instant::now();
        let output = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{signal}: it did not stop"
        );
        assert_eq!(
            output.status.code(),
            Some(130),
            "{signal}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("partial"));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(report["partial"], true, "{signal}");
        assert!(report["responses"].as_u64().unwrap() > 0, "{signal}");
    }
}
