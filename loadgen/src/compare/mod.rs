//! `loadgen compare`: every server, every scenario, several rounds, side by side.
//!
//! Each step answers a reason benchmark tables lie: release binaries built fresh (no debug or
//! stale builds), a server on port 0 started for each round (no stale server on a port), its
//! answers verified against the contract before any load, server and load generator pinned to
//! different CPUs, servers in a new random order each round, the median of rounds with its
//! spread and a `noisy` flag, a `client-bound` flag when the load generator was saturated, and
//! the machine, versions, settings and command recorded beside the numbers.
//!
//! # Layout
//! [`scenario`]: what is loaded; [`machine`]: CPUs, /proc and the environment; [`results`]: the
//! data written; this file: the plan and the rounds.

pub mod machine;
pub mod results;
pub mod scenario;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use conformance::ServerProcess;

use self::machine::{
    CpuSplit, Environment, available_cpus, parse_cpu_list, pin_self, sample_process,
};
use self::results::{
    COMPARE_SCHEMA_VERSION, CompareSettings, ComparisonRun, RateMeasure, RoundResult, ServerResult,
};
use self::scenario::{QUICK_SCENARIOS, SCENARIOS, Scenario, select_servers};
use crate::cli::CompareArgs;
use crate::engine::EngineKind;
use crate::load::{self, LoadOutcome, LoadSpec, Stop};
use crate::progress::CompareBar;
use crate::report;

/// How long a server may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// An open-loop rate: absolute, or a share of the server's closed-loop maximum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Requests per second.
    PerSecond(f64),
    /// A fraction (0 to 1) of the closed-loop maximum measured just before, in the same round.
    OfMaximum(f64),
}

impl Rate {
    /// Parses `5000` or `50%`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || {
            format!(
                "{text:?} is not a rate: give requests per second (5000) or a share of the maximum (50%)"
            )
        };
        match text.strip_suffix('%') {
            Some(share) => {
                let share: f64 = share.trim().parse().map_err(|_| bad())?;
                if share > 0.0 && share <= 100.0 {
                    Ok(Self::OfMaximum(share / 100.0))
                } else {
                    Err(bad())
                }
            }
            None => {
                let rate: f64 = text.parse().map_err(|_| bad())?;
                if rate > 0.0 && rate.is_finite() {
                    Ok(Self::PerSecond(rate))
                } else {
                    Err(bad())
                }
            }
        }
    }
}

/// Everything a comparison needs, checked before any server starts.
#[derive(Debug, Clone)]
struct Plan {
    servers: Vec<&'static contract::ServerInfo>,
    scenarios: Vec<Scenario>,
    rates: Vec<(String, Rate)>,
    settings: CompareSettings,
    duration: Duration,
    warmup: Duration,
    scenario_warmup: Duration,
    timeout: Duration,
    bin_dir: PathBuf,
    out: PathBuf,
}

impl Plan {
    fn closed_loop(&self) -> bool {
        self.rates.is_empty()
            || self
                .rates
                .iter()
                .any(|(_, r)| matches!(r, Rate::OfMaximum(_)))
    }

    /// Seconds of load per server and round, for the progress bar.
    fn load_seconds_per_server(&self) -> f64 {
        let per_scenario = (self.scenario_warmup + self.duration).as_secs_f64()
            * f64::from(u8::from(self.closed_loop()))
            + self.duration.as_secs_f64() * self.rates.len() as f64;
        self.warmup.as_secs_f64() + per_scenario * self.scenarios.len() as f64
    }
}

/// The workspace this load generator was built from.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Runs `loadgen compare`.
pub fn compare_command(args: &CompareArgs) -> Result<ExitCode> {
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let plan = make_plan(args, &started_at)?;
    // Every check that can fail comes before the first load.
    crate::output::create_run_dir(&plan.out, args.force)?;
    if args.server_bin_dir.is_none() {
        build_servers(&plan.servers)?;
    }
    let split = &plan.settings.cpus;
    eprintln!(
        "CPU split: servers on {:?} (--threads {}), load generator on {:?} ({} load threads){}",
        split.server,
        plan.settings.server_threads,
        split.client,
        plan.settings.client_threads,
        if split.pinned {
            ""
        } else {
            "; only one CPU, so they share it and the figures are rough"
        }
    );
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this load generator is a debug build; run `cargo run --release -- compare` for figures that mean anything"
        );
    }
    // Read the machine before pinning, which narrows what this process sees.
    let environment = Environment::read(&workspace_root(), &plan.bin_dir);
    if split.pinned {
        pin_self(&split.client).context("cannot pin the load generator to its CPUs")?;
    }
    let stop = crate::stop_on_signals(false)?;
    let mut results: Vec<ServerResult> = plan
        .servers
        .iter()
        .map(|s| {
            ServerResult::new(
                s.name,
                &plan.scenarios.iter().map(|s| s.name).collect::<Vec<_>>(),
            )
        })
        .collect();
    let mut rates: Vec<Vec<Vec<RateMeasure>>> =
        vec![vec![Vec::new(); plan.scenarios.len()]; plan.servers.len()];
    let total = plan.load_seconds_per_server()
        * plan.servers.len() as f64
        * f64::from(plan.settings.rounds);
    let mut bar = CompareBar::new(total, !args.no_progress);
    'rounds: for round in 1..=plan.settings.rounds {
        let mut order: Vec<usize> = (0..plan.servers.len()).collect();
        fastrand::shuffle(&mut order);
        for index in order {
            if stop.load(Ordering::Relaxed) {
                break 'rounds;
            }
            server_round(
                &plan,
                round,
                index,
                &mut results[index],
                &mut rates[index],
                &stop,
                &mut bar,
            );
        }
    }
    bar.finish();
    for (server, server_rates) in results.iter_mut().zip(&rates) {
        for (scenario, scenario_rates) in server.scenarios.iter_mut().zip(server_rates) {
            scenario.summarize(plan.settings.rounds, scenario_rates);
        }
        server.settle_status();
    }
    let run = ComparisonRun {
        schema_version: COMPARE_SCHEMA_VERSION,
        started_at,
        finished_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        partial: stop.load(Ordering::Relaxed),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        environment,
        settings: plan.settings.clone(),
        servers: results,
    };
    write_results(&plan.out, &run)?;
    print!("{}", report::markdown_headline(&run));
    eprintln!("results in {}", plan.out.display());
    Ok(if run.partial {
        ExitCode::from(crate::EXIT_PARTIAL)
    } else if run
        .servers
        .iter()
        .all(|s| s.status == results::Status::Failed)
    {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes run.json and every file made from it, then the index of the results folder.
pub fn write_results(out: &Path, run: &ComparisonRun) -> Result<()> {
    report::write(out, run, &[Box::new(report::Json)])?;
    report::write(out, run, &report::derived_exports(run))?;
    if let Some(parent) = out
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == "results"))
    {
        report::update_results_index(parent)?;
    }
    Ok(())
}

fn make_plan(args: &CompareArgs, started_at: &str) -> Result<Plan> {
    let names = |given: &[String], default: Vec<&str>| -> Vec<String> {
        if given.is_empty() {
            default.into_iter().map(str::to_owned).collect()
        } else {
            given.to_vec()
        }
    };
    let servers = select_servers(&names(
        &args.servers,
        contract::SERVERS.iter().map(|s| s.name).collect(),
    ))?;
    let default_scenarios = if args.quick {
        QUICK_SCENARIOS.to_vec()
    } else {
        SCENARIOS.iter().map(|s| s.name).collect()
    };
    let scenarios = Scenario::select(&names(&args.scenarios, default_scenarios))?;
    let rates = args
        .rates
        .iter()
        .map(|text| {
            Rate::parse(text)
                .map(|rate| (text.trim().to_owned(), rate))
                .map_err(anyhow::Error::msg)
        })
        .collect::<Result<Vec<_>>>()?;
    let cpus = match (&args.server_cpus, &args.client_cpus) {
        (Some(server), Some(client)) => CpuSplit::given(
            parse_cpu_list(server).map_err(anyhow::Error::msg)?,
            parse_cpu_list(client).map_err(anyhow::Error::msg)?,
        )
        .map_err(anyhow::Error::msg)?,
        _ => CpuSplit::halves(&available_cpus()),
    };
    let client_threads = u32::try_from(cpus.client.len()).unwrap_or(1).max(1);
    if args.connections < client_threads {
        bail!(
            "{} connections cannot be spread over {client_threads} load threads: give -c {client_threads} or more",
            args.connections
        );
    }
    let pick = |given: Option<Duration>, normal: u64, quick: u64| {
        given.unwrap_or(Duration::from_millis(if args.quick {
            quick
        } else {
            normal
        }))
    };
    let duration = pick(args.duration, 2000, 1000);
    let warmup = pick(args.warmup, 1000, 500);
    let scenario_warmup = pick(args.scenario_warmup, 250, 100);
    let rounds = args.rounds.unwrap_or(if args.quick { 1 } else { 3 });
    let bin_dir = match &args.server_bin_dir {
        Some(dir) => dir.clone(),
        None => workspace_root().join("target").join("release"),
    };
    for server in &servers {
        let binary = bin_dir.join(format!("server-{}", server.name));
        if args.server_bin_dir.is_some() && !binary.exists() {
            bail!(
                "there is no {} (build it, or drop --server-bin-dir to let compare build release binaries)",
                binary.display()
            );
        }
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None => {
            let root = workspace_root();
            let results = if root.join("results").is_dir() {
                root.join("results")
            } else {
                PathBuf::from("results")
            };
            results.join(format!(
                "{}-{}",
                started_at.replace(':', "-"),
                machine::hostname()
            ))
        }
    };
    let settings = CompareSettings {
        servers: servers.iter().map(|s| s.name.to_owned()).collect(),
        scenarios: scenarios.iter().map(|s| s.name.to_owned()).collect(),
        connections: args.connections,
        duration_s: duration.as_secs_f64(),
        warmup_s: warmup.as_secs_f64(),
        scenario_warmup_s: scenario_warmup.as_secs_f64(),
        rounds,
        rates: rates.iter().map(|(label, _)| label.clone()).collect(),
        server_threads: cpus.server.len().max(1),
        client_threads,
        cpus,
        engine: "hyper".to_owned(),
        timeout_s: args.timeout.as_secs_f64(),
        quick: args.quick,
    };
    Ok(Plan {
        servers,
        scenarios,
        rates,
        settings,
        duration,
        warmup,
        scenario_warmup,
        timeout: args.timeout,
        bin_dir,
        out,
    })
}

/// Builds the servers' release binaries (cargo does nothing if they are up to date), so that a
/// comparison never runs a stale or debug build.
fn build_servers(servers: &[&contract::ServerInfo]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .args(["build", "--release"]);
    for server in servers {
        command.args(["-p", &format!("server-{}", server.name)]);
    }
    eprintln!("building the servers' release binaries…");
    let status = command
        .status()
        .context("cannot run cargo to build the servers (or pass --server-bin-dir)")?;
    if !status.success() {
        bail!("building the servers failed ({status})");
    }
    Ok(())
}

/// One server in one round: start, verify, warm up, every scenario, stop.
fn server_round(
    plan: &Plan,
    round: u32,
    index: usize,
    result: &mut ServerResult,
    rates: &mut [Vec<RateMeasure>],
    stop: &Arc<AtomicBool>,
    bar: &mut CompareBar,
) {
    let info = plan.servers[index];
    let fail = |result: &mut ServerResult, what: String| {
        result.failures.push(format!("round {round}: {what}"))
    };
    let binary = plan.bin_dir.join(format!("server-{}", info.name));
    let args = [
        "--addr".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--threads".to_owned(),
        plan.settings.server_threads.to_string(),
    ];
    let launcher = plan.settings.cpus.server_launcher();
    let budget = plan.load_seconds_per_server();
    bar.start_server(round, plan.settings.rounds, info.name);
    let mut process =
        match ServerProcess::spawn(info.name, &binary, &args, &launcher, START_TIMEOUT) {
            Ok(process) => process,
            Err(err) => {
                fail(result, err.to_string());
                bar.skip(budget);
                return;
            }
        };
    result.rounds_started += 1;
    let base = format!("http://{}", process.addr());
    match crate::verify::verify(&base, Some(info.name), plan.timeout) {
        Ok(verdict) if verdict.mismatches.is_empty() => {}
        Ok(verdict) => {
            let first: Vec<&str> = verdict
                .mismatches
                .iter()
                .take(3)
                .map(String::as_str)
                .collect();
            fail(
                result,
                format!(
                    "left out: it does not answer the contract ({} mismatches: {})",
                    verdict.mismatches.len(),
                    first.join("; ")
                ),
            );
            bar.skip(budget);
            return;
        }
        Err(err) => {
            fail(result, format!("left out: cannot verify it: {err}"));
            bar.skip(budget);
            return;
        }
    }
    let mut spent = 0.0;
    if let Some(first) = plan.scenarios.first() {
        let _ = measure(
            plan,
            first,
            &base,
            Stop::After(plan.warmup),
            None,
            stop,
            bar,
        );
        spent += plan.warmup.as_secs_f64();
    }
    for (s, scenario) in plan.scenarios.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if process.has_exited() {
            for later in &mut result.scenarios[s..] {
                later.failures.push(format!(
                    "round {round}: not measured: the server had exited"
                ));
            }
            fail(result, "the server exited during the round".into());
            break;
        }
        bar.scenario(scenario.name);
        let mut closed_rps = None;
        if plan.closed_loop() {
            let _ = measure(
                plan,
                scenario,
                &base,
                Stop::After(plan.scenario_warmup),
                None,
                stop,
                bar,
            );
            let before = sample_process(process.pid()).unwrap_or_default();
            let outcome = measure(
                plan,
                scenario,
                &base,
                Stop::After(plan.duration),
                None,
                stop,
                bar,
            );
            let after = sample_process(process.pid()).unwrap_or_default();
            spent += (plan.scenario_warmup + plan.duration).as_secs_f64();
            match outcome {
                Ok(outcome) if process.has_exited() => {
                    result.scenarios[s].failures.push(format!(
                        "round {round}: the server died during the load ({} answers)",
                        outcome.tally.responses()
                    ));
                }
                Ok(outcome) => {
                    closed_rps = Some(outcome.rps());
                    result.scenarios[s].rounds.push(round_result(
                        round,
                        scenario,
                        &outcome,
                        after.cpu.saturating_sub(before.cpu),
                    ));
                }
                Err(err) => result.scenarios[s]
                    .failures
                    .push(format!("round {round}: {err}")),
            }
        }
        for (label, rate) in &plan.rates {
            let target = match (*rate, closed_rps) {
                (Rate::PerSecond(rate), _) => rate,
                (Rate::OfMaximum(share), Some(max)) if max > 0.0 => share * max,
                (Rate::OfMaximum(_), _) => continue,
            };
            match measure(
                plan,
                scenario,
                &base,
                Stop::After(plan.duration),
                Some(target),
                stop,
                bar,
            ) {
                Ok(outcome) => {
                    let sent = outcome.tally.responses() + outcome.tally.failures();
                    rates[s].push(RateMeasure {
                        label: label.clone(),
                        target_rate: target,
                        achieved_rate: sent as f64 / outcome.duration.as_secs_f64().max(1e-9),
                        latency: outcome.tally.latency.clone(),
                        latency_uncorrected: outcome.tally.latency_uncorrected.clone(),
                    });
                }
                Err(err) => result.scenarios[s]
                    .failures
                    .push(format!("round {round}, rate {label}: {err}")),
            }
            spent += plan.duration.as_secs_f64();
        }
    }
    bar.skip((budget - spent).max(0.0));
    if let Ok(sample) = sample_process(process.pid()) {
        result.rss_peak_kib = result.rss_peak_kib.max(sample.rss_peak_kib);
    }
    match process.stop(contract::SHUTDOWN_GRACE + Duration::from_secs(2)) {
        Ok(Some(status)) if status.success() => result.clean_exits += 1,
        Ok(Some(status)) => fail(
            result,
            format!("SIGTERM ended it with {status}, not exit code 0"),
        ),
        Ok(None) => fail(
            result,
            "it did not exit within the grace period after SIGTERM; killed".into(),
        ),
        Err(err) => fail(result, format!("cannot stop it: {err}")),
    }
}

/// One load of `scenario` against `base`: closed loop, or open loop at `rate`.
fn measure(
    plan: &Plan,
    scenario: &Scenario,
    base: &str,
    stop_after: Stop,
    rate: Option<f64>,
    stop: &Arc<AtomicBool>,
    bar: &mut CompareBar,
) -> Result<LoadOutcome> {
    let spec = LoadSpec {
        target: scenario.target(base)?,
        engine: EngineKind::H1,
        connections: plan.settings.connections,
        threads: plan.settings.client_threads,
        stop: stop_after,
        rate,
        pipeline: 1,
        warmup: Duration::ZERO,
        timeout: plan.timeout,
        http2: false,
        use_proxy: false,
    };
    let outcome = load::run(&spec, stop, &mut |progress| {
        bar.load_progress(progress.elapsed)
    })?;
    bar.load_done(match stop_after {
        Stop::After(d) => d,
        Stop::Requests(_) => Duration::ZERO,
    });
    Ok(outcome)
}

fn round_result(
    round: u32,
    scenario: &Scenario,
    outcome: &LoadOutcome,
    server_cpu: Duration,
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
        histogram: tally.latency.to_base64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_absolute_or_share() {
        assert_eq!(Rate::parse("5000"), Ok(Rate::PerSecond(5000.0)));
        assert_eq!(Rate::parse(" 50% "), Ok(Rate::OfMaximum(0.5)));
        assert!(Rate::parse("0").is_err());
        assert!(Rate::parse("150%").is_err());
        assert!(Rate::parse("fast").is_err());
    }
}
