//! One server in one round: start it on port 0, check that it answers the contract, warm it up,
//! load it, stop it. A round returns what it measured and tells an observer how far it got (as
//! `load::run` does); it neither prints nor writes, and knows nothing of progress bars.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use conformance::ServerProcess;

use super::plan::Plan;
use super::scenario::Scenario;
use crate::engine::EngineKind;
use crate::load::{self, LoadOutcome, LoadSpec, Stop};
use crate::machine::{MachineTimes, sample_process};
use crate::results::{RateMeasure, RoundResult, ScenarioSweep};

/// How long a server may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// What a round tells its observer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'a> {
    /// A server starts its round.
    Server {
        /// `closed loop` or `sweep`.
        phase: &'a str,
        /// Round number, from 1.
        round: u32,
        /// Rounds of this phase.
        rounds: u32,
        /// The server.
        server: &'a str,
    },
    /// A scenario starts.
    Scenario(&'a str),
    /// Inside a load: time since it started.
    Load(Duration),
    /// This many seconds of the planned load are over (measured, or not run).
    Done(f64),
}

/// Observes a round.
pub type Observer<'a> = dyn FnMut(Event<'_>) + 'a;

/// What one visit to a server brought back.
#[derive(Debug, Clone, Default)]
pub struct Visit<T> {
    /// It started and printed its ready line.
    pub started: bool,
    /// SIGTERM ended it with exit code 0.
    pub clean_exit: bool,
    /// Its peak resident memory, KiB.
    pub rss_peak_kib: u64,
    /// What went wrong with the server itself, one line each.
    pub failures: Vec<String>,
    /// What was measured, `Default` when it was left out.
    pub measured: T,
}

/// One scenario's outcome in a round: `None` when it was not run (stopped early).
pub type Measured<T> = Option<Result<T, String>>;

/// A closed-loop round of server `index`: every scenario at its maximum.
pub fn closed_round(
    plan: &Plan,
    round: u32,
    index: usize,
    stop: &Arc<AtomicBool>,
    observe: &mut Observer<'_>,
) -> Visit<Vec<Measured<RoundResult>>> {
    let info = plan.servers[index];
    observe(Event::Server {
        phase: "closed loop",
        round,
        rounds: plan.settings.rounds,
        server: info.name,
    });
    let warmup = plan.scenarios.first();
    visit(
        plan,
        index,
        warmup,
        plan.closed_round_seconds(),
        stop,
        observe,
        |process, base, observe| {
            let mut measured: Vec<Measured<RoundResult>> = vec![None; plan.scenarios.len()];
            let mut spent = 0.0;
            for (s, scenario) in plan.scenarios.iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if process.has_exited() {
                    for later in &mut measured[s..] {
                        *later = Some(Err("not measured: the server had exited".into()));
                    }
                    break;
                }
                observe(Event::Scenario(scenario.name));
                // How fast the server's CPU is right now, while the server is idle.
                let probe = crate::machine::probe_cpus(&plan.settings.cpus.server);
                let _ = measure(
                    plan,
                    scenario,
                    base,
                    plan.scenario_warmup,
                    None,
                    stop,
                    observe,
                );
                measured[s] = Some(
                    closed_load(plan, round, scenario, process, base, stop, observe).map(
                        |mut result| {
                            result.probe_us = probe.map_or(0.0, |p| p.as_secs_f64() * 1e6);
                            result
                        },
                    ),
                );
                spent += (plan.scenario_warmup + plan.duration).as_secs_f64();
            }
            (measured, spent)
        },
    )
}

/// A sweep round of server `index`: each swept scenario at each rate of its sweep (`sweeps`
/// matches `plan.swept`; `None` for a scenario no server could be measured on).
pub fn sweep_round(
    plan: &Plan,
    round: u32,
    index: usize,
    sweeps: &[Option<ScenarioSweep>],
    stop: &Arc<AtomicBool>,
    observe: &mut Observer<'_>,
) -> Visit<Vec<Vec<Result<RateMeasure, String>>>> {
    let info = plan.servers[index];
    observe(Event::Server {
        phase: "sweep",
        round,
        rounds: plan.settings.sweep_rounds,
        server: info.name,
    });
    let warmup = plan.swept.first().map(|&s| &plan.scenarios[s]);
    visit(
        plan,
        index,
        warmup,
        plan.sweep_round_seconds(),
        stop,
        observe,
        |process, base, observe| {
            let mut measured = vec![Vec::new(); plan.swept.len()];
            let mut spent = 0.0;
            for ((&s, sweep), points) in plan.swept.iter().zip(sweeps).zip(&mut measured) {
                let Some(sweep) = sweep else { continue };
                let scenario = &plan.scenarios[s];
                observe(Event::Scenario(scenario.name));
                let _ = measure(
                    plan,
                    scenario,
                    base,
                    plan.scenario_warmup,
                    None,
                    stop,
                    observe,
                );
                spent += plan.scenario_warmup.as_secs_f64();
                // A fresh order of rates each round, so that no rate always follows another.
                let mut order: Vec<usize> = (0..sweep.rates.len()).collect();
                fastrand::shuffle(&mut order);
                for r in order {
                    if stop.load(Ordering::Relaxed) || process.has_exited() {
                        break;
                    }
                    let rate = &sweep.rates[r];
                    let point = measure(
                        plan,
                        scenario,
                        base,
                        plan.sweep_duration,
                        Some(rate.rate),
                        stop,
                        observe,
                    )
                    .map(|outcome| rate_measure(&rate.label, rate.rate, &outcome))
                    .map_err(|err| format!("rate {}: {err}", rate.label));
                    points.push(point);
                    spent += plan.rate_load_seconds();
                }
            }
            (measured, spent)
        },
    )
}

/// Starts server `index`, verifies it, warms it up on `warmup`, runs `body` (which returns what
/// it measured and the seconds of planned load it ran), and stops the server.
fn visit<T: Default>(
    plan: &Plan,
    index: usize,
    warmup: Option<&Scenario>,
    budget: f64,
    stop: &Arc<AtomicBool>,
    observe: &mut Observer<'_>,
    body: impl FnOnce(&mut ServerProcess, &str, &mut Observer<'_>) -> (T, f64),
) -> Visit<T> {
    let info = plan.servers[index];
    let mut visit = Visit::<T>::default();
    let args = [
        "--addr".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--threads".to_owned(),
        plan.settings.server_threads.to_string(),
    ];
    let launcher = plan.settings.cpus.server_launcher();
    let binary = plan.binary(info.name);
    let mut process =
        match ServerProcess::spawn(info.name, &binary, &args, &launcher, START_TIMEOUT) {
            Ok(process) => process,
            Err(err) => {
                visit.failures.push(err.to_string());
                observe(Event::Done(budget));
                return visit;
            }
        };
    visit.started = true;
    let base = format!("http://{}", process.addr());
    let left_out = match crate::verify::verify(&base, Some(info.name), plan.timeout) {
        Ok(verdict) if verdict.mismatches.is_empty() => None,
        Ok(verdict) => {
            let first: Vec<&str> = verdict
                .mismatches
                .iter()
                .take(3)
                .map(String::as_str)
                .collect();
            Some(format!(
                "left out: it does not answer the contract ({} mismatches: {})",
                verdict.mismatches.len(),
                first.join("; ")
            ))
        }
        Err(err) => Some(format!("left out: cannot verify it: {err}")),
    };
    let mut spent = 0.0;
    match left_out {
        Some(why) => visit.failures.push(why),
        None => {
            if let Some(first) = warmup {
                let _ = measure(plan, first, &base, plan.warmup, None, stop, observe);
                spent += plan.warmup.as_secs_f64();
            }
            let (measured, seconds) = body(&mut process, &base, observe);
            visit.measured = measured;
            spent += seconds;
            if process.has_exited() {
                visit
                    .failures
                    .push("the server exited during the round".into());
            }
        }
    }
    observe(Event::Done((budget - spent).max(0.0)));
    if let Ok(sample) = sample_process(process.pid()) {
        visit.rss_peak_kib = sample.rss_peak_kib;
    }
    match process.stop(contract::SHUTDOWN_GRACE + Duration::from_secs(2)) {
        Ok(Some(status)) if status.success() => visit.clean_exit = true,
        // Its death was recorded above.
        Ok(Some(_)) if visit.failures.iter().any(|f| f.contains("exited")) => {}
        Ok(Some(status)) => visit
            .failures
            .push(format!("SIGTERM ended it with {status}, not exit code 0")),
        Ok(None) => visit
            .failures
            .push("it did not exit within the grace period after SIGTERM; killed".into()),
        Err(err) => visit.failures.push(format!("cannot stop it: {err}")),
    }
    visit
}

/// The measured closed-loop load of one scenario, with the server's CPU time and what else
/// the machine did meanwhile.
fn closed_load(
    plan: &Plan,
    round: u32,
    scenario: &Scenario,
    process: &mut ServerProcess,
    base: &str,
    stop: &Arc<AtomicBool>,
    observe: &mut Observer<'_>,
) -> Result<RoundResult, String> {
    let own = std::process::id();
    let machine_before = MachineTimes::read().ok();
    let server_before = sample_process(process.pid()).unwrap_or_default();
    let own_before = sample_process(own).unwrap_or_default();
    let started = Instant::now();
    let outcome = measure(plan, scenario, base, plan.duration, None, stop, observe);
    let wall = started.elapsed().as_secs_f64();
    let server_cpu = sample_process(process.pid())
        .unwrap_or_default()
        .cpu
        .saturating_sub(server_before.cpu);
    let own_cpu = sample_process(own)
        .unwrap_or_default()
        .cpu
        .saturating_sub(own_before.cpu);
    let machine = match (machine_before, MachineTimes::read().ok()) {
        (Some(before), Some(after)) => after.since(&before, wall),
        _ => Default::default(),
    };
    let outcome = outcome.map_err(|err| err.to_string())?;
    if process.has_exited() {
        return Err(format!(
            "the server died during the load ({} answers)",
            outcome.tally.responses()
        ));
    }
    let ours = (server_cpu + own_cpu).as_secs_f64() / wall.max(1e-9);
    Ok(round_result(
        round,
        scenario,
        &outcome,
        server_cpu,
        machine.steal,
        (machine.busy_cpus - ours).max(0.0),
    ))
}

/// The unrecorded start of every open-loop load, in which its connections open. Without it
/// the first request of each connection carried a connect: at 9k req/s on 64 connections,
/// that raised the p99 from about 70 to about 130 µs (median of six 0.6 s loads each way).
pub const OPEN_LOOP_WARMUP: Duration = Duration::from_millis(50);

/// One load of `scenario` against `base` for `duration`: closed loop, or open loop at `rate`
/// (after [`OPEN_LOOP_WARMUP`] at the same rate).
fn measure(
    plan: &Plan,
    scenario: &Scenario,
    base: &str,
    duration: Duration,
    rate: Option<f64>,
    stop: &Arc<AtomicBool>,
    observe: &mut Observer<'_>,
) -> Result<LoadOutcome> {
    let spec = LoadSpec {
        target: scenario.target(base)?,
        engine: EngineKind::H1,
        connections: plan.settings.connections,
        threads: plan.settings.client_threads,
        stop: Stop::After(duration),
        rate,
        pipeline: scenario.pipeline,
        warmup: if rate.is_some() {
            OPEN_LOOP_WARMUP
        } else {
            Duration::ZERO
        },
        timeout: plan.timeout,
        http2: false,
        use_proxy: false,
    };
    let outcome = load::run(&spec, stop, &mut |progress| {
        observe(Event::Load(progress.elapsed));
    });
    observe(Event::Done((duration + spec.warmup).as_secs_f64()));
    Ok(outcome?)
}

fn round_result(
    round: u32,
    scenario: &Scenario,
    outcome: &LoadOutcome,
    server_cpu: Duration,
    steal: f64,
    other_cpus: f64,
) -> RoundResult {
    let tally = &outcome.tally;
    let expected = tally
        .status
        .get(&scenario.expect_status)
        .copied()
        .unwrap_or(0);
    let duration = outcome.duration.as_secs_f64();
    RoundResult {
        round,
        rps: outcome.rps(),
        responses: tally.responses(),
        unexpected: tally.responses() - expected + tally.failures(),
        duration_s: duration,
        latency_us: tally.latency.summary(),
        server_cpu_us: server_cpu.as_secs_f64() * 1e6,
        client_cpu_us: outcome.client_cpu.iter().sum::<f64>() * duration * 1e6,
        client_cpu: outcome.client_cpu.clone(),
        client_bound: outcome.client_bound(),
        steal,
        other_cpus,
        probe_us: 0.0,
        histogram: tally.latency.to_base64(),
    }
}

fn rate_measure(label: &str, target: f64, outcome: &LoadOutcome) -> RateMeasure {
    let tally = &outcome.tally;
    let sent = tally.responses() + tally.failures();
    RateMeasure {
        label: label.to_owned(),
        target_rate: target,
        achieved_rate: sent as f64 / outcome.duration.as_secs_f64().max(1e-9),
        latency: tally.latency.clone(),
        latency_uncorrected: tally.latency_uncorrected.clone(),
        send_lag: tally.send_lag.clone(),
        client_lagged: outcome.client_lagged(),
    }
}
