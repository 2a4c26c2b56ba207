//! The results of a comparison as data: what `run.json` holds, and the statistics across rounds.

use serde::{Deserialize, Serialize};

use super::machine::{CpuSplit, Environment};
use crate::stats::{LatencyHistogram, LatencySummary};

/// Version of the layout of `run.json`.
pub const COMPARE_SCHEMA_VERSION: u32 = 1;
/// A throughput whose coefficient of variation across rounds exceeds this is flagged noisy.
pub const NOISY_CV: f64 = 0.05;

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
    /// One entry per server, in the order asked for.
    pub servers: Vec<ServerResult>,
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
}

/// The settings of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareSettings {
    /// Servers, in the order asked for (each round shuffles them).
    pub servers: Vec<String>,
    /// Scenarios, in order.
    pub scenarios: Vec<String>,
    /// Connections of each load.
    pub connections: u32,
    /// Measured seconds of each load.
    pub duration_s: f64,
    /// Seconds of load on each freshly started server before its first scenario.
    pub warmup_s: f64,
    /// Seconds of unrecorded load before each scenario.
    pub scenario_warmup_s: f64,
    /// Rounds.
    pub rounds: u32,
    /// Open-loop rates, as given (`1000`, `50%`).
    pub rates: Vec<String>,
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
    /// Rounds in which SIGTERM ended it with exit code 0.
    pub clean_exits: u32,
    /// Rounds in which it was started.
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
    /// See [`Status`].
    pub status: Status,
    /// What went wrong.
    pub failures: Vec<String>,
    /// Median answers per second across rounds.
    pub rps: f64,
    /// Lowest round.
    pub rps_min: f64,
    /// Highest round.
    pub rps_max: f64,
    /// Coefficient of variation of the rounds' throughput (standard deviation / mean).
    pub cv: f64,
    /// Latency percentiles of all rounds' answers together (histograms merged).
    pub latency_us: Percentiles,
    /// Server CPU time per answer, µs, over all rounds.
    pub server_cpu_us_per_req: f64,
    /// Load generator CPU time per answer, µs, over all rounds.
    pub client_cpu_us_per_req: f64,
    /// The busiest load thread of any round (CPU time / wall time).
    pub client_busy: f64,
    /// A load thread was saturated in some round: the throughput is a lower bound.
    pub client_bound: bool,
    /// The rounds disagree by more than [`NOISY_CV`].
    pub noisy: bool,
    /// Answers with another status than the scenario expects, and failed requests.
    pub unexpected: u64,
    /// All rounds' latencies (HdrHistogram V2, base64).
    pub histogram: String,
    /// Each round.
    pub rounds: Vec<RoundResult>,
    /// Open-loop points (`--rates`), in the order given.
    pub rates: Vec<RatePoint>,
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
    /// Latencies (HdrHistogram V2, base64).
    pub histogram: String,
}

/// One open-loop point: latency at a given rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    /// The rate as given: `1000` or `50%` (of the server's closed-loop maximum in that round).
    pub label: String,
    /// Requests per second asked for (median over rounds).
    pub target_rate: f64,
    /// Requests per second sent (median over rounds).
    pub achieved_rate: f64,
    /// Latency from each request's due time, all rounds together.
    pub latency_us: Percentiles,
    /// Latency from each request's actual send, all rounds together.
    pub latency_uncorrected_us: Percentiles,
    /// Corrected latencies, all rounds (HdrHistogram V2, base64).
    pub histogram: String,
}

/// What one open-loop load measured, before the rounds are summarized.
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
}

/// The median of `values` (0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Standard deviation over mean (population), 0 for fewer than two values.
pub fn coefficient_of_variation(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    if mean == 0.0 {
        return 0.0;
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    variance.sqrt() / mean
}

impl ScenarioResult {
    /// An empty result for scenario `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            status: Status::Failed,
            failures: Vec::new(),
            rps: 0.0,
            rps_min: 0.0,
            rps_max: 0.0,
            cv: 0.0,
            latency_us: Percentiles::default(),
            server_cpu_us_per_req: 0.0,
            client_cpu_us_per_req: 0.0,
            client_busy: 0.0,
            client_bound: false,
            noisy: false,
            unexpected: 0,
            histogram: LatencyHistogram::default().to_base64(),
            rounds: Vec::new(),
            rates: Vec::new(),
        }
    }

    /// Computes the figures across rounds from `rounds` and the open-loop `rates` measured.
    pub fn summarize(&mut self, expected_rounds: u32, rates: &[RateMeasure]) {
        let rps: Vec<f64> = self.rounds.iter().map(|r| r.rps).collect();
        self.rps = median(&rps);
        self.rps_min = rps
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(self.rps);
        self.rps_max = rps.iter().copied().fold(0.0, f64::max);
        self.cv = coefficient_of_variation(&rps);
        self.noisy = self.cv > NOISY_CV;
        let mut merged = LatencyHistogram::default();
        for round in &self.rounds {
            if let Ok(h) = LatencyHistogram::from_base64(&round.histogram) {
                merged.merge(&h);
            }
        }
        self.latency_us = merged.summary().into();
        self.histogram = merged.to_base64();
        let responses: u64 = self.rounds.iter().map(|r| r.responses).sum();
        let per_request = |total: f64| {
            if responses > 0 {
                total / responses as f64
            } else {
                0.0
            }
        };
        self.server_cpu_us_per_req = per_request(self.rounds.iter().map(|r| r.server_cpu_us).sum());
        self.client_cpu_us_per_req = per_request(self.rounds.iter().map(|r| r.client_cpu_us).sum());
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
            (_, true) if self.rounds.len() as u32 >= expected_rounds || !rates.is_empty() => {
                Status::Ok
            }
            _ => Status::Partial,
        };
        self.rates = summarize_rates(rates);
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
            let (mut corrected, mut uncorrected) =
                (LatencyHistogram::default(), LatencyHistogram::default());
            for p in &points {
                corrected.merge(&p.latency);
                uncorrected.merge(&p.latency_uncorrected);
            }
            RatePoint {
                label: label.to_owned(),
                target_rate: median(&points.iter().map(|p| p.target_rate).collect::<Vec<_>>()),
                achieved_rate: median(&points.iter().map(|p| p.achieved_rate).collect::<Vec<_>>()),
                latency_us: corrected.summary().into(),
                latency_uncorrected_us: uncorrected.summary().into(),
                histogram: corrected.to_base64(),
            }
        })
        .collect()
}

impl ServerResult {
    /// An empty result for server `name` with `scenarios`.
    pub fn new(name: &str, scenarios: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            status: Status::Failed,
            failures: Vec::new(),
            rss_peak_kib: 0,
            clean_exits: 0,
            rounds_started: 0,
            scenarios: scenarios.iter().map(|s| ScenarioResult::new(s)).collect(),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_cv() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        assert_eq!(coefficient_of_variation(&[5.0, 5.0, 5.0]), 0.0);
        let cv = coefficient_of_variation(&[90.0, 100.0, 110.0]);
        assert!((cv - 0.0816).abs() < 0.001, "{cv}");
    }

    #[test]
    fn rounds_are_summarized_with_flags() {
        let mut histogram = LatencyHistogram::default();
        histogram.record(100);
        let round = |n: u32, rps: f64, busy: f64| RoundResult {
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
            histogram: histogram.to_base64(),
        };
        let mut s = ScenarioResult::new("json");
        s.rounds = vec![
            round(1, 100.0, 0.5),
            round(2, 120.0, 0.95),
            round(3, 80.0, 0.4),
        ];
        s.summarize(3, &[]);
        assert_eq!((s.rps, s.rps_min, s.rps_max), (100.0, 80.0, 120.0));
        assert!(s.noisy && s.client_bound);
        assert_eq!(s.server_cpu_us_per_req, 2.0);
        assert_eq!(s.status, Status::Ok);
        assert_eq!(
            LatencyHistogram::from_base64(&s.histogram).unwrap().len(),
            3
        );

        let mut short = ScenarioResult::new("json");
        short.rounds = vec![round(1, 100.0, 0.5)];
        short.summarize(3, &[]);
        assert_eq!(short.status, Status::Partial);
        let mut none = ScenarioResult::new("json");
        none.summarize(3, &[]);
        assert_eq!(none.status, Status::Failed);
    }
}
