//! `loadgen compare` end to end on two real servers with tiny durations, and the promise that no
//! server process outlives a run: not when a server crashes mid-run, not on Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// The folder holding the servers' binaries, built if need be.
fn server_dir(servers: &[&str]) -> PathBuf {
    let mut dir = PathBuf::new();
    for server in servers {
        let binary = harness::server_binary(server).expect("the server binary exists or builds");
        dir = binary
            .parent()
            .expect("a binary is in a folder")
            .to_path_buf();
    }
    dir
}

/// A comparison without its cost phase (valgrind would take most of these tests' time).
fn compare(servers: &[&str], out: &Path, extra: &[&str]) -> Command {
    let mut command = compare_with_cost(servers, out, extra);
    command.arg("--no-cost");
    command
}

fn compare_with_cost(servers: &[&str], out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    // Should this test be killed, its compare goes too (and takes its servers along).
    harness::parent_death::die_with_this_thread(&mut command);
    command
        .args([
            "compare",
            "--servers",
            &servers.join(","),
            "--no-progress",
            "--server-bin-dir",
        ])
        .arg(server_dir(servers))
        .arg("--out")
        .arg(out)
        .args(extra);
    command
}

fn run_json(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("run.json")).expect("run.json exists"))
        .expect("run.json is JSON")
}

/// Processes whose parent is `parent`, with their command names.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head
            .split_once('(')
            .map(|(_, c)| c.to_owned())
            .unwrap_or_default();
        let ppid: Option<u32> = tail.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(parent) {
            children.push((pid, comm));
        }
    }
    children
}

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; it is dead all the same.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, tail)| !tail.trim_start().starts_with('Z'))
    })
}

/// Waits for a server child of `compare` to appear and returns its pid.
fn wait_for_server(compare: &Child) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((pid, _)) = children_of(compare.id())
            .into_iter()
            .find(|(_, comm)| comm.starts_with("server-"))
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no server started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finish(compare: Child) -> (Output, Duration) {
    let started = Instant::now();
    let output = compare.wait_with_output().expect("compare ends");
    (output, started.elapsed())
}

#[test]
fn compare_writes_every_file_with_the_promised_shape() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results").join("run-1");
    let args = [
        "--scenarios",
        "plaintext,pipelined,users,echo",
        "-d",
        "200ms",
        "--warmup",
        "100ms",
        "--scenario-warmup",
        "50ms",
        "--rounds",
        "2",
        "--rates",
        "50%,2000",
        "--sweep-scenarios",
        "plaintext,echo",
        "--sweep-rounds",
        "1",
        "--sweep-duration",
        "200ms",
    ];
    let output = compare(&["std", "hyper"], &out, &args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in [
        "run.json",
        "summary.csv",
        "sweep.csv",
        "summary.md",
        "throughput.svg",
        "throughput-pipelined.svg",
        "cpu.svg",
        "memory.svg",
        "sweep-plaintext.svg",
        "spectrum-plaintext.svg",
        "sweep-echo.svg",
        "spectrum-echo.svg",
        "index.html",
        "latency/plaintext-50pct-std.hgrm",
        "latency/echo-2000-hyper.hgrm",
    ] {
        assert!(out.join(file).is_file(), "{file} is missing");
    }
    let run = run_json(&out);
    assert_eq!(run["schema_version"], 3);
    assert_eq!(run["partial"], false);
    for field in [
        "cpu_model",
        "cores",
        "kernel",
        "rustc",
        "crates",
        "git_commit",
    ] {
        assert!(!run["environment"][field].is_null(), "environment.{field}");
    }
    assert!(run["environment"]["crates"]["hyper"].is_string());
    assert_eq!(run["settings"]["rounds"], 2);
    assert_eq!(run["settings"]["engine"], "h1");
    assert_eq!(run["settings"]["pipeline_depth"], 16);
    assert_eq!(
        run["settings"]["contenders"],
        serde_json::json!(["std", "hyper"])
    );
    for contender in run["contenders"].as_array().unwrap() {
        let log = contender["stderr_log"].as_str().unwrap();
        assert!(
            out.join(log).is_file(),
            "{log}: each server's stderr is kept"
        );
        assert!(contender["revision"].is_null(), "{contender}");
    }

    // Raw measurements, keyed by contender and scenario: a closed-loop sample per load, an
    // open-loop sample per rate, a visit per start.
    let m = &run["measurements"];
    let closed = m["closed"].as_array().unwrap();
    assert_eq!(closed.len(), 2 * 4 * 2, "2 servers, 4 scenarios, 2 rounds");
    for sample in closed {
        assert!(sample["rps"].as_f64().unwrap() > 0.0, "{sample}");
        assert!(sample["steal"].is_f64() && sample["other_cpus"].is_f64());
        assert!(sample["probe_us"].as_f64().unwrap() > 0.0, "{sample}");
        assert_eq!(sample["unexpected"], 0, "{sample}");
    }
    assert_eq!(
        m["open"].as_array().unwrap().len(),
        2 * 2 * (2 + 1),
        "2 servers, 2 swept, 2 rates in the sweep and the common rate again in round 2"
    );
    let common_rate_rounds: Vec<u64> = m["open"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["contender"] == "std" && o["scenario"] == "plaintext")
        .map(|o| o["round"].as_u64().unwrap())
        .collect();
    assert_eq!(common_rate_rounds.iter().filter(|r| **r == 2).count(), 1);
    let visits = m["visits"].as_array().unwrap();
    assert_eq!(
        visits.len(),
        2 * 3,
        "2 closed-loop rounds and a sweep round each"
    );
    assert!(
        visits
            .iter()
            .all(|v| v["started"] == true && v["clean_exit"] == true),
        "SIGTERM must end every server with 0: {visits:?}"
    );
    assert_eq!(m["failures"].as_array().unwrap().len(), 0, "{m}");
    let method = &visits[0]["cpu_method"];
    assert!(
        method == "cgroup" || method == "schedstat",
        "each visit says how its server's CPU was counted: {method}"
    );

    // The sweep: the same absolute rates for both servers, from the slower one's maximum.
    let sweeps = run["sweeps"].as_array().unwrap();
    assert_eq!(sweeps.len(), 2, "{sweeps:?}");
    for sweep in sweeps {
        let scenario = sweep["scenario"].as_str().unwrap();
        // The first round's maxima fix the rates, so that later rounds can measure the common
        // rate.
        let median_of = |label: &str| {
            let rps: Vec<f64> = closed
                .iter()
                .filter(|c| c["contender"] == label && c["scenario"] == scenario)
                .filter(|c| c["round"] == 1)
                .map(|c| c["rps"].as_f64().unwrap())
                .collect();
            rps.iter().sum::<f64>() / rps.len() as f64
        };
        let slowest = median_of("std").min(median_of("hyper"));
        assert!((sweep["slowest_rps"].as_f64().unwrap() - slowest).abs() < 1e-6 * slowest);
        let rates = sweep["rates"].as_array().unwrap();
        assert_eq!(rates.len(), 2);
        let half = rates.iter().find(|r| r["label"] == "50%").unwrap()["rate"]
            .as_f64()
            .unwrap();
        assert!(
            (half - slowest / 2.0).abs() <= slowest * 0.03,
            "50% of {slowest} is not {half}"
        );
        assert!(rates.iter().any(|r| r["rate"] == 2000.0));
        assert!(sweep["headline"].as_u64().unwrap() < 2);
    }

    // The figures, derived from the measurements: one CSV row per contender and scenario.
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2 * 4);
    let column = |row: &[&str], name: &str| -> String {
        let i = header.iter().position(|h| *h == name).unwrap();
        row[i].to_owned()
    };
    for row in &rows {
        assert_eq!(column(row, "engine"), "h1");
        assert_eq!(column(row, "status"), "ok", "{row:?}");
        assert_eq!(column(row, "rounds"), "2");
        let number = |name: &str| column(row, name).parse::<f64>().unwrap();
        assert!(number("rps") > 0.0 && number("rps_low") <= number("rps"));
        assert!(number("rps_high") >= number("rps"));
        assert!(number("server_cpu_us_per_req") > 0.0, "{row:?}");
        assert!(number("closed_p99_us") > 0.0, "{row:?}");
        let pipelined = column(row, "scenario") == "pipelined";
        assert_eq!(column(row, "pipeline"), if pipelined { "16" } else { "1" });
    }
    let sweep_csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(sweep_csv.lines().count(), 1 + 2 * 2 * 2);
    assert!(
        sweep_csv.lines().skip(1).all(|l| l.contains(",h1,")),
        "{sweep_csv}"
    );
    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    for promised in [
        "| std |",
        "| hyper |",
        "pipelined ×16",
        "p99 @ ",
        "Which differences are real",
        " ≈ ",
        "h1 engine",
        "Latency at the same load",
        "machine",
        "Server CPU time counted by",
        "Latency at the common rate",
    ] {
        assert!(markdown.contains(promised), "{promised}: {markdown}");
    }
    for chart in ["throughput.svg", "sweep-plaintext.svg", "spectrum-echo.svg"] {
        let svg = std::fs::read_to_string(out.join(chart)).unwrap();
        assert!(svg.contains("<svg"), "{chart}");
        assert!(
            svg.contains("std") && svg.contains("hyper"),
            "{chart}: a line per server"
        );
    }
    let throughput = std::fs::read_to_string(out.join("throughput.svg")).unwrap();
    let pipelined = std::fs::read_to_string(out.join("throughput-pipelined.svg")).unwrap();
    assert!(
        pipelined.contains("pipelined ×16") && !throughput.contains("pipelined ×16"),
        "the pipelined scenario has a chart of its own, labelled as pipelined"
    );
    let index = std::fs::read_to_string(out.parent().unwrap().join("README.md")).unwrap();
    assert!(index.contains("[run-1](run-1/summary.md)"), "{index}");

    // The same folder again: refused, nothing touched.
    let before = std::fs::read(out.join("run.json")).unwrap();
    let again = compare(&["std"], &out, &args).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    assert_eq!(std::fs::read(out.join("run.json")).unwrap(), before);
}

#[test]
fn a_missing_server_binary_is_named_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["compare", "--servers", "std,axum", "--server-bin-dir"])
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("there is no server-std in")
            && stderr.contains("cargo build --release -p server-std"),
        "{stderr}"
    );
    assert!(!out.exists(), "a refused run must not create its folder");
}

#[test]
fn unknown_names_and_bad_cpus_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .arg("compare")
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let output = run(&["--servers", "std,gin"]);
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("unknown server \"gin\"; the servers are: std, tokio")
    );
    let output = run(&["--scenarios", "plaintext,fast"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown scenario \"fast\""));
    let output = run(&["--server-cpus", "0", "--client-cpus", "0"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("in both"));
    let output = run(&["--rates", "fast"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a rate"));
    let output = run(&["--sweep-scenarios", "pipelined"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot be swept"));
    let output = run(&["--scenarios", "json", "--sweep-scenarios", "users"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("not among the scenarios"));
    assert!(!out.exists(), "a refused run must not create its folder");
}

#[test]
fn a_server_that_crashes_mid_run_is_recorded_and_no_server_outlives_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("crash");
    let args = [
        "--scenarios",
        "plaintext,json,html",
        "-d",
        "600ms",
        "--warmup",
        "100ms",
        "--scenario-warmup",
        "50ms",
        "--rounds",
        "1",
        "--no-sweep",
    ];
    let child = compare(&["std", "tokio"], &out, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let victim = wait_for_server(&child);
    std::thread::sleep(Duration::from_millis(300));
    let _ = kill(Pid::from_raw(victim as i32), Signal::SIGKILL);
    let compare_pid = child.id();
    let mut seen = vec![victim];
    // Keep an eye on the servers it starts after the crash.
    let watcher = std::thread::spawn(move || {
        let mut more = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while alive(compare_pid) && Instant::now() < deadline {
            more.extend(
                children_of(compare_pid)
                    .into_iter()
                    .filter(|(_, c)| c.starts_with("server-"))
                    .map(|(p, _)| p),
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        more
    });
    let (output, _) = finish(child);
    seen.extend(watcher.join().unwrap());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for pid in &seen {
        assert!(!alive(*pid), "server process {pid} outlived the run");
    }
    let run = run_json(&out);
    let failures = run["measurements"]["failures"].to_string();
    assert!(
        failures.contains("died") || failures.contains("exited"),
        "the crash is not recorded: {failures}"
    );
    let crashed = run["measurements"]["failures"][0]["contender"]
        .as_str()
        .unwrap();
    let other = if crashed == "std" { "tokio" } else { "std" };
    // The other server goes on: it is measured in every scenario of the round, and answers.
    let closed = run["measurements"]["closed"].as_array().unwrap();
    for scenario in ["plaintext", "json", "html"] {
        let rps: Vec<f64> = closed
            .iter()
            .filter(|c| c["contender"] == other && c["scenario"] == scenario)
            .map(|c| c["rps"].as_f64().unwrap())
            .collect();
        assert!(
            rps.len() == 1 && rps[0] > 0.0,
            "the other server goes on: {other} in {scenario}: {rps:?} req/s"
        );
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.contains(&format!("servers/{crashed}.stderr.log")),
        "the summary points to the crashed server's stderr: {summary}"
    );
}

#[test]
fn ctrl_c_or_sigterm_stops_the_run_writes_partial_results_and_stops_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        let out = dir.path().join(format!("interrupted-{signal}"));
        let args = [
            "--scenarios",
            "plaintext,json",
            "-d",
            "5s",
            "--warmup",
            "100ms",
            "--rounds",
            "3",
            "--no-sweep",
        ];
        let child = compare(&["std", "hyper"], &out, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let server = wait_for_server(&child);
        std::thread::sleep(Duration::from_millis(700));
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        let (output, took) = finish(child);
        assert!(
            took < Duration::from_secs(15),
            "{signal}: it took {took:?} to stop"
        );
        assert_eq!(
            output.status.code(),
            Some(130),
            "{signal}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!alive(server), "{signal}: the server outlived the run");
        assert_eq!(run_json(&out)["partial"], true, "{signal}");
    }
}

#[test]
fn the_reqwest_engine_compares_two_servers_and_leaves_pipelining_out_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reqwest");
    let args = [
        "--engine",
        "reqwest",
        "--scenarios",
        "plaintext,pipelined,json",
        "-d",
        "150ms",
        "--warmup",
        "50ms",
        "--scenario-warmup",
        "50ms",
        "--rounds",
        "2",
        "--rates",
        "50%",
        "--sweep-rounds",
        "1",
        "--sweep-duration",
        "150ms",
    ];
    let output = compare(&["std", "hyper"], &out, &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("pipelined left out: the reqwest engine cannot pipeline"),
        "{stderr}"
    );
    let run = run_json(&out);
    assert_eq!(run["settings"]["engine"], "reqwest");
    assert_eq!(
        run["settings"]["scenarios"],
        serde_json::json!(["plaintext", "json"])
    );
    assert_eq!(run["settings"]["left_out"][0]["scenario"], "pipelined");
    let closed = run["measurements"]["closed"].as_array().unwrap();
    assert_eq!(closed.len(), 2 * 2 * 2, "2 servers, 2 scenarios, 2 rounds");
    assert!(closed.iter().all(|c| c["rps"].as_f64().unwrap() > 0.0));
    // The client-bound flag is worked out for this engine as for any other.
    assert!(closed.iter().all(|c| c["client_bound"].is_boolean()));
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 2);
    assert!(
        csv.lines().skip(1).all(|l| l.contains(",reqwest,")),
        "{csv}"
    );
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("reqwest engine"), "{summary}");
    assert!(summary.contains("**pipelined left out**"), "{summary}");
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("reqwest engine") && page.contains("pipelined left out"));
    assert!(
        !out.join("throughput-pipelined.svg").exists(),
        "nothing is silently zero"
    );
}

#[test]
fn sigkill_mid_run_takes_the_server_down_within_a_second() {
    // SIGKILL runs no handler and no Drop: only the parent-death signal set by the spawner
    // (harness::parent_death) stops the server, pinned by taskset as in every real run.
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--scenarios",
        "plaintext",
        "-d",
        "5s",
        "--rounds",
        "2",
        "--no-sweep",
    ];
    let mut child = compare(&["std"], &dir.path().join("killed"), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = wait_for_server(&child);
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    while alive(server) && killed.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(10));
    }
    if alive(server) {
        // This test's run started it; leave nothing behind even when failing.
        let _ = kill(Pid::from_raw(server as i32), Signal::SIGKILL);
        panic!("server {server} outlived its SIGKILLed harness by more than a second");
    }
}

/// One server, one short round, the cost phase on with tiny counts.
const TINY_WITH_COST: &[&str] = &[
    "--scenarios",
    "json",
    "-d",
    "200ms",
    "--warmup",
    "100ms",
    "--scenario-warmup",
    "50ms",
    "--rounds",
    "1",
    "--no-sweep",
    "--cost-scenarios",
    "json",
    "--cost-requests",
    "32,96",
    "--cost-load-requests",
    "1000,3000",
];

fn valgrind_is_installed() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok()
}

#[test]
fn a_tiny_compare_with_the_cost_phase_has_the_cost_table_in_run_json_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = compare_with_cost(&["tokio"], &out, TINY_WITH_COST)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let run = run_json(&out);
    let cost = &run["cost"];
    assert_eq!(cost["servers"][0]["server"], "tokio", "{cost}");
    let json = &cost["servers"][0]["results"][0];
    assert_eq!(json["scenario"], "json");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("## Cost per request"), "{summary}");
    assert!(summary.contains("| tokio | "), "{summary}");
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("<section id=\"cost\">"));
    assert!(
        !out.join("cost-work").exists(),
        "the tools' files are removed"
    );
    if valgrind_is_installed() {
        let instructions = json["instructions"]["measured"][0]["per_request"]
            .as_f64()
            .unwrap_or_else(|| panic!("instructions measured: {json}"));
        assert!(instructions > 1000.0, "{instructions}");
        let allocations = json["allocations"]["measured"][0]["per_request"]
            .as_f64()
            .unwrap_or_else(|| panic!("allocations measured: {json}"));
        assert!(allocations > 0.5, "{allocations}");
        // The summary shows the count with its rank: one server is first.
        assert!(summary.contains(" (#1) |"), "{summary}");
        assert!(out.join("cost.svg").is_file());
        // Each count is a sample of the run, as "what changed" between builds reads them.
        let costs = run["measurements"]["costs"].as_array().unwrap();
        assert!(costs.iter().any(|c| c["count"] == "instructions"));
    }
}

#[test]
fn without_valgrind_the_cost_section_names_the_install_command_and_the_rest_goes_on() {
    // A PATH with taskset (which pins the server) and nothing of valgrind's.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    if let Some(taskset) =
        loadgen::cost::find_in_path("taskset", std::env::var_os("PATH").as_deref())
    {
        std::os::unix::fs::symlink(taskset, bin.join("taskset")).unwrap();
    }
    let out = dir.path().join("run");
    let output = compare_with_cost(&["tokio"], &out, TINY_WITH_COST)
        .env("PATH", &bin)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("valgrind is missing"), "{summary}");
    assert!(summary.contains("apt-get install valgrind"), "{summary}");
    // The throughput was measured all the same.
    let run = run_json(&out);
    assert!(!run["measurements"]["closed"].as_array().unwrap().is_empty());
    let json = &run["cost"]["servers"][0]["results"][0];
    assert!(json["instructions"]["unavailable"].is_string(), "{json}");
}
