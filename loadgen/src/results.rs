//! The results of a comparison as data: what `run.json` holds. `compare` makes them and
//! `report` renders them; neither of the two is imported here.

use serde::{Deserialize, Serialize};

use crate::analysis::{self, Difference, Estimate};
use crate::machine::{CpuSplit, Environment};
use crate::stats::{LatencyHistogram, LatencySummary};

/// Version of the layout of `run.json`.
pub const COMPARE_SCHEMA_VERSION: u32 = 2;
/// A figure whose 95 % interval is wider than ± this share of its median is flagged noisy.
pub const NOISY_HALF_WIDTH: f64 = 0.03;
/// A run during which the hypervisor stole more than this share of the CPU time was noisy.
pub const NOISY_STEAL: f64 = 0.02;
/// A run during which other processes kept more than this many CPUs' worth busy was noisy.
pub const NOISY_OTHER_CPUS: f64 = 0.10;
/// A run during which the server CPU's speed (the probe's time) varied by more than this
/// (p90 / p10 − 1) was noisy.
pub const NOISY_SPEED_SPREAD: f64 = 0.05;
/// The median cell's rounds varied more than this (p90 / p10 − 1 of its throughputs): the
/// machine was noisy even if nothing above caught why. On this VM, slow spells of 15–25 %
/// lasting tens of seconds show only here: neither steal, nor other processes, nor the
/// compute probe moves during them.
pub const NOISY_ROUND_SPREAD: f64 = 0.10;

/// A whole comparison: `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRun {
    /// Layout version ([`COMPARE_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When it started, UTC (RFC 3339).
    pub started_at: String,
    /// When it ended, UTC (RFC 3339).
    pub finished_at: String,
    /// Stopped early (Ctrl-C): what was measured so far.
    pub partial: bool,
    /// The command line that made it.
    pub command: String,
    /// The machine and the build.
    pub environment: Environment,
    /// Every setting.
    pub settings: CompareSettings,
    /// How much else the machine was doing while the servers were loaded.
    pub noise: MachineNoise,
    /// One entry per server, in the order asked for.
    pub servers: Vec<ServerResult>,
    /// The open-loop sweep of each swept scenario: the same rates for every server.
    pub sweeps: Vec<ScenarioSweep>,
    /// For each scenario and figure, the servers in order and which differences are real.
    pub rankings: Vec<Ranking>,
}

impl ComparisonRun {
    /// Everything that went wrong, one line each: `server: …` or `server / scenario: …`.
    pub fn failure_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for server in &self.servers {
            lines.extend(
                server
                    .failures
                    .iter()
                    .map(|f| format!("{}: {f}", server.name)),
            );
            for scenario in &server.scenarios {
                lines.extend(
                    scenario
                        .failures
                        .iter()
                        .map(|f| format!("{} / {}: {f}", server.name, scenario.name)),
                );
            }
        }
        lines
    }

    /// The measured cells (server × scenario).
    pub fn cells(&self) -> impl Iterator<Item = &ScenarioResult> {
        self.servers
            .iter()
            .flat_map(|s| &s.scenarios)
            .filter(|s| s.status != Status::Failed)
    }

    /// The sweep of `scenario`, if it was swept.
    pub fn sweep(&self, scenario: &str) -> Option<&ScenarioSweep> {
        self.sweeps.iter().find(|s| s.scenario == scenario)
    }

    /// The ranking of `scenario` by `metric`.
    pub fn ranking(&self, scenario: &str, metric: Metric) -> Option<&Ranking> {
        self.rankings
            .iter()
            .find(|r| r.scenario == scenario && r.metric == metric)
    }

    /// How tables and charts name `scenario` ([`scenario_label`]).
    pub fn scenario_label(&self, scenario: &str) -> String {
        scenario_label(scenario, self.pipeline_of(scenario))
    }

    /// How tables and charts name each of `scenarios`.
    pub fn scenario_labels(&self, scenarios: &[String]) -> Vec<String> {
        scenarios.iter().map(|s| self.scenario_label(s)).collect()
    }

    /// Requests written together in `scenario` (1: not pipelined).
    pub fn pipeline_of(&self, scenario: &str) -> u32 {
        self.servers
            .iter()
            .find_map(|s| s.scenario(scenario))
            .map_or(1, |s| s.pipeline)
    }

    /// Fills in the machine noise and the rankings from the servers' rounds.
    pub fn analyze(&mut self) {
        self.noise = MachineNoise::of(
            self.servers
                .iter()
                .flat_map(|s| &s.scenarios)
                .flat_map(|s| &s.rounds),
        )
        .with_round_spread(
            self.servers
                .iter()
                .flat_map(|s| &s.scenarios)
                .map(|s| &s.rounds[..]),
        );
        self.rankings.clear();
        for (i, scenario) in self.settings.scenarios.iter().enumerate() {
            for metric in [Metric::Throughput, Metric::ServerCpu] {
                let samples: Vec<(String, Vec<(u32, f64)>)> = self
                    .servers
                    .iter()
                    .filter_map(|server| {
                        let cell = server.scenarios.get(i)?;
                        let values: Vec<(u32, f64)> = cell
                            .rounds
                            .iter()
                            .map(|r| (r.round, metric.of(r)))
                            .collect();
                        (!values.is_empty()).then(|| (server.name.clone(), values))
                    })
                    .collect();
                if samples.len() >= 2 {
                    self.rankings.push(Ranking::of(scenario, metric, &samples));
                }
            }
        }
    }
}

/// A scenario's name as tables and charts show it: a pipelined one carries its depth
/// (`pipelined ×16`).
pub fn scenario_label(name: &str, pipeline: u32) -> String {
    if pipeline > 1 {
        format!("{name} ×{pipeline}")
    } else {
        name.to_owned()
    }
}

/// The settings of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareSettings {
    /// Servers, in the order asked for (each round shuffles them).
    pub servers: Vec<String>,
    /// Scenarios, in order.
    pub scenarios: Vec<String>,
    /// Requests written together on a connection in the pipelined scenario.
    pub pipeline_depth: u32,
    /// Connections of each load.
    pub connections: u32,
    /// Measured seconds of each closed-loop load.
    pub duration_s: f64,
    /// Seconds of load on each freshly started server before its first scenario.
    pub warmup_s: f64,
    /// Seconds of unrecorded load before each scenario.
    pub scenario_warmup_s: f64,
    /// Closed-loop rounds.
    pub rounds: u32,
    /// The sweep's open-loop rates, as given: shares of the slowest server's maximum (`50%`)
    /// or requests per second (`5000`).
    pub rates: Vec<String>,
    /// The scenarios swept.
    pub sweep_scenarios: Vec<String>,
    /// Rounds of the sweep.
    pub sweep_rounds: u32,
    /// Measured seconds of each open-loop load.
    pub sweep_duration_s: f64,
    /// Which CPUs served and which loaded.
    pub cpus: CpuSplit,
    /// `--threads` of every server.
    pub server_threads: usize,
    /// Load threads.
    pub client_threads: u32,
    /// The load generator's engine.
    pub engine: String,
    /// Per-request timeout, seconds.
    pub timeout_s: f64,
    /// Whether this was a `--quick` run.
    pub quick: bool,
}

/// How much else the machine did while the servers were under load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineNoise {
    /// Closed-loop loads looked at.
    pub loads: u32,
    /// Mean share of CPU time the hypervisor stole.
    pub steal: f64,
    /// The most stolen during one load.
    pub steal_max: f64,
    /// Mean CPUs' worth of work by other processes (busy CPU time less the server's and the
    /// load generator's).
    pub other_cpus: f64,
    /// The most other work during one load.
    pub other_cpus_max: f64,
    /// How much the server CPU's speed varied over the run: p90 / p10 − 1 of the time a fixed
    /// piece of work took before each load.
    #[serde(default)]
    pub speed_spread: f64,
    /// How much the rounds of one server and scenario varied, as the median over those cells
    /// of p90 / p10 − 1 of their throughputs (cells with three rounds or more).
    #[serde(default)]
    pub round_spread: f64,
    /// Over [`NOISY_STEAL`], [`NOISY_OTHER_CPUS`], [`NOISY_SPEED_SPREAD`] or
    /// [`NOISY_ROUND_SPREAD`]: the figures are less sure than on a quiet machine.
    pub noisy: bool,
}

impl MachineNoise {
    /// The noise over `rounds`.
    pub fn of<'a>(rounds: impl Iterator<Item = &'a RoundResult>) -> Self {
        let mut noise = Self::default();
        let mut probes = Vec::new();
        for round in rounds {
            if round.probe_us > 0.0 {
                probes.push(round.probe_us);
            }
            noise.loads += 1;
            noise.steal += round.steal;
            noise.steal_max = noise.steal_max.max(round.steal);
            noise.other_cpus += round.other_cpus;
            noise.other_cpus_max = noise.other_cpus_max.max(round.other_cpus);
        }
        if noise.loads > 0 {
            noise.steal /= f64::from(noise.loads);
            noise.other_cpus /= f64::from(noise.loads);
        }
        probes.sort_by(f64::total_cmp);
        if probes.len() >= 2 {
            noise.speed_spread = p90_over_p10(&probes) - 1.0;
        }
        noise.noisy = noise.steal > NOISY_STEAL
            || noise.other_cpus > NOISY_OTHER_CPUS
            || noise.speed_spread > NOISY_SPEED_SPREAD;
        noise
    }

    /// Adds what the measurements themselves say: the spread of each cell's rounds.
    pub fn with_round_spread<'a>(mut self, cells: impl Iterator<Item = &'a [RoundResult]>) -> Self {
        let spreads: Vec<f64> = cells
            .filter(|rounds| rounds.len() >= 3)
            .map(|rounds| {
                let mut rps: Vec<f64> = rounds.iter().map(|r| r.rps).collect();
                rps.sort_by(f64::total_cmp);
                p90_over_p10(&rps) - 1.0
            })
            .filter(|spread| spread.is_finite())
            .collect();
        if !spreads.is_empty() {
            self.round_spread = analysis::median(&spreads);
        }
        self.noisy |= self.round_spread > NOISY_ROUND_SPREAD;
        self
    }
}

/// p90 / p10 of `sorted` (nearest rank), at least two values.
fn p90_over_p10(sorted: &[f64]) -> f64 {
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    at(0.9) / at(0.1)
}

/// How a server fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Everything was measured.
    Ok,
    /// Some of it was measured.
    Partial,
    /// Nothing was measured.
    Failed,
}

/// One server's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerResult {
    /// Short name.
    pub name: String,
    /// See [`Status`].
    pub status: Status,
    /// What went wrong, one line each (`round 2: …`).
    pub failures: Vec<String>,
    /// Highest peak resident memory over the rounds, KiB.
    pub rss_peak_kib: u64,
    /// Rounds (closed loop and sweep) in which SIGTERM ended it with exit code 0.
    pub clean_exits: u32,
    /// Rounds (closed loop and sweep) in which it was started.
    pub rounds_started: u32,
    /// One entry per scenario.
    pub scenarios: Vec<ScenarioResult>,
}

/// Percentiles of a latency distribution, µs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th.
    pub p90: u64,
    /// 99th.
    pub p99: u64,
    /// 99.9th.
    pub p999: u64,
    /// Slowest.
    pub max: u64,
}

impl From<LatencySummary> for Percentiles {
    fn from(s: LatencySummary) -> Self {
        Self {
            p50: s.p50,
            p90: s.p90,
            p99: s.p99,
            p999: s.p999,
            max: s.max,
        }
    }
}

/// One scenario on one server, over all rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Scenario name.
    pub name: String,
    /// Requests written together on a connection: 1, or the depth of the pipelined scenario.
    pub pipeline: u32,
    /// See [`Status`].
    pub status: Status,
    /// What went wrong.
    pub failures: Vec<String>,
    /// Answers per second: the median of the rounds and its 95 % interval.
    pub rps: Estimate,
    /// Coefficient of variation of the rounds' throughput (standard deviation / mean).
    pub cv: f64,
    /// Server CPU time per answer, µs: the median of the rounds and its 95 % interval.
    pub server_cpu_us: Estimate,
    /// Load generator CPU time per answer, µs, over all rounds.
    pub client_cpu_us_per_req: f64,
    /// Closed-loop latency percentiles of all rounds' answers together (at saturation this is
    /// mostly connections ÷ throughput; the sweep's latencies are the server's).
    pub latency_us: Percentiles,
    /// The busiest load thread of any round (CPU time / wall time).
    pub client_busy: f64,
    /// A load thread was saturated in some round: the throughput is a lower bound.
    pub client_bound: bool,
    /// The throughput's interval is wider than ± [`NOISY_HALF_WIDTH`] of its median.
    pub noisy: bool,
    /// Answers with another status than the scenario expects, and failed requests.
    pub unexpected: u64,
    /// All rounds' closed-loop latencies (HdrHistogram V2, base64).
    pub histogram: String,
    /// Each closed-loop round.
    pub rounds: Vec<RoundResult>,
    /// The open-loop sweep, one point per rate of [`ScenarioSweep::rates`] measured.
    pub sweep: Vec<RatePoint>,
}

/// One round of one scenario on one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundResult {
    /// Round number, from 1.
    pub round: u32,
    /// Answers per second.
    pub rps: f64,
    /// Answers.
    pub responses: u64,
    /// Answers with another status than expected, plus failed requests.
    pub unexpected: u64,
    /// Measured seconds.
    pub duration_s: f64,
    /// Latency, µs.
    pub latency_us: LatencySummary,
    /// Server CPU time during the load, µs.
    pub server_cpu_us: f64,
    /// Load generator CPU time during the load, µs (sum over load threads).
    pub client_cpu_us: f64,
    /// How busy each load thread was.
    pub client_cpu: Vec<f64>,
    /// A load thread was saturated.
    pub client_bound: bool,
    /// Share of the machine's CPU time the hypervisor stole during the load.
    pub steal: f64,
    /// CPUs' worth of work by other processes during the load.
    pub other_cpus: f64,
    /// µs a fixed piece of work took on the server CPU just before the load (0: not probed).
    #[serde(default)]
    pub probe_us: f64,
    /// Latencies (HdrHistogram V2, base64).
    pub histogram: String,
}

impl RoundResult {
    /// Server CPU time per answer, µs.
    pub fn server_cpu_per_answer(&self) -> f64 {
        if self.responses > 0 {
            self.server_cpu_us / self.responses as f64
        } else {
            0.0
        }
    }
}

/// One open-loop point: latency at a rate every server was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    /// The rate as given: `50%` (of the slowest server's maximum) or `5000`.
    pub label: String,
    /// Requests per second asked for.
    pub target_rate: f64,
    /// Requests per second sent (median over rounds).
    pub achieved_rate: f64,
    /// Latency from each request's due time (coordinated omission corrected), all rounds.
    pub latency_us: Percentiles,
    /// Latency from each request's actual send, all rounds.
    pub latency_uncorrected_us: Percentiles,
    /// How late requests were sent after their due time, all rounds.
    pub send_lag_us: Percentiles,
    /// The load generator fell behind its schedule in some round: the latencies include its
    /// own delay.
    pub client_lagged: bool,
    /// Rounds measured.
    pub rounds: u32,
    /// Corrected latencies, all rounds (HdrHistogram V2, base64).
    pub histogram: String,
}

/// What one open-loop load measured, before the rounds are put together.
#[derive(Debug, Clone)]
pub struct RateMeasure {
    /// See [`RatePoint::label`].
    pub label: String,
    /// Asked for.
    pub target_rate: f64,
    /// Sent.
    pub achieved_rate: f64,
    /// From the due time.
    pub latency: LatencyHistogram,
    /// From the send.
    pub latency_uncorrected: LatencyHistogram,
    /// Send minus due time.
    pub send_lag: LatencyHistogram,
    /// The load generator fell behind.
    pub client_lagged: bool,
}

/// The sweep of one scenario: rates fixed from every server's closed-loop maximum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSweep {
    /// Scenario name.
    pub scenario: String,
    /// The server with the lowest median maximum.
    pub slowest_server: String,
    /// Its median maximum, req/s.
    pub slowest_rps: f64,
    /// The rates, lowest first.
    pub rates: Vec<PlannedRate>,
    /// Index into `rates` of the common rate whose p99 is the headline latency.
    pub headline: usize,
}

impl ScenarioSweep {
    /// The common rate of the headline latency.
    pub fn headline_rate(&self) -> Option<&PlannedRate> {
        self.rates.get(self.headline)
    }
}

/// One rate of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRate {
    /// As given: `50%` or `5000`.
    pub label: String,
    /// Requests per second, rounded to two significant digits.
    pub rate: f64,
}

/// Which figure a ranking orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Answers per second (higher is better).
    Throughput,
    /// Server CPU µs per answer (lower is better).
    ServerCpu,
}

impl Metric {
    /// This figure of one round.
    pub fn of(self, round: &RoundResult) -> f64 {
        match self {
            Self::Throughput => round.rps,
            Self::ServerCpu => round.server_cpu_per_answer(),
        }
    }

    /// Whether more is better.
    pub fn higher_is_better(self) -> bool {
        self == Self::Throughput
    }
}

/// The servers of one scenario in order of one figure, best first, with every pair's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// Scenario name.
    pub scenario: String,
    /// The figure.
    pub metric: Metric,
    /// Servers, best median first.
    pub order: Vec<String>,
    /// Every pair, the better median first.
    pub pairs: Vec<PairVerdict>,
}

/// Two servers compared on one figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairVerdict {
    /// The one with the better median.
    pub better: String,
    /// The other.
    pub worse: String,
    /// `better`'s rounds against `worse`'s.
    pub difference: Difference,
}

impl Ranking {
    /// Ranks `samples` (server, `(round, value)` per round) of `scenario` by `metric`.
    pub fn of(scenario: &str, metric: Metric, samples: &[(String, Vec<(u32, f64)>)]) -> Self {
        let median = |values: &[(u32, f64)]| {
            analysis::median(&values.iter().map(|(_, v)| *v).collect::<Vec<_>>())
        };
        let mut sorted: Vec<&(String, Vec<(u32, f64)>)> = samples.iter().collect();
        sorted.sort_by(|a, b| {
            let order = median(&a.1).total_cmp(&median(&b.1));
            if metric.higher_is_better() {
                order.reverse()
            } else {
                order
            }
        });
        let mut pairs = Vec::new();
        for (i, (better, a)) in sorted.iter().map(|s| (&s.0, &s.1)).enumerate() {
            for (worse, b) in sorted.iter().skip(i + 1).map(|s| (&s.0, &s.1)) {
                pairs.push(PairVerdict {
                    better: better.clone(),
                    worse: worse.clone(),
                    difference: analysis::compare_rounds(a, b),
                });
            }
        }
        Self {
            scenario: scenario.to_owned(),
            metric,
            order: sorted.iter().map(|s| s.0.clone()).collect(),
            pairs,
        }
    }

    /// The verdict on `a` and `b`, in either order.
    pub fn pair(&self, a: &str, b: &str) -> Option<&PairVerdict> {
        self.pairs
            .iter()
            .find(|p| (p.better == a && p.worse == b) || (p.better == b && p.worse == a))
    }
}

impl ScenarioResult {
    /// An empty result for scenario `name`.
    pub fn new(name: &str, pipeline: u32) -> Self {
        Self {
            name: name.to_owned(),
            pipeline,
            status: Status::Failed,
            failures: Vec::new(),
            rps: Estimate::default(),
            cv: 0.0,
            server_cpu_us: Estimate::default(),
            client_cpu_us_per_req: 0.0,
            latency_us: Percentiles::default(),
            client_busy: 0.0,
            client_bound: false,
            noisy: false,
            unexpected: 0,
            histogram: LatencyHistogram::default().to_base64(),
            rounds: Vec::new(),
            sweep: Vec::new(),
        }
    }

    /// Computes the figures across rounds from `rounds` and the open-loop `rates` measured.
    pub fn summarize(&mut self, expected_rounds: u32, rates: &[RateMeasure]) {
        let rps: Vec<f64> = self.rounds.iter().map(|r| r.rps).collect();
        self.rps = Estimate::of(&rps);
        self.cv = analysis::coefficient_of_variation(&rps);
        self.noisy = self.rps.relative_half_width() > NOISY_HALF_WIDTH;
        self.server_cpu_us = Estimate::of(
            &self
                .rounds
                .iter()
                .map(RoundResult::server_cpu_per_answer)
                .collect::<Vec<_>>(),
        );
        let mut merged = LatencyHistogram::default();
        for round in &self.rounds {
            if let Ok(h) = LatencyHistogram::from_base64(&round.histogram) {
                merged.merge(&h);
            }
        }
        self.latency_us = merged.summary().into();
        self.histogram = merged.to_base64();
        let responses: u64 = self.rounds.iter().map(|r| r.responses).sum();
        self.client_cpu_us_per_req = if responses > 0 {
            self.rounds.iter().map(|r| r.client_cpu_us).sum::<f64>() / responses as f64
        } else {
            0.0
        };
        self.client_busy = self
            .rounds
            .iter()
            .flat_map(|r| r.client_cpu.iter().copied())
            .fold(0.0, f64::max);
        self.client_bound = self.rounds.iter().any(|r| r.client_bound);
        self.unexpected = self.rounds.iter().map(|r| r.unexpected).sum();
        let measured = self.rounds.len() + rates.len();
        self.status = match (measured, self.failures.is_empty()) {
            (0, _) => Status::Failed,
            (_, true) if self.rounds.len() as u32 >= expected_rounds => Status::Ok,
            _ => Status::Partial,
        };
        self.sweep = summarize_rates(rates);
    }
}

fn summarize_rates(measures: &[RateMeasure]) -> Vec<RatePoint> {
    let mut labels: Vec<&str> = Vec::new();
    for m in measures {
        if !labels.contains(&m.label.as_str()) {
            labels.push(&m.label);
        }
    }
    labels
        .into_iter()
        .map(|label| {
            let points: Vec<&RateMeasure> = measures.iter().filter(|m| m.label == label).collect();
            let mut corrected = LatencyHistogram::default();
            let mut uncorrected = LatencyHistogram::default();
            let mut lag = LatencyHistogram::default();
            for p in &points {
                corrected.merge(&p.latency);
                uncorrected.merge(&p.latency_uncorrected);
                lag.merge(&p.send_lag);
            }
            RatePoint {
                label: label.to_owned(),
                target_rate: analysis::median(
                    &points.iter().map(|p| p.target_rate).collect::<Vec<_>>(),
                ),
                achieved_rate: analysis::median(
                    &points.iter().map(|p| p.achieved_rate).collect::<Vec<_>>(),
                ),
                latency_us: corrected.summary().into(),
                latency_uncorrected_us: uncorrected.summary().into(),
                send_lag_us: lag.summary().into(),
                client_lagged: points.iter().any(|p| p.client_lagged),
                rounds: u32::try_from(points.len()).unwrap_or(u32::MAX),
                histogram: corrected.to_base64(),
            }
        })
        .collect()
}

impl ServerResult {
    /// An empty result for server `name` with `scenarios` (name, pipeline depth).
    pub fn new(name: &str, scenarios: &[(&str, u32)]) -> Self {
        Self {
            name: name.to_owned(),
            status: Status::Failed,
            failures: Vec::new(),
            rss_peak_kib: 0,
            clean_exits: 0,
            rounds_started: 0,
            scenarios: scenarios
                .iter()
                .map(|(s, pipeline)| ScenarioResult::new(s, *pipeline))
                .collect(),
        }
    }

    /// The server's status from its scenarios' and its own failures.
    pub fn settle_status(&mut self) {
        let measured = self
            .scenarios
            .iter()
            .filter(|s| s.status != Status::Failed)
            .count();
        let all_ok = self.scenarios.iter().all(|s| s.status == Status::Ok);
        self.status = match (measured, all_ok && self.failures.is_empty()) {
            (0, _) => Status::Failed,
            (_, true) => Status::Ok,
            _ => Status::Partial,
        };
    }

    /// The result of `scenario`.
    pub fn scenario(&self, scenario: &str) -> Option<&ScenarioResult> {
        self.scenarios.iter().find(|s| s.name == scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A round with `rps`, its load thread `busy`, and 2 ms of server CPU per 1000 answers.
    fn round(n: u32, rps: f64, busy: f64) -> RoundResult {
        let mut histogram = LatencyHistogram::default();
        histogram.record(100);
        RoundResult {
            round: n,
            rps,
            responses: 1000,
            unexpected: 0,
            duration_s: 1.0,
            latency_us: histogram.summary(),
            server_cpu_us: 2000.0,
            client_cpu_us: 1000.0,
            client_cpu: vec![busy],
            client_bound: busy >= 0.9,
            steal: 0.0,
            other_cpus: 0.0,
            probe_us: 2000.0,
            histogram: histogram.to_base64(),
        }
    }

    #[test]
    fn rounds_are_summarized_with_intervals_and_flags() {
        let mut s = ScenarioResult::new("json", 1);
        s.rounds = vec![
            round(1, 100.0, 0.5),
            round(2, 120.0, 0.95),
            round(3, 80.0, 0.4),
        ];
        s.summarize(3, &[]);
        assert_eq!((s.rps.median, s.rps.low, s.rps.high), (100.0, 80.0, 120.0));
        assert!(s.rps.confidence < 0.95, "three rounds cannot give 95 %");
        assert!(s.noisy && s.client_bound);
        assert_eq!(s.server_cpu_us.median, 2.0);
        assert_eq!(s.status, Status::Ok);
        assert_eq!(
            LatencyHistogram::from_base64(&s.histogram).unwrap().len(),
            3
        );

        let mut short = ScenarioResult::new("json", 1);
        short.rounds = vec![round(1, 100.0, 0.5)];
        short.summarize(3, &[]);
        assert_eq!(short.status, Status::Partial);
        let mut none = ScenarioResult::new("json", 1);
        none.summarize(3, &[]);
        assert_eq!(none.status, Status::Failed);
    }

    #[test]
    fn rankings_order_servers_and_call_ties() {
        let rounds = |base: f64| -> Vec<(u32, f64)> {
            (0..8u32).map(|i| (i + 1, base + f64::from(i))).collect()
        };
        let samples = vec![
            ("std".to_owned(), rounds(100.0)),
            ("hyper".to_owned(), rounds(200.0)),
            ("axum".to_owned(), rounds(200.5)),
        ];
        let ranking = Ranking::of("plaintext", Metric::Throughput, &samples);
        assert_eq!(ranking.order, ["axum", "hyper", "std"]);
        assert!(
            !ranking
                .pair("hyper", "axum")
                .unwrap()
                .difference
                .significant
        );
        assert!(ranking.pair("std", "hyper").unwrap().difference.significant);
        assert_eq!(ranking.pairs.len(), 3);
        let cpu = Ranking::of("plaintext", Metric::ServerCpu, &samples);
        assert_eq!(cpu.order[0], "std", "less CPU is better");
    }

    #[test]
    fn a_machine_with_steal_or_other_work_is_noisy() {
        let mut quiet = round(1, 100.0, 0.5);
        assert!(!MachineNoise::of([&quiet].into_iter()).noisy);
        quiet.steal = 0.05;
        let noise = MachineNoise::of([&quiet, &round(2, 1.0, 0.1)].into_iter());
        assert!((noise.steal - 0.025).abs() < 1e-12 && noise.steal_max == 0.05);
        assert!(noise.noisy);
        let steady: Vec<RoundResult> = (1..=10).map(|n| round(n, 100.0, 0.5)).collect();
        assert!(!MachineNoise::of(steady.iter()).noisy);
        let mut drifting = steady.clone();
        for r in &mut drifting[..3] {
            r.probe_us = 2600.0;
        }
        let noise = MachineNoise::of(drifting.iter());
        assert!(
            (noise.speed_spread - 0.3).abs() < 1e-9 && noise.noisy,
            "{noise:?}"
        );
    }

    #[test]
    fn rounds_that_swing_make_a_noisy_machine_even_when_nothing_else_does() {
        let steady: Vec<RoundResult> = (1..=10).map(|n| round(n, 100.0, 0.5)).collect();
        let noise = MachineNoise::of(steady.iter()).with_round_spread([&steady[..]].into_iter());
        assert!(noise.round_spread.abs() < 1e-9 && !noise.noisy, "{noise:?}");
        // Three of ten rounds in a slow spell, 20 % down: the probe saw nothing.
        let mut spell = steady.clone();
        for r in &mut spell[..3] {
            r.rps *= 0.8;
        }
        let noise = MachineNoise::of(spell.iter())
            .with_round_spread([&steady[..], &spell[..], &spell[..]].into_iter());
        assert!(
            (noise.round_spread - 0.25).abs() < 1e-9 && noise.noisy,
            "{noise:?}"
        );
        // Cells of fewer than three rounds say nothing.
        let noise = MachineNoise::of(spell.iter()).with_round_spread([&spell[..2]].into_iter());
        assert!(noise.round_spread == 0.0 && !noise.noisy, "{noise:?}");
    }
}
