//! `loadgen compare --targets` end to end: a server this test starts stands for one that runs
//! elsewhere; it is verified, measured, and its CPU time and memory are "not measured
//! (remote)", never zero. A target that cannot be reached stops the run before any load.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use harness::ServerProcess;
use serde_json::Value;

fn compare(targets: &str, out: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    harness::parent_death::die_with_this_thread(&mut command);
    command
        .args([
            "compare",
            "--targets",
            targets,
            "--no-progress",
            "--scenarios",
            "plaintext",
            "-d",
            "200ms",
            "--warmup",
            "100ms",
            "--scenario-warmup",
            "50ms",
            "--rounds",
            "2",
            "--rates",
            "50%",
            "--sweep-scenarios",
            "plaintext",
            "--sweep-rounds",
            "1",
            "--sweep-duration",
            "200ms",
            "--timeout",
            "2s",
            "--out",
        ])
        .arg(out)
        .output()
        .expect("loadgen runs")
}

#[test]
fn a_remote_server_is_measured_without_cpu_or_memory_figures() {
    let binary = harness::server_binary("hyper").expect("server-hyper exists or builds");
    // Dies with this test, whatever happens to it.
    let mut server = ServerProcess::spawn(
        "hyper",
        &binary,
        &["--addr".to_owned(), "127.0.0.1:0".to_owned()],
        &[],
        Duration::from_secs(15),
    )
    .expect("server-hyper starts");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("remote");
    let output = compare(&format!("hyper=http://{}", server.addr()), &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("answers the contract"), "{stderr}");
    assert!(
        !server.has_exited(),
        "compare must leave a remote server running"
    );

    let run: Value = serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    let contender = &run["contenders"][0];
    assert_eq!(contender["label"], "hyper");
    assert_eq!(
        contender["remote_url"],
        format!("http://{}", server.addr()).as_str()
    );
    let closed = run["measurements"]["closed"].as_array().unwrap();
    assert_eq!(closed.len(), 2, "two rounds of plaintext");
    for sample in closed {
        assert!(sample["rps"].as_f64().unwrap() > 0.0);
        assert!(
            sample["server_cpu_us"].is_null(),
            "a remote server's CPU is not measured, not zero: {sample}"
        );
    }
    for visit in run["measurements"]["visits"].as_array().unwrap() {
        assert!(visit["rss_peak_kib"].is_null(), "{visit}");
    }
    assert!(!run["measurements"]["open"].as_array().unwrap().is_empty());

    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.contains("not measured (remote)") && summary.contains("nor restarted"),
        "{summary}"
    );
    assert!(!summary.contains("0 MiB"), "{summary}");
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let row = csv.lines().nth(1).unwrap();
    assert_eq!(row.matches("not measured (remote)").count(), 4, "{row}");
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("not measured (remote)"));
    server.stop(Duration::from_secs(5)).unwrap();
}

#[test]
fn an_unreachable_target_fails_before_anything_is_measured() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let output = compare(&format!("hyper=http://127.0.0.1:{port}"), &out);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("hyper at http://127.0.0.1") && stderr.contains("cannot be verified"),
        "{stderr}"
    );
    assert!(!out.exists(), "a refused run must not create its folder");

    let bad = compare("nginx=http://127.0.0.1:1", &out);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nginx"));
}
