//! One measurement of one server by one tool: the native counters under the closed-loop load,
//! a callgrind run that dumps mid-run, a DHAT run per sample. Each starts a fresh server and
//! returns its marginal counts, or the reason it could not.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use harness::RawClient;

use super::counters::ProcessCounters;
use super::marginal::{Marginal, Sample};
use super::plan::{CostPlan, CostScenario, ServerBinary, scenarios};
use super::{callgrind, dhat};
use crate::engine::EngineKind;
use crate::load::{self, LoadSpec, Stop};

/// How long a server may take to print its ready line.
pub const NATIVE_START: Duration = Duration::from_secs(10);

/// How long a server under valgrind may take to print its ready line.
pub const VALGRIND_START: Duration = Duration::from_secs(60);

/// How long a server under valgrind may take to answer: a server valgrind cannot follow
/// (io_uring) hangs, and this ends the wait.
pub const VALGRIND_ANSWER: Duration = Duration::from_secs(30);

/// How long a server under valgrind may take to exit after SIGTERM (DHAT writes its file then).
pub const VALGRIND_EXIT: Duration = Duration::from_secs(60);

/// What a Go program needs to run under callgrind: without it, the signal the Go runtime
/// preempts goroutines with (SIGURG) trips an assertion of callgrind 3.19
/// (`vgCallgrind_post_signal`). Goroutines then yield only at function calls, which a server
/// that answers requests does all the time.
pub const GO_UNDER_VALGRIND: &str = "asyncpreemptoff=1";

/// Whether a binary is a Go program: Go's linker writes its build information after this
/// magic.
pub fn is_go_binary(path: &Path) -> bool {
    const GO_BUILDINFO: &[u8] = b"\xff Go buildinf:";
    std::fs::read(path)
        .is_ok_and(|bytes| bytes.windows(GO_BUILDINFO.len()).any(|w| w == GO_BUILDINFO))
}

/// Whether process `pid` holds an io_uring instance (an `anon_inode:[io_uring]` descriptor).
pub fn holds_io_uring(pid: u32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            std::fs::read_link(entry.path())
                .is_ok_and(|link| link.to_string_lossy().contains("io_uring"))
        })
    })
}

/// Starts the server natively, has it answer one request, and says whether it holds an
/// io_uring instance then.
pub(super) fn probe_io_uring(plan: &CostPlan, server: &ServerBinary) -> Result<bool, String> {
    let mut process = plan.start(server, plan.settings.cpus.server_launcher(), NATIVE_START)?;
    let scenario = scenarios(&["plaintext".to_owned()]).map_err(|e| e.to_string())?;
    let mut client =
        RawClient::connect(process.addr(), Duration::from_secs(5)).map_err(|e| e.to_string())?;
    drive(&mut client, &scenario[0], 1)?;
    let uses = holds_io_uring(process.pid());
    let _ = process.stop(contract::SHUTDOWN_GRACE);
    Ok(uses)
}

/// Sends `requests` of `scenario` on `client` (rounded up to whole pipelined batches), checks
/// every answer's status, and returns how many were answered.
fn drive(client: &mut RawClient, scenario: &CostScenario, requests: u64) -> Result<u64, String> {
    let one = harness::request_bytes(&scenario.case, &[]);
    let batch = one.repeat(scenario.pipeline as usize);
    let batches = requests.div_ceil(u64::from(scenario.pipeline));
    for _ in 0..batches {
        client
            .send(&batch)
            .map_err(|e| format!("{}: cannot send: {e}", scenario.name))?;
        for _ in 0..scenario.pipeline {
            let response = client
                .read_response(false)
                .map_err(|e| format!("{}: no answer: {e}", scenario.name))?;
            if response.status != scenario.case.status {
                return Err(format!(
                    "{}: status {} where the contract says {}",
                    scenario.name, response.status, scenario.case.status
                ));
            }
        }
    }
    Ok(batches * u64::from(scenario.pipeline))
}

/// A scenario's counts per request under the native load, one measurement.
#[derive(Debug, Clone)]
pub(super) struct NativeSample {
    pub(super) syscalls: Marginal,
    pub(super) context_switches: Marginal,
    pub(super) kinds: Vec<(String, Vec<String>, Marginal)>,
}

/// One measurement of the native counters: a fresh server, then for each scenario a warmup
/// load, a load of the low and one of the high request count, the counters read between.
/// Also says whether the server held an io_uring instance after the first warmup.
pub(super) fn native_run(
    plan: &CostPlan,
    server: &ServerBinary,
    stop: &Arc<AtomicBool>,
) -> Result<(Vec<NativeSample>, bool), String> {
    let mut process = plan.start(server, plan.settings.cpus.server_launcher(), NATIVE_START)?;
    let mut counters = ProcessCounters::open(process.pid()).map_err(|e| e.to_string())?;
    let mut samples = Vec::new();
    let mut io_uring = false;
    for scenario in &plan.scenarios {
        let target = scenario.target(process.addr()).map_err(|e| e.to_string())?;
        let load = |requests: u64| -> Result<u64, String> {
            let spec = LoadSpec {
                target: target.clone(),
                engine: EngineKind::H1,
                connections: plan.settings.connections,
                threads: u32::try_from(plan.settings.cpus.client.len().max(1)).unwrap_or(1),
                stop: Stop::Requests(requests),
                rate: None,
                pipeline: scenario.pipeline,
                warmup: Duration::ZERO,
                timeout: Duration::from_secs(5),
                http2: false,
                use_proxy: false,
            };
            let outcome = load::run(&spec, stop, &mut |_| {}).map_err(|e| e.to_string())?;
            let answered = outcome.tally.responses();
            let wrong: u64 = outcome
                .tally
                .status
                .iter()
                .filter(|(status, _)| **status != scenario.case.status)
                .map(|(_, n)| n)
                .sum();
            if outcome.partial || outcome.tally.failures() > 0 || wrong > 0 {
                return Err(format!(
                    "{}: {} failures, {wrong} answers with another status than {}{}",
                    scenario.name,
                    outcome.tally.failures(),
                    scenario.case.status,
                    if outcome.partial {
                        ", stopped early"
                    } else {
                        ""
                    }
                ));
            }
            Ok(answered)
        };
        let read = |counters: &mut ProcessCounters| counters.read().map_err(|e| e.to_string());
        // The same warmup per connection as on valgrind's one connection.
        load((plan.settings.warmup_requests * u64::from(plan.settings.connections)).max(1))?;
        io_uring = io_uring || holds_io_uring(process.pid());
        let start = read(&mut counters)?;
        let low_requests = load(plan.settings.load_requests[0])?;
        let low = read(&mut counters)?;
        let high_requests = load(plan.settings.load_requests[1])?;
        let high = read(&mut counters)?;
        let marginal = |a: u64, b: u64, c: u64| {
            Marginal::new(
                Sample {
                    requests: low_requests,
                    count: b.saturating_sub(a),
                },
                Sample {
                    requests: high_requests,
                    count: c.saturating_sub(b),
                },
            )
            .map_err(|e| format!("{}: {e}", scenario.name))
        };
        let (k0, k1, k2) = (start.by_kind(), low.by_kind(), high.by_kind());
        samples.push(NativeSample {
            syscalls: marginal(start.syscalls, low.syscalls, high.syscalls)?,
            context_switches: marginal(
                start.context_switches,
                low.context_switches,
                high.context_switches,
            )?,
            kinds: k0
                .iter()
                .zip(&k1)
                .zip(&k2)
                .map(|((a, b), c)| Ok((a.0.clone(), a.1.clone(), marginal(a.2, b.2, c.2)?)))
                .collect::<Result<_, String>>()?,
        });
    }
    let _ = process.stop(contract::SHUTDOWN_GRACE);
    Ok((samples, io_uring))
}

/// One callgrind measurement: the server under callgrind, and for each scenario on a
/// connection of its own a warmup, a dump, the low count, a dump, the high count, a dump.
/// Returns (instructions, allocations) per scenario. A Go server runs with
/// [`GO_UNDER_VALGRIND`] added to its `GODEBUG`.
pub(super) fn callgrind_run(
    plan: &CostPlan,
    server: &ServerBinary,
    launcher: Vec<String>,
    valgrind: &Path,
    vgdb: &Path,
    dir: &Path,
    go: bool,
) -> Result<Vec<(Marginal, Marginal)>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let out = dir.join("callgrind.out");
    let mut tool = launcher;
    if go {
        let godebug = std::env::var("GODEBUG").unwrap_or_default();
        let godebug = if godebug.is_empty() {
            GO_UNDER_VALGRIND.to_owned()
        } else {
            format!("{godebug},{GO_UNDER_VALGRIND}")
        };
        tool.extend(["env".to_owned(), format!("GODEBUG={godebug}")]);
    }
    tool.extend(callgrind::launcher(
        valgrind,
        &out,
        &dir.join("valgrind.log"),
    ));
    let mut process = plan
        .start(server, tool, VALGRIND_START)
        .map_err(|e| format!("under callgrind: {e}"))?;
    let pid = process.pid();
    let mut dumps = 0;
    let mut dump = |hint: &str| -> Result<callgrind::DumpCounts, String> {
        callgrind::dump(vgdb, pid, hint).map_err(|e| e.to_string())?;
        dumps += 1;
        let path = callgrind::dump_path(&out, dumps);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        callgrind::counts(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let [low, high] = plan.settings.callgrind_requests;
    let hang = |e: String| format!("under callgrind: {e} (within {VALGRIND_ANSWER:?})");
    let mut marginals = Vec::new();
    for scenario in &plan.scenarios {
        // A connection per scenario, opened just before it: a keep-alive connection left idle
        // while another scenario crawls under valgrind would meet the server's header timeout.
        let mut client =
            RawClient::connect(process.addr(), VALGRIND_ANSWER).map_err(|e| hang(e.to_string()))?;
        drive(&mut client, scenario, plan.settings.warmup_requests).map_err(hang)?;
        dump(&format!("{}-warmup", scenario.name))?;
        let low_requests = drive(&mut client, scenario, low).map_err(hang)?;
        let low_count = dump(&format!("{}-low", scenario.name))?;
        let high_requests = drive(&mut client, scenario, high).map_err(hang)?;
        let high_count = dump(&format!("{}-high", scenario.name))?;
        let marginal = |count: fn(&callgrind::DumpCounts) -> u64| {
            Marginal::new(
                Sample {
                    requests: low_requests,
                    count: count(&low_count),
                },
                Sample {
                    requests: high_requests,
                    count: count(&high_count),
                },
            )
            .map_err(|e| format!("{}: {e}", scenario.name))
        };
        marginals.push((marginal(|c| c.instructions)?, marginal(|c| c.allocations)?));
    }
    let _ = process.stop(VALGRIND_EXIT);
    let _ = std::fs::remove_dir_all(dir);
    Ok(marginals)
}

/// One DHAT measurement: a run with the low count in every scenario, then one run per
/// scenario with the high count in it alone; each scenario's marginal is its run against the
/// first. Returns the bytes allocated per scenario (callgrind counts the allocations exactly,
/// in one process).
pub(super) fn dhat_run(
    plan: &CostPlan,
    server: &ServerBinary,
    launcher: &[String],
    valgrind: &Path,
    dir: &Path,
) -> Result<Vec<Marginal>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let [low, high] = plan.settings.dhat_requests;
    let one_run = |index: usize,
                   high_in: Option<usize>|
     -> Result<(dhat::HeapTotals, Vec<u64>), String> {
        let out = dir.join(format!("dhat.{index}.json"));
        let mut tool = launcher.to_vec();
        tool.extend(dhat::launcher(
            valgrind,
            &out,
            &dir.join(format!("valgrind.{index}.log")),
        ));
        let mut process = plan
            .start(server, tool, VALGRIND_START)
            .map_err(|e| format!("under DHAT: {e}"))?;
        let mut answered = Vec::new();
        for (i, scenario) in plan.scenarios.iter().enumerate() {
            let mut client =
                RawClient::connect(process.addr(), VALGRIND_ANSWER).map_err(|e| e.to_string())?;
            let hang = |e: String| format!("under DHAT: {e} (within {VALGRIND_ANSWER:?})");
            drive(&mut client, scenario, plan.settings.warmup_requests).map_err(hang)?;
            let requests = if high_in == Some(i) { high } else { low };
            answered.push(drive(&mut client, scenario, requests).map_err(hang)?);
        }
        match process.stop(VALGRIND_EXIT) {
            Ok(Some(status)) if status.success() => {}
            other => {
                return Err(format!(
                    "under DHAT, SIGTERM did not end the server cleanly ({other:?}), so DHAT wrote no profile"
                ));
            }
        }
        let json = std::fs::read_to_string(&out)
            .map_err(|e| format!("cannot read {}: {e}", out.display()))?;
        let totals = dhat::totals(&json).map_err(|e| format!("{}: {e}", out.display()))?;
        Ok((totals, answered))
    };
    let (base, base_answered) = one_run(0, None)?;
    let mut marginals = Vec::new();
    for (i, scenario) in plan.scenarios.iter().enumerate() {
        let (totals, answered) = one_run(i + 1, Some(i))?;
        marginals.push(
            Marginal::new(
                Sample {
                    requests: base_answered[i],
                    count: base.bytes,
                },
                Sample {
                    requests: answered[i],
                    count: totals.bytes,
                },
            )
            .map_err(|e| format!("{}: {e}", scenario.name))?,
        );
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(marginals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_binaries_are_told_apart_by_their_build_information() {
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("go");
        std::fs::write(&go, b"\x7fELF...\xff Go buildinf:\x08\x02...").unwrap();
        assert!(is_go_binary(&go));
        // (Not this test's own binary: the magic is among its constants.)
        let rust = dir.path().join("rust");
        std::fs::write(&rust, b"\x7fELF... .note.rustc").unwrap();
        assert!(!is_go_binary(&rust));
        assert!(!holds_io_uring(std::process::id()));
    }
}
