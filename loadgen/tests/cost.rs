//! `loadgen cost` end to end on a real server: the counts are positive and two measurements
//! agree; without valgrind it says how to install it and measures the rest.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harness::skip::{Missing, skip};
use loadgen::results::cost::{CostTable, Figure};

fn cost(args: &[&str], path: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    command.arg("cost").args(args);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().expect("loadgen runs")
}

fn tokio_binary() -> PathBuf {
    harness::server_binary("tokio").expect("server-tokio is built")
}

fn read_table(out: &Path) -> CostTable {
    let text = std::fs::read_to_string(out.join("cost.json")).expect("cost.json is written");
    serde_json::from_str(&text).expect("cost.json is a cost table")
}

fn valgrind_is_installed() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok()
}

/// A small run: one scenario, a few hundred requests per sample (valgrind starts slowly: this
/// is six valgrind runs).
fn small_run<'a>(binary: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "--binary",
        binary,
        "--scenarios",
        "json",
        "--requests",
        "32,96",
        "--dhat-requests",
        "100,300",
        "--load-requests",
        "2000,6000",
        "--warmup-requests",
        "16",
        "--out",
        out,
    ]
}

#[test]
fn counts_are_positive_and_two_measurements_agree() {
    if !valgrind_is_installed() {
        skip(
            "counts_are_positive_and_two_measurements_agree",
            Missing::Valgrind,
            "`valgrind --version` cannot run (apt-get install valgrind)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cost");
    let binary = format!("tokio={}", tokio_binary().display());
    let output = cost(&small_run(&binary, out.to_str().unwrap()), None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let table = read_table(&out);
    assert_eq!(table.servers.len(), 1);
    let server = &table.servers[0];
    assert_eq!(server.results.len(), 1);
    for result in &server.results {
        assert!(
            result.with_runtime.is_none(),
            "a Rust server has no runtime counted apart"
        );
        // tokio allocates once per `GET /json`, nothing per pipelined request.
        let allocates = result.scenario == "json";
        let runs = |figure: &Figure, positive: bool| {
            let runs = figure.runs();
            assert_eq!(runs.len(), 2, "{}: {figure:?}", result.scenario);
            if positive {
                assert!(
                    runs.iter().all(|&r| r > 0.0),
                    "{}: {figure:?}",
                    result.scenario
                );
            }
            runs
        };
        let instructions = runs(&result.instructions, true);
        let allocations = runs(&result.allocations, allocates);
        runs(&result.bytes_allocated, allocates);
        if table.tools.perf_events.missing().is_none() {
            runs(&result.syscalls, true);
            assert!(!result.syscalls_by_kind.is_empty());
        }
        // Instructions repeat within 1 %. Allocations are counted exactly, in one process:
        // the same whole number per request in both measurements, give or take one block of
        // work the clock drives (a date refreshed once a second) over the 64 requests between
        // the samples.
        let spread = (instructions[0] - instructions[1]).abs() / instructions[0];
        assert!(spread < 0.01, "{}: {instructions:?}", result.scenario);
        let whole = allocations[0].round();
        assert!(
            allocations
                .iter()
                .all(|a| (a - whole).abs() <= 1.0 / 64.0 + 1e-9),
            "{}: {allocations:?}",
            result.scenario
        );
    }
    let markdown = std::fs::read_to_string(out.join("cost.md")).unwrap();
    assert!(markdown.contains("| tokio | "), "{markdown}");
    assert!(!markdown.contains("runtime's share"), "{markdown}");
}

/// A Go server runs under callgrind (with the runtime's signal preemption off): its
/// instructions and allocations (calls to `runtime.mallocgc`) are counted, those that serve
/// the requests ranked and its runtime's work beside them; DHAT cannot see its bytes, and says
/// why.
#[test]
fn a_go_server_gets_instructions_and_allocations_and_the_reason_for_no_bytes() {
    const TEST: &str = "a_go_server_gets_instructions_and_allocations_and_the_reason_for_no_bytes";
    if !valgrind_is_installed() {
        skip(
            TEST,
            Missing::Valgrind,
            "`valgrind --version` cannot run (apt-get install valgrind)",
        );
        return;
    }
    if harness::go_tool().is_none() {
        skip(TEST, Missing::Go, harness::NO_GO);
        return;
    }
    // With Go installed, a failed build is the project's error, not a skip.
    let binary = harness::server_binary("go-nethttp").expect("server-go-nethttp builds");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cost");
    let binary = format!("go-nethttp={}", binary.display());
    let mut args = small_run(&binary, out.to_str().unwrap());
    args.extend(["--repeat", "1"]);
    let output = cost(&args, None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let result = &read_table(&out).servers[0].results[0];
    // The reference run (results/cost-2026-11-25-sixteen-vm/cost.json) counts about 44,000
    // instructions and 22 calls to runtime.mallocgc per `GET /json` of go-nethttp. These small
    // samples (32 and 96 requests) can take in a GC cycle, so the bounds are wide, but a count
    // of a few instructions (a thread missed, the runtime's preemption not off) or of millions
    // (the start-up counted in) is outside them.
    let per_request = |figure: &Figure| figure.per_request().unwrap_or(f64::NAN);
    let instructions = per_request(&result.instructions);
    assert!(
        (10_000.0..500_000.0).contains(&instructions),
        "{:?}",
        result.instructions
    );
    let allocations = per_request(&result.allocations);
    assert!(
        (5.0..100.0).contains(&allocations),
        "{:?}",
        result.allocations
    );
    let reason = result.bytes_allocated.reason().expect("no DHAT figure");
    assert!(reason.contains("runtime.mallocgc"), "{reason}");
    // The second run, as the server runs, counts the runtime's work too: sysmon's thread and
    // the scheduler's search alone are thousands of instructions a request under valgrind.
    let whole = result
        .with_runtime
        .as_ref()
        .expect("a Go server's counts with its runtime");
    let whole_instructions = per_request(&whole.instructions);
    assert!(
        whole_instructions > instructions + 500.0 && whole_instructions < 2.0 * instructions,
        "with the runtime {whole_instructions}, serving {instructions}"
    );
    assert!(
        (5.0..100.0).contains(&per_request(&whole.allocations)),
        "{:?}",
        whole.allocations
    );
    let markdown = std::fs::read_to_string(out.join("cost.md")).unwrap();
    assert!(markdown.contains("| go-nethttp | json | "), "{markdown}");
}

#[test]
fn without_valgrind_it_names_the_install_command_and_measures_the_rest() {
    // A PATH with taskset (which pins the server) and nothing of valgrind's.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    if let Some(taskset) =
        loadgen::cost::find_in_path("taskset", std::env::var_os("PATH").as_deref())
    {
        std::os::unix::fs::symlink(taskset, bin.join("taskset")).unwrap();
    }
    let out = dir.path().join("cost");
    let binary = format!("tokio={}", tokio_binary().display());
    let output = cost(
        &[
            "--binary",
            &binary,
            "--scenarios",
            "plaintext",
            "--load-requests",
            "500,1500",
            "--repeat",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(&bin),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("apt-get install valgrind"), "{stderr}");
    let table = read_table(&out);
    let result = &table.servers[0].results[0];
    for figure in [
        &result.instructions,
        &result.allocations,
        &result.bytes_allocated,
    ] {
        let reason = figure.reason().expect("no valgrind figures");
        assert!(reason.contains("apt-get install valgrind"), "{reason}");
    }
    if table.tools.perf_events.missing().is_none() {
        assert!(result.syscalls.per_request().is_some_and(|s| s > 0.0));
    }
}
