//! `loadgen compare`: every server, every scenario, many short rounds, side by side, then every
//! server at the same open-loop rates.
//!
//! Each step answers a reason benchmark tables lie: release binaries built fresh (no debug or
//! stale builds) and found where cargo put them, a server on port 0 started for each round (no
//! stale server on a port), its answers verified against the contract before any load, server
//! and load generator pinned to different CPUs, servers in a new random order each round, the
//! median of the rounds with its 95 % interval and a verdict on every pair of servers, the
//! machine's steal time and other work recorded, a `client-bound` flag when the load generator
//! was saturated, latency compared at the same rates for every server, and the machine,
//! versions, settings and command recorded beside the numbers.
//!
//! # Layout
//! [`plan`]: the checked settings and the sweep's rates; [`round`]: one server in one round;
//! [`scenario`]: what is loaded; this file: the rounds in order, put together into a
//! [`ComparisonRun`]. Nothing here prints or writes: the command's edge (`lib.rs`) does, and
//! `report` renders the run.

pub mod plan;
pub mod round;
pub mod scenario;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use self::plan::{Plan, plan_sweep};
use self::round::{Observer, Visit};
use crate::analysis;
use crate::machine::Environment;
use crate::results::{
    COMPARE_SCHEMA_VERSION, ComparisonRun, MachineNoise, RateMeasure, ScenarioSweep, ServerResult,
};

/// Builds the servers' release binaries into the plan's target folder (cargo does nothing if
/// they are up to date), so that a comparison never runs a stale or debug build; then checks
/// that each one is where the comparison will look.
pub fn build_servers(plan: &Plan) -> Result<()> {
    let (cargo_built, go_built): (Vec<&&contract::ServerInfo>, Vec<_>) = plan
        .servers
        .iter()
        .partition(|server| server.build == contract::Build::Cargo);
    if !cargo_built.is_empty() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(plan::workspace_root())
            .args(["build", "--release", "--target-dir"])
            .arg(&plan.target_dir);
        for server in &cargo_built {
            command.args(["-p", &format!("server-{}", server.name)]);
        }
        let status = command
            .status()
            .context("cannot run cargo to build the servers (or pass --server-bin-dir)")?;
        if !status.success() {
            bail!("building the servers failed ({status})");
        }
    }
    // The Go servers: `go build` into the same folder (Go builds are always optimized).
    for server in go_built {
        conformance::build_go(server.name, &plan.binary(server.name))
            .map_err(|reason| anyhow::anyhow!("building server-{}: {reason}", server.name))?;
    }
    for server in &plan.servers {
        let binary = plan.binary(server.name);
        if !binary.is_file() {
            bail!(
                "server-{} is missing: cargo built it into {} but there is no {}",
                server.name,
                plan.target_dir.display(),
                binary.display()
            );
        }
    }
    Ok(())
}

/// Runs `plan`: the closed-loop rounds, then the sweep at rates fixed from their maxima, and
/// puts the results together. `stop` ends it early (the run is then partial).
pub fn run(
    plan: &Plan,
    environment: Environment,
    started_at: String,
    command: String,
    stop: &Arc<AtomicBool>,
    observe: &mut Observer<'_>,
) -> ComparisonRun {
    let scenarios: Vec<(&str, u32)> = plan
        .scenarios
        .iter()
        .map(|s| (s.name, s.pipeline))
        .collect();
    let mut servers: Vec<ServerResult> = plan
        .servers
        .iter()
        .map(|s| ServerResult::new(s.name, &scenarios))
        .collect();

    // The closed loop: each round starts every server afresh, in a new order.
    'rounds: for round in 1..=plan.settings.rounds {
        for index in shuffled(plan.servers.len()) {
            if stop.load(Ordering::Relaxed) {
                break 'rounds;
            }
            let visit = round::closed_round(plan, round, index, stop, observe);
            let server = &mut servers[index];
            let measured = absorb(server, "round", round, visit);
            for (result, outcome) in server.scenarios.iter_mut().zip(measured) {
                match outcome {
                    Some(Ok(measured)) => result.rounds.push(measured),
                    Some(Err(err)) => result.failures.push(format!("round {round}: {err}")),
                    None => {}
                }
            }
        }
    }

    // The sweep: the same rates for every server, from the slowest server's maximum.
    let sweeps: Vec<Option<ScenarioSweep>> = plan
        .swept
        .iter()
        .map(|&s| {
            let maxima: Vec<(&str, Option<f64>)> = servers
                .iter()
                .map(|server| {
                    let rounds = &server.scenarios[s].rounds;
                    let rps: Vec<f64> = rounds.iter().map(|r| r.rps).collect();
                    (
                        server.name.as_str(),
                        (!rps.is_empty()).then(|| analysis::median(&rps)),
                    )
                })
                .collect();
            plan_sweep(plan.scenarios[s].name, &plan.rates, &maxima)
        })
        .collect();
    let mut rates: Vec<Vec<Vec<RateMeasure>>> =
        vec![vec![Vec::new(); plan.swept.len()]; plan.servers.len()];
    'sweep: for round in 1..=plan.settings.sweep_rounds {
        for index in shuffled(plan.servers.len()) {
            if stop.load(Ordering::Relaxed) {
                break 'sweep;
            }
            let visit = round::sweep_round(plan, round, index, &sweeps, stop, observe);
            let server = &mut servers[index];
            let measured = absorb(server, "sweep round", round, visit);
            for ((&s, points), into) in plan.swept.iter().zip(measured).zip(&mut rates[index]) {
                for point in points {
                    match point {
                        Ok(point) => into.push(point),
                        Err(err) => server.scenarios[s]
                            .failures
                            .push(format!("sweep round {round}, {err}")),
                    }
                }
            }
        }
    }

    for (server, server_rates) in servers.iter_mut().zip(&rates) {
        for (s, result) in server.scenarios.iter_mut().enumerate() {
            let measured = plan
                .swept
                .iter()
                .position(|&swept| swept == s)
                .map_or(&[][..], |i| &server_rates[i][..]);
            result.summarize(plan.settings.rounds, measured);
        }
        server.settle_status();
    }
    let mut run = ComparisonRun {
        schema_version: COMPARE_SCHEMA_VERSION,
        started_at,
        finished_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        partial: stop.load(Ordering::Relaxed),
        command,
        environment,
        settings: plan.settings.clone(),
        noise: MachineNoise::default(),
        servers,
        sweeps: sweeps.into_iter().flatten().collect(),
        rankings: Vec::new(),
    };
    run.analyze();
    run
}

/// 0..n in a random order.
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    fastrand::shuffle(&mut order);
    order
}

/// Records what a visit says about the server itself and returns what it measured.
fn absorb<T>(server: &mut ServerResult, what: &str, round: u32, visit: Visit<T>) -> T {
    server.rounds_started += u32::from(visit.started);
    server.clean_exits += u32::from(visit.clean_exit);
    server.rss_peak_kib = server.rss_peak_kib.max(visit.rss_peak_kib);
    server.failures.extend(
        visit
            .failures
            .into_iter()
            .map(|f| format!("{what} {round}: {f}")),
    );
    visit.measured
}
