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
pub mod plan;
pub mod round;
pub mod scenario;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::SystemTime;

use self::plan::Plan;
use self::round::{Observer, Rounds, VisitOutcome};
use crate::machine::Environment;
use crate::results::{COMPARE_SCHEMA_VERSION, Measurements, RunRecord, ScenarioSweep};

/// What the rounds measured: the sweep's rates, fixed once from the closed loop, and every
/// measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The sweep of each swept scenario.
    pub sweeps: Vec<ScenarioSweep>,
    /// Every measurement.
    pub measurements: Measurements,
}

/// Runs `plan`: the closed-loop rounds, then the sweep at rates fixed from their maxima.
/// `stop` ends it early (what was measured so far is returned).
pub fn run(plan: &Plan, stop: &Arc<AtomicBool>, observe: &mut Observer<'_>) -> Measured {
    let mut rounds = Rounds {
        plan,
        stop,
        observe,
    };
    let mut measurements = Measurements::default();
    // The closed loop: each round starts every contender afresh, in a new order.
    for round in 1..=plan.settings.rounds {
        for contender in shuffled(plan) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            collect(&mut measurements, rounds.closed_visit(contender, round));
        }
    }
    // The sweep: the same rates for every contender, from the slowest one's maximum.
    let sweeps = plan.sweeps(&measurements.closed);
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
    }
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
        }
    }
}

/// The plan's contenders in a new random order.
fn shuffled(plan: &Plan) -> Vec<&contender::Contender> {
    let mut order: Vec<&contender::Contender> = plan.contenders.iter().collect();
    fastrand::shuffle(&mut order);
    order
}

fn collect(into: &mut Measurements, visit: VisitOutcome) {
    into.visits.push(visit.visit);
    into.closed.extend(visit.closed);
    into.open.extend(visit.open);
    into.failures.extend(visit.failures);
}
