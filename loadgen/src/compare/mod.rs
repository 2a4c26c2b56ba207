//! `loadgen compare`: every contender, every scenario, many short rounds, side by side, then
//! every contender at the same open-loop rates.
//!
//! Each step answers a reason benchmark tables lie: release binaries built fresh (no debug or
//! stale builds) and found where cargo put them, a server on port 0 started for each round (no
//! stale server on a port), its answers verified against the contract before any load, server
//! and load generator pinned to different CPUs, contenders in a new random order each round,
//! the median of the rounds with its 95 % interval and a verdict on every pair, the machine's
//! steal time and other work recorded, a `client-bound` flag when the load generator was
//! saturated, latency compared at the same rates for every contender, and the machine,
//! versions, settings and command recorded beside the numbers. Two builds of one server
//! (`hyper hyper@HEAD~1`) are measured in the same rounds, paired by round, so a change of a
//! few per cent shows through a machine whose speed drifts by twenty.
//! Last, each contender holds thousands of idle keep-alive connections ([`idle`]): its memory
//! per connection, and whether a fresh request is still answered promptly.
//!
//! # Layout: data flows one way
//! 1. [`plan`]: the checked settings, the [`contender`]s and [`scenario`]s, the sweep's rates;
//! 2. [`round`]: one visit to one contender, returning typed measurements; [`run`] (this file)
//!    visits every contender in every round and collects them into [`Measurements`];
//! 3. [`crate::analysis`]: the figures, from the measurements alone;
//! 4. [`crate::results`]: `run.json`, the plan's facts and the measurements;
//! 5. [`crate::report`]: the files, from `run.json`.
//!
//! Nothing here prints or writes results: the command's edge (`lib.rs`) does.

pub mod contender;
pub mod database;
pub mod idle;
pub mod plan;
pub mod round;
pub mod scenario;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::{Instant, SystemTime};

use self::plan::Plan;
use self::round::{Observer, Rounds, VisitOutcome};
use crate::cost;
use crate::machine::Environment;
use crate::results::cost::CostTable;
use crate::results::{
    COMPARE_SCHEMA_VERSION, CostSample, IdleTable, Measurements, RunRecord, ScenarioSweep,
};
use crate::strays::StrayServer;

/// What the rounds measured: the sweep's rates, fixed once from the closed loop, and every
/// measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The sweep of each swept scenario.
    pub sweeps: Vec<ScenarioSweep>,
    /// Every measurement.
    pub measurements: Measurements,
    /// What the cost phase measured, if it ran.
    pub cost: Option<CostTable>,
    /// What idle connections cost each server, if the idle phase ran.
    pub idle: Option<IdleTable>,
}

/// Runs `plan`: the closed-loop rounds (from the second on with a load at each swept
/// scenario's common rate), then the sweep at rates fixed from the first round's maxima.
/// `stop` ends it early (what was measured so far is returned).
pub fn run(
    plan: &Plan,
    database: Option<&database::Database>,
    stop: &Arc<AtomicBool>,
    observe: &mut Observer<'_>,
) -> Measured {
    let mut rounds = Rounds {
        plan,
        stop,
        observe,
        database,
        fastest_probe_us: None,
    };
    let mut measurements = Measurements::default();
    // The closed loop: each round starts every contender afresh, in a new order. The first
    // round fixes the sweep's rates from its maxima; from the second on, each visit also
    // loads every swept scenario at its common rate, so that the latency there pairs by round
    // as throughput does (the sweep's first round is its first round).
    let mut sweeps = Vec::new();
    for round in 1..=plan.settings.rounds {
        for contender in shuffled(plan) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            collect(
                &mut measurements,
                rounds.closed_visit(contender, round, &sweeps),
            );
        }
        if round == 1 {
            sweeps = plan.sweeps(&measurements.closed);
        }
    }
    // The sweep: the same rates for every contender, from the slowest one's maximum.
    if sweeps.is_empty() {
        sweeps = plan.sweeps(&measurements.closed);
    }
    for round in 1..=plan.settings.sweep_rounds {
        for contender in shuffled(plan) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            collect(
                &mut measurements,
                rounds.sweep_visit(contender, round, &sweeps),
            );
        }
    }
    Measured {
        sweeps,
        measurements,
        cost: None,
        idle: None,
    }
}

/// The cost phase, after the sweep: each contender's binary measured by `loadgen cost`'s
/// module with the plan's cost settings. `None` when the plan has no cost phase
/// (`--no-cost`). A missing tool leaves its figures unavailable with the reason (and the
/// command that installs it); the rest is measured.
pub fn cost_phase(
    plan: &Plan,
    stop: &Arc<AtomicBool>,
    command: &str,
    observe: &mut dyn FnMut(cost::Step),
) -> Option<CostTable> {
    let cost = plan.cost.as_ref()?;
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let servers = cost::run(cost, stop, observe);
    // The tools' files were read; only the figures are kept.
    let _ = std::fs::remove_dir_all(&cost.work_dir);
    Some(CostTable {
        started_at,
        command: command.to_owned(),
        settings: cost.settings.clone(),
        tools: cost.tools.status(),
        partial: stop.load(Ordering::Relaxed) || servers.len() < cost.servers.len(),
        servers,
        seconds: started.elapsed().as_secs_f64(),
    })
}

impl Measured {
    /// Adds the cost phase's table, and each of its counts as a [`CostSample`] so that two
    /// builds of one server are compared count by count like any figure.
    pub fn with_cost(mut self, table: Option<CostTable>) -> Self {
        if let Some(table) = &table {
            self.measurements.costs.extend(cost_samples(table));
        }
        self.cost = table;
        self
    }
}

impl Measured {
    /// Adds what the idle phase measured.
    pub fn with_idle(mut self, table: Option<IdleTable>) -> Self {
        self.idle = table;
        self
    }
}

/// Every measured count of `table`, one sample per measurement.
pub fn cost_samples(table: &CostTable) -> Vec<CostSample> {
    let mut samples = Vec::new();
    for server in &table.servers {
        for result in &server.results {
            for (count, figure) in result.figures() {
                for (i, per_request) in figure.runs().into_iter().enumerate() {
                    samples.push(CostSample {
                        contender: server.server.clone(),
                        scenario: result.scenario.clone(),
                        round: u32::try_from(i + 1).unwrap_or(u32::MAX),
                        count,
                        per_request,
                    });
                }
            }
        }
    }
    samples
}

/// Where a run comes from: when it started, the command, the machine.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// When it started, UTC (RFC 3339).
    pub started_at: String,
    /// The command line.
    pub command: String,
    /// The machine and the build.
    pub environment: Environment,
    /// Servers the run did not start, found on the servers' CPUs before it measured.
    pub stray_servers: Vec<StrayServer>,
}

impl Measured {
    /// The record of the run: `run.json`. `partial` when it was stopped early.
    pub fn into_record(self, plan: &Plan, provenance: Provenance, partial: bool) -> RunRecord {
        RunRecord {
            schema_version: COMPARE_SCHEMA_VERSION,
            started_at: provenance.started_at,
            finished_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            partial,
            command: provenance.command,
            environment: provenance.environment,
            settings: plan.settings.clone(),
            contenders: plan
                .contenders
                .iter()
                .map(|c| c.record(&c.stderr_log()))
                .collect(),
            sweeps: self.sweeps,
            measurements: self.measurements,
            stray_servers: provenance.stray_servers,
            cost: self.cost,
            idle: self.idle,
        }
    }
}

/// The plan's contenders in a new random order.
fn shuffled(plan: &Plan) -> Vec<&contender::Contender> {
    visit_order(&plan.contenders, &mut fastrand::Rng::new())
}

/// Every one of `items` once, in an order drawn from `rng`.
fn visit_order<'a, T>(items: &'a [T], rng: &mut fastrand::Rng) -> Vec<&'a T> {
    let mut order: Vec<&T> = items.iter().collect();
    rng.shuffle(&mut order);
    order
}

fn collect(into: &mut Measurements, visit: VisitOutcome) {
    into.visits.push(visit.visit);
    into.closed.extend(visit.closed);
    into.open.extend(visit.open);
    into.failures.extend(visit.failures);
    into.repeats.extend(visit.repeats);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::analysis::cost::tests::{figure, server, table};
    use crate::analysis::{self, Figure};
    use crate::results::cost::Count;
    use crate::results::sample;

    /// Each round visits every contender exactly once, and the order is drawn afresh: over
    /// 40 rounds of four, every contender is first some time and no order holds, where a fixed
    /// or rotating order would give one first contender or four orders.
    #[test]
    fn each_round_visits_every_contender_once_in_a_fresh_order() {
        let contenders = ["std", "axum", "go-gin", "ntex"];
        let mut rng = fastrand::Rng::with_seed(11);
        let (mut orders, mut firsts) = (BTreeSet::new(), BTreeSet::new());
        for _ in 0..40 {
            let order: Vec<&str> = visit_order(&contenders, &mut rng)
                .into_iter()
                .copied()
                .collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                ["axum", "go-gin", "ntex", "std"],
                "each once: {order:?}"
            );
            firsts.insert(order[0]);
            orders.insert(order);
        }
        assert_eq!(firsts.len(), 4, "{orders:?}");
        assert!(orders.len() > 10, "{orders:?}");
    }

    #[test]
    fn two_builds_counts_become_changes() {
        let contenders = [("hyper", "hyper"), ("hyper@HEAD~1", "hyper")];
        let record = sample::record(&contenders, &["plaintext"], 1);
        let measured = Measured {
            sweeps: Vec::new(),
            measurements: record.measurements.clone(),
            cost: None,
            idle: None,
        }
        .with_cost(Some(table(vec![
            server("hyper", figure(9_000.0)),
            server("hyper@HEAD~1", figure(10_000.0)),
        ])));
        // Four measured counts per server (context switches are unavailable there).
        assert_eq!(measured.measurements.costs.len(), 8);
        let record = RunRecord {
            measurements: measured.measurements,
            cost: measured.cost,
            ..record
        };
        let comparison = analysis::analyze(record);
        let change = comparison
            .changes
            .iter()
            .find(|c| {
                c.scenario == "json"
                    && c.figure
                        == Figure::Cost {
                            count: Count::Instructions,
                        }
            })
            .expect("the json scenario, which only the cost phase measured, is compared");
        assert!((change.ratio.median - 0.9).abs() < 1e-9);
        assert_eq!(comparison.cost.len(), 5);
    }
}
