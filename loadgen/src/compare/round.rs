//! One visit to one contender: start it on port 0 (its stderr into its log in the results
//! folder), check that it answers the contract, warm it up, load it, stop it. A visit returns
//! typed measurements keyed by contender and scenario, and tells an observer what it is doing
//! (as `load::run` does); it neither prints nor writes results, and knows nothing of progress
//! bars or of how long the whole run takes.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use harness::{ServerProcess, StartError};
use thiserror::Error;

use super::contender::Contender;
use super::database::Database;
use super::plan::{OPEN_LOOP_WARMUP, Plan};
use super::scenario::Scenario;
use crate::cgroup::ServerMeter;
use crate::load::{self, LoadError, LoadOutcome, LoadSpec, Stop};
use crate::machine::{MachineTimes, probe_cpus, sample_process};
use crate::results::{
    ClosedSample, FailureRecord, OpenSample, Phase, PlannedRate, RepeatRecord, RepeatSettings,
    RoundResult, ScenarioSweep, VisitRecord,
};
use crate::target::TargetError;

/// How long a server may take to print its ready line.
pub(super) const START_TIMEOUT: Duration = Duration::from_secs(15);

/// What a visit tells its observer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'a> {
    /// A visit to a contender starts.
    Visit {
        /// Closed loop or sweep.
        phase: Phase,
        /// Round number, from 1.
        round: u32,
        /// Rounds of this phase.
        rounds: u32,
        /// The contender's label.
        contender: &'a str,
    },
    /// A scenario starts.
    Scenario(&'a str),
    /// Inside a load: time since it started.
    Load(Duration),
    /// A load of this planned length (its unrecorded start included) is over.
    LoadEnded(Duration),
    /// The visit is over (whether it ran all its loads or not).
    VisitEnded(Phase),
}

/// Observes the rounds.
pub type Observer<'a> = dyn FnMut(Event<'_>) + 'a;

/// What went wrong in a visit.
#[derive(Debug, Error)]
pub enum RoundError {
    /// The server did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Its stderr log cannot be opened.
    #[error("cannot open its stderr log {path}: {source}")]
    Log {
        /// The log.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It answers, but not as the contract says.
    #[error("left out: it does not answer the contract ({count} mismatches: {first})")]
    NotConforming {
        /// How many mismatches.
        count: usize,
        /// The first few.
        first: String,
    },
    /// The contract check could not run.
    #[error("left out: cannot verify it: {0}")]
    Verify(String),
    /// The scenario's requests cannot be made.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The load failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The server died while loaded.
    #[error("the server died during the load ({answers} answers)")]
    DiedUnderLoad {
        /// Answers before it died.
        answers: u64,
    },
    /// A load of the sweep failed.
    #[error("rate {rate}: {source}")]
    AtRate {
        /// The rate's label.
        rate: String,
        /// What went wrong.
        source: Box<RoundError>,
    },
    /// The server had exited before the scenario.
    #[error("not measured: the server had exited")]
    ExitedBefore,
    /// The server exited during the visit.
    #[error("the server exited during the round")]
    Exited,
    /// SIGTERM ended it with a failure.
    #[error("SIGTERM ended it with {0}, not exit code 0")]
    BadExit(std::process::ExitStatus),
    /// It outlived its grace period.
    #[error("it did not exit within the grace period after SIGTERM; killed")]
    NoExit,
    /// It cannot be stopped.
    #[error("cannot stop it: {0}")]
    Stop(std::io::Error),
}

/// Everything a visit needs besides the contender: the plan, the stop flag, the observer.
pub struct Rounds<'a, 'o> {
    /// The plan.
    pub plan: &'a Plan,
    /// Set on Ctrl-C: the visit ends at the next load.
    pub stop: &'a Arc<AtomicBool>,
    /// Told what happens.
    pub observe: &'a mut Observer<'o>,
    /// The database of the database scenarios, when it runs here: its CPU time is read around
    /// each of their loads.
    pub database: Option<&'a Database>,
    /// The fastest CPU speed probe of the run so far, µs: the speed a probe's slowdown is
    /// measured from.
    pub fastest_probe_us: Option<f64>,
}

impl std::fmt::Debug for Rounds<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rounds")
            .field("plan", &self.plan)
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

/// What one visit brought back, keyed by contender and scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitOutcome {
    /// The visit itself.
    pub visit: VisitRecord,
    /// Closed-loop loads measured.
    pub closed: Vec<ClosedSample>,
    /// Open-loop loads measured.
    pub open: Vec<OpenSample>,
    /// What went wrong.
    pub failures: Vec<FailureRecord>,
    /// Loads measured again, and why.
    pub repeats: Vec<RepeatRecord>,
}

impl VisitOutcome {
    fn new(contender: &Contender, phase: Phase, round: u32) -> Self {
        Self {
            visit: VisitRecord {
                contender: contender.label.clone(),
                phase,
                round,
                started: false,
                clean_exit: false,
                rss_peak_kib: None,
                cpu_method: None,
                memory_peak_kib: None,
            },
            closed: Vec::new(),
            open: Vec::new(),
            failures: Vec::new(),
            repeats: Vec::new(),
        }
    }

    fn fail(&mut self, scenario: Option<&str>, error: &RoundError) {
        self.failures.push(FailureRecord {
            contender: self.visit.contender.clone(),
            phase: self.visit.phase,
            round: self.visit.round,
            scenario: scenario.map(str::to_owned),
            message: error.to_string(),
        });
    }
}

/// A running contender during a visit: the process this visit started, or `None` for a
/// server that runs elsewhere.
struct Running<'c> {
    contender: &'c Contender,
    process: Option<ServerProcess>,
    /// Reads its CPU time; after `process`, so that the server is stopped before its cgroup
    /// is removed.
    meter: Option<ServerMeter>,
    base: String,
}

impl Running<'_> {
    /// Whether the server this visit started has exited (a remote one is not known to).
    fn has_exited(&mut self) -> bool {
        self.process.as_mut().is_some_and(ServerProcess::has_exited)
    }

    /// The server's CPU time so far; `None` for a remote server (or one whose counter cannot
    /// be read), never zero.
    fn server_cpu(&self) -> Option<Duration> {
        self.meter.as_ref()?.cpu().ok()
    }
}

impl Rounds<'_, '_> {
    /// A closed-loop visit: every scenario at its maximum, and each swept scenario of
    /// `sweeps` (empty in the first round, which fixes them) then at its common rate, the
    /// closed load its warmup.
    pub fn closed_visit(
        &mut self,
        contender: &Contender,
        round: u32,
        sweeps: &[ScenarioSweep],
    ) -> VisitOutcome {
        let plan = self.plan;
        let warmup = plan.scenarios.first().copied();
        self.visit(
            contender,
            Phase::Closed,
            round,
            warmup,
            |rounds, running, outcome| {
                for scenario in &plan.scenarios {
                    if rounds.stopped() {
                        break;
                    }
                    if running.has_exited() {
                        outcome.fail(Some(scenario.name), &RoundError::ExitedBefore);
                        continue;
                    }
                    (rounds.observe)(Event::Scenario(scenario.name));
                    match rounds.closed_scenario(running, scenario, round, outcome) {
                        Ok(measure) => outcome.closed.push(ClosedSample {
                            contender: contender.label.clone(),
                            scenario: scenario.name.to_owned(),
                            measure,
                        }),
                        Err(err) => outcome.fail(Some(scenario.name), &err),
                    }
                    let common = sweeps
                        .iter()
                        .filter(|s| s.scenario == scenario.name)
                        .find_map(ScenarioSweep::headline_rate);
                    if let Some(rate) = common
                        && !rounds.stopped()
                        && !running.has_exited()
                    {
                        rounds.rate_load(running, (contender, scenario, round), rate, outcome);
                    }
                }
            },
        )
    }

    /// A sweep visit: each swept scenario at each rate of its sweep.
    pub fn sweep_visit(
        &mut self,
        contender: &Contender,
        round: u32,
        sweeps: &[ScenarioSweep],
    ) -> VisitOutcome {
        let plan = self.plan;
        let warmup = plan.swept.first().copied();
        self.visit(
            contender,
            Phase::Sweep,
            round,
            warmup,
            |rounds, running, outcome| {
                for scenario in &plan.swept {
                    let Some(sweep) = sweeps.iter().find(|s| s.scenario == scenario.name) else {
                        continue;
                    };
                    (rounds.observe)(Event::Scenario(scenario.name));
                    let _ = rounds.load(running, scenario, plan.scenario_warmup(), None);
                    // The common rate's later rounds were measured in the closed-loop rounds.
                    let skip = (!plan.common_rate_in_sweep(round)).then_some(sweep.headline);
                    let order = rate_order(&sweep.rates, skip, &mut fastrand::Rng::new());
                    for rate in order {
                        if rounds.stopped() || running.has_exited() {
                            break;
                        }
                        rounds.rate_load(running, (contender, scenario, round), rate, outcome);
                    }
                }
            },
        )
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Starts `contender`, verifies it, warms it up on `warmup`, runs `body`, stops it.
    fn visit(
        &mut self,
        contender: &Contender,
        phase: Phase,
        round: u32,
        warmup: Option<Scenario>,
        body: impl FnOnce(&mut Self, &mut Running<'_>, &mut VisitOutcome),
    ) -> VisitOutcome {
        let rounds = match phase {
            Phase::Closed => self.plan.settings.rounds,
            Phase::Sweep => self.plan.settings.sweep_rounds,
        };
        (self.observe)(Event::Visit {
            phase,
            round,
            rounds,
            contender: &contender.label,
        });
        let mut outcome = VisitOutcome::new(contender, phase, round);
        match self.start(contender, phase, round) {
            Err(err) => outcome.fail(None, &err),
            Ok(mut running) => {
                outcome.visit.started = true;
                outcome.visit.cpu_method = running.meter.as_ref().map(ServerMeter::method);
                match verify(&running, self.plan.timeout()) {
                    Err(err) => outcome.fail(None, &err),
                    Ok(()) => {
                        if let Some(first) = warmup {
                            let _ = self.load(&running, &first, self.plan.warmup(), None);
                        }
                        body(self, &mut running, &mut outcome);
                    }
                }
                stop(&mut running, &mut outcome);
            }
        }
        (self.observe)(Event::VisitEnded(phase));
        outcome
    }

    /// Starts `contender` on port 0, its stderr appended to its log in the results folder; a
    /// remote one is already running, and is used as it is.
    fn start<'c>(
        &self,
        contender: &'c Contender,
        phase: Phase,
        round: u32,
    ) -> Result<Running<'c>, RoundError> {
        if let Some(url) = contender.remote_url() {
            return Ok(Running {
                contender,
                process: None,
                meter: None,
                base: url.to_owned(),
            });
        }
        let path = self.plan.out.join(contender.stderr_log());
        let log_error = |source| RoundError::Log {
            path: path.display().to_string(),
            source,
        };
        let mut log = open_log(&path).map_err(log_error)?;
        writeln!(log, "--- {} {round} ---", phase.round_name()).map_err(log_error)?;
        let process = ServerProcess::spawn_with_stderr(
            contender.server.name,
            &contender.binary,
            &self.plan.server_args(),
            &self.plan.settings.cpus.server_launcher(),
            START_TIMEOUT,
            Stdio::from(log),
        )?;
        let base = format!("http://{}", process.addr());
        // In a cgroup of its own for the whole visit: its CPU time to the microsecond.
        let meter = ServerMeter::attach(process.pid());
        Ok(Running {
            contender,
            process: Some(process),
            meter: Some(meter),
            base,
        })
    }

    /// The measured closed-loop load of one scenario, measured again (at most the settings'
    /// limit) while the hypervisor disturbed it: its steal or its speed probe passed the
    /// settings' thresholds. Each repeat is recorded in `outcome` with its cause; the last
    /// measurement counts.
    fn closed_scenario(
        &mut self,
        running: &mut Running<'_>,
        scenario: &Scenario,
        round: u32,
        outcome: &mut VisitOutcome,
    ) -> Result<RoundResult, RoundError> {
        let mut attempt = 0;
        loop {
            let result = self.closed_load(running, scenario, round)?;
            let slowdown = self.slowdown(result.probe_us);
            let Some(repeat) = self.plan.settings.repeat.filter(|r| attempt < r.limit) else {
                return Ok(result);
            };
            let Some(reason) = disturbance(&repeat, result.steal, slowdown) else {
                return Ok(result);
            };
            attempt += 1;
            outcome.repeats.push(RepeatRecord {
                contender: running.contender.label.clone(),
                scenario: scenario.name.to_owned(),
                round,
                attempt,
                steal: result.steal,
                slowdown,
                reason,
            });
            if self.stopped() || running.has_exited() {
                return Ok(result);
            }
        }
    }

    /// How much longer a probe of `probe_us` took than the fastest of the run so far (0 for
    /// the fastest, or when the CPU could not be probed); it becomes the fastest if it is.
    fn slowdown(&mut self, probe_us: f64) -> f64 {
        if probe_us <= 0.0 {
            return 0.0;
        }
        let slowdown = self
            .fastest_probe_us
            .map_or(0.0, |fastest| (probe_us / fastest - 1.0).max(0.0));
        self.fastest_probe_us = Some(self.fastest_probe_us.map_or(probe_us, |f| f.min(probe_us)));
        slowdown
    }

    /// One measured closed-loop load of one scenario, with the server's CPU time and what
    /// else the machine did meanwhile.
    fn closed_load(
        &mut self,
        running: &mut Running<'_>,
        scenario: &Scenario,
        round: u32,
    ) -> Result<RoundResult, RoundError> {
        // How fast the server's CPU is right now, while the server is idle.
        let probe = probe_cpus(&self.plan.settings.cpus.server);
        let _ = self.load(running, scenario, self.plan.scenario_warmup(), None);
        let own = std::process::id();
        let machine_before = MachineTimes::read().ok();
        let database = self.database.filter(|_| scenario.needs_database());
        let database_before = database.and_then(Database::cpu_time);
        let server_before = running.server_cpu();
        let own_before = sample_process(own).unwrap_or_default();
        let started = Instant::now();
        let outcome = self.load(running, scenario, self.plan.duration(), None);
        let wall = started.elapsed().as_secs_f64();
        let server_cpu = running
            .server_cpu()
            .zip(server_before)
            .map(|(after, before)| after.saturating_sub(before));
        let database_cpu = database
            .and_then(Database::cpu_time)
            .zip(database_before)
            .map(|(after, before)| after.saturating_sub(before));
        let own_cpu = sample_process(own)
            .unwrap_or_default()
            .cpu
            .saturating_sub(own_before.cpu);
        let machine = match (machine_before, MachineTimes::read().ok()) {
            (Some(before), Some(after)) => after.since(&before, wall),
            _ => Default::default(),
        };
        let outcome = outcome?;
        if running.has_exited() {
            return Err(RoundError::DiedUnderLoad {
                answers: outcome.tally.responses(),
            });
        }
        let ours = (server_cpu.unwrap_or_default() + own_cpu + database_cpu.unwrap_or_default())
            .as_secs_f64()
            / wall.max(1e-9);
        let mut result = round_result(round, scenario, &outcome, server_cpu);
        result.steal = machine.steal;
        result.other_cpus = (machine.busy_cpus - ours).max(0.0);
        result.probe_us = probe.map_or(0.0, |p| p.as_secs_f64() * 1e6);
        result.database_cpu_us = database_cpu.map(|cpu| cpu.as_secs_f64() * 1e6);
        Ok(result)
    }

    /// One open-loop load of `scenario` at `rate`, recorded as a sample of `round` or as a
    /// failure.
    fn rate_load(
        &mut self,
        running: &Running<'_>,
        (contender, scenario, round): (&Contender, &Scenario, u32),
        rate: &PlannedRate,
        outcome: &mut VisitOutcome,
    ) {
        let duration = self.plan.sweep_duration();
        match self.load(running, scenario, duration, Some(rate.rate)) {
            Ok(load) => outcome
                .open
                .push(open_sample((contender, scenario, round), rate, &load)),
            Err(err) => outcome.fail(
                Some(scenario.name),
                &RoundError::AtRate {
                    rate: rate.label.clone(),
                    source: Box::new(err),
                },
            ),
        }
    }

    /// One load of `scenario` for `duration`: closed loop, or open loop at `rate` (after
    /// [`OPEN_LOOP_WARMUP`] at the same rate).
    fn load(
        &mut self,
        running: &Running<'_>,
        scenario: &Scenario,
        duration: Duration,
        rate: Option<f64>,
    ) -> Result<LoadOutcome, RoundError> {
        let settings = &self.plan.settings;
        let spec = LoadSpec {
            target: scenario.target(&running.base)?,
            engine: settings.engine,
            connections: settings.connections,
            threads: settings.client_threads,
            stop: Stop::After(duration),
            rate,
            pipeline: scenario.pipeline,
            warmup: if rate.is_some() {
                OPEN_LOOP_WARMUP
            } else {
                Duration::ZERO
            },
            timeout: self.plan.timeout(),
            http2: false,
            use_proxy: false,
        };
        let observe = &mut *self.observe;
        let outcome = load::run(&spec, self.stop, &mut |progress| {
            observe(Event::Load(progress.elapsed));
        });
        observe(Event::LoadEnded(duration + spec.warmup));
        Ok(outcome?)
    }
}

/// Why a load with `steal` and a probe `slowdown` must be measured again, or `None`.
fn disturbance(repeat: &RepeatSettings, steal: f64, slowdown: f64) -> Option<String> {
    let mut causes = Vec::new();
    if steal > repeat.steal {
        causes.push(format!(
            "steal {:.0} % > {:.0} %",
            steal * 100.0,
            repeat.steal * 100.0
        ));
    }
    if slowdown > repeat.slowdown {
        causes.push(format!(
            "speed probe {:.0} % slower than the fastest > {:.0} %",
            slowdown * 100.0,
            repeat.slowdown * 100.0
        ));
    }
    (!causes.is_empty()).then(|| causes.join(", "))
}

/// The rates of a sweep in the order one visit loads them: each once (but `skip`, the index of
/// a rate measured elsewhere), in a fresh order each round, so that no rate always follows
/// another (and inherits its heat).
fn rate_order<'r>(
    rates: &'r [PlannedRate],
    skip: Option<usize>,
    rng: &mut fastrand::Rng,
) -> Vec<&'r PlannedRate> {
    let mut order: Vec<&PlannedRate> = rates
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(_, rate)| rate)
        .collect();
    rng.shuffle(&mut order);
    order
}

/// Opens (appending) the stderr log at `path`, making its folder.
pub(super) fn open_log(path: &std::path::Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// Checks the running contender against the contract.
fn verify(running: &Running<'_>, timeout: Duration) -> Result<(), RoundError> {
    let name = running.contender.server.name;
    match crate::verify::verify(&running.base, Some(name), timeout) {
        Ok(verdict) if verdict.mismatches.is_empty() => Ok(()),
        Ok(verdict) => Err(RoundError::NotConforming {
            count: verdict.mismatches.len(),
            first: verdict
                .mismatches
                .iter()
                .take(3)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join("; "),
        }),
        Err(err) => Err(RoundError::Verify(err.to_string())),
    }
}

/// Records the peak memory, stops the contender with SIGTERM and records how it ended. A
/// remote server is left running, its memory unknown.
fn stop(running: &mut Running<'_>, outcome: &mut VisitOutcome) {
    let Some(process) = running.process.as_mut() else {
        return;
    };
    if let Ok(sample) = sample_process(process.pid()) {
        outcome.visit.rss_peak_kib = Some(sample.rss_peak_kib);
    }
    outcome.visit.memory_peak_kib = running
        .meter
        .as_ref()
        .and_then(ServerMeter::memory_peak_kib);
    let died = process.has_exited();
    if died {
        outcome.fail(None, &RoundError::Exited);
    }
    match process.stop(contract::SHUTDOWN_GRACE + Duration::from_secs(2)) {
        Ok(Some(status)) if status.success() => outcome.visit.clean_exit = true,
        // Its death was recorded above.
        Ok(Some(_)) if died => {}
        Ok(Some(status)) => outcome.fail(None, &RoundError::BadExit(status)),
        Ok(None) => outcome.fail(None, &RoundError::NoExit),
        Err(err) => outcome.fail(None, &RoundError::Stop(err)),
    }
}

fn round_result(
    round: u32,
    scenario: &Scenario,
    outcome: &LoadOutcome,
    server_cpu: Option<Duration>,
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
        server_cpu_us: server_cpu.map(|cpu| cpu.as_secs_f64() * 1e6),
        client_cpu_us: outcome.client_cpu.iter().sum::<f64>() * duration * 1e6,
        client_cpu: outcome.client_cpu.clone(),
        client_bound: outcome.client_bound(),
        steal: 0.0,
        other_cpus: 0.0,
        database_cpu_us: None,
        probe_us: 0.0,
        histogram: tally.latency.to_base64(),
    }
}

fn open_sample(
    (contender, scenario, round): (&Contender, &Scenario, u32),
    rate: &PlannedRate,
    outcome: &LoadOutcome,
) -> OpenSample {
    let tally = &outcome.tally;
    let sent = tally.responses() + tally.failures();
    OpenSample {
        contender: contender.label.clone(),
        scenario: scenario.name.to_owned(),
        round,
        label: rate.label.clone(),
        target_rate: rate.rate,
        achieved_rate: sent as f64 / outcome.duration.as_secs_f64().max(1e-9),
        latency: tally.latency.to_base64(),
        latency_uncorrected: Some(tally.latency_uncorrected.to_base64()),
        send_lag: Some(tally.send_lag.to_base64()),
        client_lagged: outcome.client_lagged(),
        loads: 1,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::compare::contender::Checkout;
    use crate::stats::{ErrorKind, Tally};

    fn rates() -> Vec<PlannedRate> {
        [("25%", 1_000.0), ("50%", 2_000.0), ("75%", 3_000.0)]
            .map(|(label, rate)| PlannedRate {
                label: label.into(),
                rate,
            })
            .into()
    }

    #[test]
    fn each_visit_loads_every_rate_once_and_no_order_repeats_by_rule() {
        let rates = rates();
        let mut rng = fastrand::Rng::with_seed(7);
        let (mut orders, mut firsts) = (BTreeSet::new(), BTreeSet::new());
        for _ in 0..30 {
            let order: Vec<&str> = rate_order(&rates, None, &mut rng)
                .iter()
                .map(|r| r.label.as_str())
                .collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, ["25%", "50%", "75%"], "each rate once: {order:?}");
            firsts.insert(order[0]);
            orders.insert(order);
        }
        // 30 rounds of 3! = 6 orders: every rate comes first some time, and most orders occur
        // (a fixed or rotating order would give 1 or 3).
        assert_eq!(firsts.len(), 3, "{orders:?}");
        assert!(orders.len() >= 5, "{orders:?}");
        // A rate measured elsewhere (the common one, in the closed-loop rounds) is left out.
        let without: Vec<&str> = rate_order(&rates, Some(1), &mut rng)
            .iter()
            .map(|r| r.label.as_str())
            .collect();
        assert_eq!(without.len(), 2, "{without:?}");
        assert!(!without.contains(&"50%"), "{without:?}");
    }

    /// An open-loop load is recorded under the contender, scenario, round and rate it ran at,
    /// whatever the order the rates ran in, with the rate it achieved from its own counts.
    #[test]
    fn an_open_sample_is_paired_with_its_contender_scenario_round_and_rate() {
        let contender = Contender {
            label: "hyper@HEAD~1".into(),
            server: contract::server("hyper").expect("hyper is in the table"),
            checkout: Checkout::WorkingTree,
            binary: "server-hyper".into(),
        };
        let scenario = super::super::scenario::all()
            .into_iter()
            .find(|s| s.name == "json")
            .expect("a json scenario");
        let mut tally = Tally::default();
        tally.status.insert(200, 90);
        tally.errors.insert(ErrorKind::Timeout, 10);
        let outcome = LoadOutcome {
            tally,
            duration: Duration::from_secs(2),
            client_cpu: vec![0.5],
            client_waited: vec![0.0],
            partial: false,
            open_loop: true,
            connections: 4,
            pipeline: 1,
        };
        let rates = rates();
        let samples: Vec<OpenSample> = rate_order(&rates, None, &mut fastrand::Rng::with_seed(3))
            .into_iter()
            .map(|rate| open_sample((&contender, &scenario, 4), rate, &outcome))
            .collect();
        for rate in &rates {
            let sample = samples
                .iter()
                .find(|s| s.label == rate.label)
                .expect("a sample per rate");
            assert_eq!(sample.contender, "hyper@HEAD~1");
            assert_eq!(sample.scenario, "json");
            assert_eq!(sample.round, 4);
            assert_eq!(sample.target_rate, rate.rate, "{sample:?}");
            // 90 answers and 10 failures sent in 2 s.
            assert_eq!(sample.achieved_rate, 50.0);
        }
        assert_eq!(samples.len(), 3);
    }
}
