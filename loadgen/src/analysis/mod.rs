//! The analysis: a pure function from a run's raw measurements to every figure a report shows,
//! apart from measuring and from rendering, as criterion keeps its `analysis` layer.
//!
//! [`analyze`] takes a [`RunRecord`] (what `run.json` holds) and returns a [`Comparison`]: per
//! contender and scenario the median of the rounds with its 95 % interval, the open-loop
//! latencies at the common rates, the status; the machine's noise; the rankings with a verdict
//! on every pair; and, for every server measured at two builds, what changed.
//!
//! # Layout
//! [`estimate`]: medians, intervals, rank tests; [`noise`]: how quiet the machine was;
//! [`verdict`]: rankings and changes; this file: the figures of each contender and scenario.

pub mod cost;
pub mod estimate;
pub mod noise;
pub mod verdict;

pub use self::estimate::{
    ALPHA, CONFIDENCE, Difference, Estimate, NOISE_THRESHOLD, coefficient_of_variation, compare,
    compare_rounds, median,
};
pub use self::noise::{
    MachineNoise, NOISY_OTHER_CPUS, NOISY_ROUND_SPREAD, NOISY_SPEED_SPREAD, NOISY_STEAL,
};
pub use self::verdict::{Change, Figure, Metric, PairVerdict, Ranking, Verdict};
use crate::results::cost::Count;
use crate::results::{
    ClosedSample, ContenderRecord, FailureRecord, OpenSample, Percentiles, RoundResult, RunRecord,
};
use crate::stats::LatencyHistogram;

/// A figure whose 95 % interval is wider than ± this share of its median is flagged noisy.
pub const NOISY_HALF_WIDTH: f64 = 0.03;

/// A run with every figure derived from its measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// What was measured, as `run.json` holds it.
    pub record: RunRecord,
    /// One entry per contender, in the order asked for.
    pub contenders: Vec<ContenderResult>,
    /// How much else the machine was doing while the contenders were loaded.
    pub noise: MachineNoise,
    /// For each scenario and figure, the contenders in order and which differences are real.
    pub rankings: Vec<Ranking>,
    /// For each server measured at two builds: what changed, per scenario and figure.
    pub changes: Vec<Change>,
    /// The cost phase's counts, ranked per scenario and count (empty without a cost phase).
    pub cost: Vec<cost::CostRanking>,
}

/// How a contender or a cell fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything was measured.
    Ok,
    /// Some of it was measured.
    Partial,
    /// Nothing was measured.
    Failed,
}

impl Status {
    /// `ok`, `partial`, `failed`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }
}

/// One contender's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ContenderResult {
    /// Its label.
    pub label: String,
    /// The server it builds.
    pub server: String,
    /// See [`Status`].
    pub status: Status,
    /// What went wrong with the server itself, one line each (`round 2: …`).
    pub failures: Vec<String>,
    /// Highest peak resident memory over the visits, KiB; `None` when it was not measured
    /// (a remote server).
    pub rss_peak_kib: Option<u64>,
    /// Visits in which SIGTERM ended it with exit code 0.
    pub clean_exits: u32,
    /// Visits in which it was started.
    pub rounds_started: u32,
    /// One entry per scenario, in the plan's order.
    pub scenarios: Vec<ScenarioResult>,
}

impl ContenderResult {
    /// The result of `scenario`.
    pub fn scenario(&self, scenario: &str) -> Option<&ScenarioResult> {
        self.scenarios.iter().find(|s| s.name == scenario)
    }
}

/// One scenario on one contender, over all rounds.
#[derive(Debug, Clone, PartialEq)]
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
    /// Server CPU time per answer, µs: the median of the rounds and its 95 % interval; `None`
    /// when it was not measured (a remote server).
    pub server_cpu_us: Option<Estimate>,
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
    /// All rounds' closed-loop latencies together.
    pub histogram: LatencyHistogram,
    /// Each closed-loop round.
    pub rounds: Vec<RoundResult>,
    /// The open-loop sweep, one point per rate measured, lowest rate first.
    pub sweep: Vec<RatePoint>,
}

/// One open-loop point: latency at a rate every contender was given, over the sweep rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct RatePoint {
    /// The rate as given: `50%` (of the slowest contender's maximum) or `5000`.
    pub label: String,
    /// Requests per second asked for.
    pub target_rate: f64,
    /// Requests per second sent (median over rounds).
    pub achieved_rate: f64,
    /// Latency from each request's due time (coordinated omission corrected), all rounds.
    pub latency_us: Percentiles,
    /// Latency from each request's actual send, all rounds (`None`: not kept, in a run
    /// converted from layout 2).
    pub latency_uncorrected_us: Option<Percentiles>,
    /// How late requests were sent after their due time, all rounds (`None`: not kept).
    pub send_lag_us: Option<Percentiles>,
    /// The load generator fell behind its schedule in some round: the latencies include its
    /// own delay.
    pub client_lagged: bool,
    /// Rounds measured.
    pub rounds: u32,
    /// Corrected latencies, all rounds.
    pub histogram: LatencyHistogram,
}

impl Comparison {
    /// A cell's point of the open-loop sweep at its scenario's headline rate, the rate every
    /// latency column quotes; `None` when the scenario was not swept or the cell missed it.
    pub fn headline_point<'a>(&self, cell: &'a ScenarioResult) -> Option<&'a RatePoint> {
        let rate = self.record.sweep(&cell.name)?.headline_rate()?;
        cell.sweep.iter().find(|p| p.label == rate.label)
    }

    /// Everything that went wrong, one line each: `label: …` or `label / scenario: …`.
    pub fn failure_lines(&self) -> Vec<String> {
        self.record
            .measurements
            .failures
            .iter()
            .map(|f| match &f.scenario {
                Some(scenario) => format!("{} / {scenario}: {}", f.contender, f.line()),
                None => format!("{}: {}", f.contender, f.line()),
            })
            .collect()
    }

    /// The measured cells (contender × scenario).
    pub fn cells(&self) -> impl Iterator<Item = &ScenarioResult> {
        self.contenders
            .iter()
            .flat_map(|c| &c.scenarios)
            .filter(|s| s.status != Status::Failed)
    }

    /// The ranking of `scenario` by `metric`.
    pub fn ranking(&self, scenario: &str, metric: Metric) -> Option<&Ranking> {
        self.rankings
            .iter()
            .find(|r| r.scenario == scenario && r.metric == metric)
    }
}

/// Every figure of `record`, derived from its measurements alone.
pub fn analyze(record: RunRecord) -> Comparison {
    let contenders: Vec<ContenderResult> = record
        .contenders
        .iter()
        .map(|c| contender_result(&record, c))
        .collect();
    let cells: Vec<&[RoundResult]> = contenders
        .iter()
        .flat_map(|c| &c.scenarios)
        .map(|s| &s.rounds[..])
        .collect();
    let noise = MachineNoise::of(cells.iter().flat_map(|rounds| rounds.iter()))
        .with_round_spread(cells.iter().copied())
        .with_stray_servers(record.stray_servers.len());
    let rankings = rankings(&record);
    let changes = changes(&record);
    let cost = record
        .cost
        .as_ref()
        .map(cost::cost_rankings)
        .unwrap_or_default();
    Comparison {
        record,
        contenders,
        noise,
        rankings,
        changes,
        cost,
    }
}

fn contender_result(record: &RunRecord, contender: &ContenderRecord) -> ContenderResult {
    let label = contender.label.as_str();
    let m = &record.measurements;
    let visits: Vec<_> = m.visits.iter().filter(|v| v.contender == label).collect();
    let scenarios: Vec<ScenarioResult> = record
        .settings
        .scenarios
        .iter()
        .map(|scenario| scenario_result(record, label, scenario))
        .collect();
    let failures = failure_lines(&m.failures, label, None);
    let measured = scenarios
        .iter()
        .filter(|s| s.status != Status::Failed)
        .count();
    let all_ok = scenarios.iter().all(|s| s.status == Status::Ok);
    ContenderResult {
        label: label.to_owned(),
        server: contender.server.clone(),
        status: match (measured, all_ok && failures.is_empty()) {
            (0, _) => Status::Failed,
            (_, true) => Status::Ok,
            _ => Status::Partial,
        },
        failures,
        // The cgroup's peak where the kernel keeps it, else the process's VmHWM.
        rss_peak_kib: visits
            .iter()
            .filter_map(|v| v.memory_peak_kib.or(v.rss_peak_kib))
            .max(),
        clean_exits: visits.iter().filter(|v| v.clean_exit).count() as u32,
        rounds_started: visits.iter().filter(|v| v.started).count() as u32,
        scenarios,
    }
}

/// The failures of `contender` on `scenario` (`None`: on the server itself), one line each.
fn failure_lines(
    failures: &[FailureRecord],
    contender: &str,
    scenario: Option<&str>,
) -> Vec<String> {
    failures
        .iter()
        .filter(|f| f.contender == contender && f.scenario.as_deref() == scenario)
        .map(FailureRecord::line)
        .collect()
}

fn scenario_result(record: &RunRecord, contender: &str, scenario: &str) -> ScenarioResult {
    let of_cell = |c: &str, s: &str| c == contender && s == scenario;
    let m = &record.measurements;
    let rounds: Vec<RoundResult> = m
        .closed
        .iter()
        .filter(|c| of_cell(&c.contender, &c.scenario))
        .map(|c| c.measure.clone())
        .collect();
    let open: Vec<&OpenSample> = m
        .open
        .iter()
        .filter(|o| of_cell(&o.contender, &o.scenario))
        .collect();
    let failures = failure_lines(&m.failures, contender, Some(scenario));
    let status = match (rounds.len() + open.len(), failures.is_empty()) {
        (0, _) => Status::Failed,
        (_, true) if rounds.len() as u32 >= record.settings.rounds => Status::Ok,
        _ => Status::Partial,
    };
    let rps: Vec<f64> = rounds.iter().map(|r| r.rps).collect();
    let rps_estimate = Estimate::of(&rps);
    let mut histogram = LatencyHistogram::default();
    for round in &rounds {
        if let Ok(h) = LatencyHistogram::from_base64(&round.histogram) {
            histogram.merge(&h);
        }
    }
    let responses: u64 = rounds.iter().map(|r| r.responses).sum();
    ScenarioResult {
        name: scenario.to_owned(),
        pipeline: record.pipeline_of(scenario),
        status,
        failures,
        rps: rps_estimate,
        cv: coefficient_of_variation(&rps),
        noisy: rps_estimate.relative_half_width() > NOISY_HALF_WIDTH,
        server_cpu_us: Some(
            rounds
                .iter()
                .filter_map(RoundResult::server_cpu_per_answer)
                .collect::<Vec<_>>(),
        )
        .filter(|cpu| !cpu.is_empty())
        .map(|cpu| Estimate::of(&cpu)),
        client_cpu_us_per_req: if responses > 0 {
            rounds.iter().map(|r| r.client_cpu_us).sum::<f64>() / responses as f64
        } else {
            0.0
        },
        latency_us: histogram.summary().into(),
        client_busy: rounds
            .iter()
            .flat_map(|r| r.client_cpu.iter().copied())
            .fold(0.0, f64::max),
        client_bound: rounds.iter().any(|r| r.client_bound),
        unexpected: rounds.iter().map(|r| r.unexpected).sum(),
        histogram,
        sweep: rate_points(record, &open),
        rounds,
    }
}

/// The open-loop points of one cell, in the order of its sweep's rates.
fn rate_points(record: &RunRecord, open: &[&OpenSample]) -> Vec<RatePoint> {
    let Some(sweep) = open.first().and_then(|o| record.sweep(&o.scenario)) else {
        return Vec::new();
    };
    sweep
        .rates
        .iter()
        .filter_map(|rate| {
            let points: Vec<&OpenSample> = open
                .iter()
                .copied()
                .filter(|o| o.label == rate.label)
                .collect();
            (!points.is_empty()).then(|| rate_point(&rate.label, &points))
        })
        .collect()
}

fn rate_point(label: &str, points: &[&OpenSample]) -> RatePoint {
    let merge = |histograms: Vec<Option<&str>>| -> Option<LatencyHistogram> {
        let mut merged = LatencyHistogram::default();
        for text in histograms {
            merged.merge(&LatencyHistogram::from_base64(text?).ok()?);
        }
        Some(merged)
    };
    let corrected =
        merge(points.iter().map(|p| Some(p.latency.as_str())).collect()).unwrap_or_default();
    let percentiles = |h: Option<LatencyHistogram>| h.map(|h| Percentiles::from(h.summary()));
    RatePoint {
        label: label.to_owned(),
        target_rate: median(&points.iter().map(|p| p.target_rate).collect::<Vec<_>>()),
        achieved_rate: median(&points.iter().map(|p| p.achieved_rate).collect::<Vec<_>>()),
        latency_us: corrected.summary().into(),
        latency_uncorrected_us: percentiles(merge(
            points
                .iter()
                .map(|p| p.latency_uncorrected.as_deref())
                .collect(),
        )),
        send_lag_us: percentiles(merge(
            points.iter().map(|p| p.send_lag.as_deref()).collect(),
        )),
        client_lagged: points.iter().any(|p| p.client_lagged),
        rounds: points.iter().map(|p| p.loads).sum(),
        histogram: corrected,
    }
}

/// `(round, value)` of `figure` for every closed-loop round of one cell.
fn closed_values(
    closed: &[ClosedSample],
    contender: &str,
    scenario: &str,
    value: impl Fn(&RoundResult) -> Option<f64>,
) -> Vec<(u32, f64)> {
    closed
        .iter()
        .filter(|c| c.contender == contender && c.scenario == scenario)
        .filter_map(|c| Some((c.measure.round, value(&c.measure)?)))
        .collect()
}

fn rankings(record: &RunRecord) -> Vec<Ranking> {
    let mut rankings = Vec::new();
    for scenario in &record.settings.scenarios {
        for metric in [Metric::Throughput, Metric::ServerCpu] {
            let samples: Vec<(String, Vec<(u32, f64)>)> = record
                .contenders
                .iter()
                .map(|c| {
                    let values =
                        closed_values(&record.measurements.closed, &c.label, scenario, |r| {
                            metric.of(r)
                        });
                    (c.label.clone(), values)
                })
                .filter(|(_, values)| !values.is_empty())
                .collect();
            if samples.len() >= 2 {
                rankings.push(Ranking::of(scenario, metric, &samples));
            }
        }
        for metric in Metric::LATENCIES {
            let samples: Vec<(String, Vec<(u32, f64)>)> = record
                .contenders
                .iter()
                .map(|c| {
                    (
                        c.label.clone(),
                        common_rate_values(record, &c.label, scenario, metric),
                    )
                })
                // One load each (a run made before the common rate was measured in every
                // round) can tell nothing apart.
                .filter(|(_, values)| values.len() >= 2)
                .collect();
            if samples.len() >= 2 {
                rankings.push(Ranking::of(scenario, metric, &samples));
            }
        }
    }
    rankings
}

/// `(round, µs)` of a latency `metric` for every load of `contender` at the common rate of
/// `scenario`, one per round; empty when the scenario was not swept or `metric` is not a
/// latency.
fn common_rate_values(
    record: &RunRecord,
    contender: &str,
    scenario: &str,
    metric: Metric,
) -> Vec<(u32, f64)> {
    let (Some(rate), Some(quantile)) = (
        record.sweep(scenario).and_then(|s| s.headline_rate()),
        metric.quantile(),
    ) else {
        return Vec::new();
    };
    record
        .measurements
        .open
        .iter()
        .filter(|o| o.contender == contender && o.scenario == scenario && o.label == rate.label)
        .filter_map(|o| {
            let h = LatencyHistogram::from_base64(&o.latency).ok()?;
            (!h.is_empty()).then(|| (o.round, h.quantile(quantile) as f64))
        })
        .collect()
}

/// For every server measured at more than one build: each later build against the first one
/// named, on every figure measured for both.
fn changes(record: &RunRecord) -> Vec<Change> {
    let mut changes = Vec::new();
    // The cost phase may count scenarios the rounds did not load.
    let mut scenarios = record.settings.scenarios.clone();
    for sample in &record.measurements.costs {
        if !scenarios.contains(&sample.scenario) {
            scenarios.push(sample.scenario.clone());
        }
    }
    for (i, newer) in record.contenders.iter().enumerate() {
        let first_of_server = record.contenders[..i]
            .iter()
            .all(|c| c.server != newer.server);
        if !first_of_server {
            continue;
        }
        for older in record.contenders[i + 1..]
            .iter()
            .filter(|c| c.server == newer.server)
        {
            for scenario in &scenarios {
                changes.extend(cell_changes(record, (newer, older), scenario));
            }
        }
    }
    changes
}

/// What changed from `older` to `newer` on `scenario`, for each figure both have values of.
fn cell_changes(
    record: &RunRecord,
    (newer, older): (&ContenderRecord, &ContenderRecord),
    scenario: &str,
) -> Vec<Change> {
    let m = &record.measurements;
    type Values = Vec<(u32, f64)>;
    let mut figures: Vec<(Figure, Values, Values)> = Vec::new();
    for (figure, metric) in [
        (Figure::Throughput, Metric::Throughput),
        (Figure::ServerCpu, Metric::ServerCpu),
    ] {
        let values =
            |c: &ContenderRecord| closed_values(&m.closed, &c.label, scenario, |r| metric.of(r));
        figures.push((figure, values(newer), values(older)));
    }
    if let Some(rate) = record.sweep(scenario).and_then(|s| s.headline_rate()) {
        let p99 = |c: &ContenderRecord| -> Vec<(u32, f64)> {
            m.open
                .iter()
                .filter(|o| {
                    o.contender == c.label && o.scenario == scenario && o.label == rate.label
                })
                .filter_map(|o| {
                    let h = LatencyHistogram::from_base64(&o.latency).ok()?;
                    (!h.is_empty()).then(|| (o.round, h.quantile(0.99) as f64))
                })
                .collect()
        };
        figures.push((
            Figure::LatencyP99 {
                rate: rate.label.clone(),
            },
            p99(newer),
            p99(older),
        ));
    }
    let mut counts: Vec<Count> = m.costs.iter().map(|c| c.count).collect();
    // In the order of their names, as the changes have always been listed.
    counts.sort_unstable_by_key(|c| c.name());
    counts.dedup();
    for count in counts {
        let costs = |c: &ContenderRecord| -> Vec<(u32, f64)> {
            m.costs
                .iter()
                .filter(|s| s.contender == c.label && s.scenario == scenario && s.count == count)
                .map(|s| (s.round, s.per_request))
                .collect()
        };
        figures.push((Figure::Cost { count }, costs(newer), costs(older)));
    }
    figures
        .into_iter()
        .filter(|(_, a, b)| !a.is_empty() && !b.is_empty())
        .map(|(figure, a, b)| {
            Change::of(
                (newer.label.as_str(), older.label.as_str()),
                &newer.server,
                scenario,
                figure,
                (&a[..], &b[..]),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{CostSample, Phase, sample};

    /// hyper (the working tree) 5 % faster than hyper@HEAD~1 on plaintext round by round, on a
    /// machine whose speed drifts by up to 30 % between rounds; json the same on both; std
    /// measured once.
    fn two_builds() -> RunRecord {
        let contenders = [
            ("hyper", "hyper"),
            ("hyper@HEAD~1", "hyper"),
            ("std", "std"),
        ];
        let mut record = sample::record(&contenders, &["plaintext", "json"], 8);
        let mut rng = fastrand::Rng::with_seed(5);
        let sweep = sample::sweep();
        for round in 1..=8 {
            let drift = 1.0 - 0.3 * rng.f64();
            let mut noise = || 1.0 + 0.005 * (rng.f64() - 0.5);
            let cells = [
                ("hyper", "plaintext", 105_000.0, 10.0),
                ("hyper@HEAD~1", "plaintext", 100_000.0, 10.0),
                ("hyper", "json", 90_000.0, 12.0),
                ("hyper@HEAD~1", "json", 90_000.0, 12.0),
                ("std", "plaintext", 50_000.0, 20.0),
                ("std", "json", 45_000.0, 22.0),
            ];
            for (label, scenario, rps, cpu) in cells {
                let measure = sample::round(round, rps * drift * noise(), cpu * noise(), 0.5);
                sample::add_round(&mut record, label, scenario, measure);
            }
            for (label, p99) in [("hyper", 900), ("hyper@HEAD~1", 1_000)] {
                let open = sample::open(label, "plaintext", round, &sweep.rates[1], p99);
                record.measurements.open.push(open);
            }
        }
        record
    }

    #[test]
    fn two_builds_of_one_server_get_a_change_with_interval_and_verdict() {
        let comparison = analyze(two_builds());
        let change = |scenario: &str, figure: Figure| {
            comparison
                .changes
                .iter()
                .find(|c| c.scenario == scenario && c.figure == figure)
                .unwrap_or_else(|| panic!("no change for {scenario} {figure:?}"))
        };
        let faster = change("plaintext", Figure::Throughput);
        assert_eq!(
            (faster.newer.as_str(), faster.older.as_str()),
            ("hyper", "hyper@HEAD~1")
        );
        assert!((faster.ratio.median - 1.05).abs() < 0.01, "{faster:?}");
        assert!(
            faster.ratio.low < 1.05 && faster.ratio.high > 1.04,
            "{faster:?}"
        );
        assert!(faster.difference.paired);
        assert_eq!(faster.verdict(), Verdict::Better);
        assert_eq!(change("json", Figure::Throughput).verdict(), Verdict::Tie);
        assert_eq!(
            change("plaintext", Figure::ServerCpu).verdict(),
            Verdict::Tie
        );
        let p99 = change("plaintext", Figure::LatencyP99 { rate: "50%".into() });
        assert!((p99.ratio.median - 0.9).abs() < 0.02, "{p99:?}");
        assert_eq!(p99.verdict(), Verdict::Better, "lower latency is better");
        // Only hyper was measured at two builds; json has no sweep.
        assert!(comparison.changes.iter().all(|c| c.server == "hyper"));
        assert_eq!(comparison.changes.len(), 5);
    }

    #[test]
    fn latency_at_the_common_rate_is_ranked_round_by_round() {
        let comparison = analyze(two_builds());
        let p99 = comparison
            .ranking("plaintext", Metric::LatencyP99)
            .expect("eight rounds at the common rate each");
        assert_eq!(
            p99.order,
            ["hyper", "hyper@HEAD~1"],
            "lower latency is better"
        );
        assert!(
            p99.pair("hyper", "hyper@HEAD~1")
                .unwrap()
                .difference
                .significant
        );
        assert!(
            comparison
                .ranking("plaintext", Metric::LatencyP50)
                .is_some()
        );
        // std was not measured at the common rate; json was not swept.
        assert!(!p99.order.contains(&"std".to_owned()));
        assert!(comparison.ranking("json", Metric::LatencyP99).is_none());
    }

    #[test]
    fn cost_counts_are_compared_like_any_figure() {
        let mut record = two_builds();
        for (label, count) in [("hyper", 10_000.0), ("hyper@HEAD~1", 12_000.0)] {
            record.measurements.costs.push(CostSample {
                contender: label.into(),
                scenario: "json".into(),
                round: 1,
                count: Count::Instructions,
                per_request: count,
            });
        }
        let comparison = analyze(record);
        let cost = comparison
            .changes
            .iter()
            .find(|c| {
                c.figure
                    == Figure::Cost {
                        count: Count::Instructions,
                    }
            })
            .expect("a change of the instruction count");
        assert!((cost.ratio.median - 10.0 / 12.0).abs() < 1e-9);
        assert_eq!(cost.ratio.confidence, 0.0, "one count each has no interval");
    }

    #[test]
    fn figures_statuses_and_rankings_come_from_the_measurements_alone() {
        let mut record = two_builds();
        record.contenders.push(ContenderRecord {
            label: "warp".into(),
            server: "warp".into(),
            revision: None,
            commit: None,
            binary: "server-warp".into(),
            stderr_log: None,
            remote_url: None,
        });
        record.measurements.failures.push(FailureRecord {
            contender: "std".into(),
            phase: Phase::Closed,
            round: 3,
            scenario: Some("json".into()),
            message: "the server died during the load (12 answers)".into(),
        });
        // Expectations computed here from the record, not by a second call of analyze().
        let mut hyper_rps: Vec<f64> = record
            .measurements
            .closed
            .iter()
            .filter(|c| c.contender == "hyper" && c.scenario == "plaintext")
            .map(|c| c.measure.rps)
            .collect();
        hyper_rps.sort_by(f64::total_cmp);
        let started = |label: &str| {
            record
                .measurements
                .visits
                .iter()
                .filter(|v| v.contender == label && v.started)
                .count() as u32
        };
        let std_started = started("std");
        let comparison = analyze(record);
        let by_label = |label: &str| {
            comparison
                .contenders
                .iter()
                .find(|c| c.label == label)
                .unwrap()
        };
        assert_eq!(by_label("hyper").status, Status::Ok);
        assert_eq!(by_label("warp").status, Status::Failed);
        let std = by_label("std");
        assert_eq!(std.status, Status::Partial);
        assert_eq!(std.scenario("json").unwrap().status, Status::Partial);
        assert_eq!(std.scenario("plaintext").unwrap().status, Status::Ok);
        let plaintext = by_label("hyper").scenario("plaintext").unwrap();
        assert_eq!(plaintext.rounds.len(), 8);
        assert_eq!(plaintext.rps.samples, 8);
        // Eight rounds: the median is the mean of the 4th and 5th, and the 95 % interval
        // (estimate.rs's own rule) holds the median and stays within the extremes.
        assert_eq!(hyper_rps.len(), 8);
        assert!((plaintext.rps.median - (hyper_rps[3] + hyper_rps[4]) / 2.0).abs() < 1e-6);
        let (low, high) = (plaintext.rps.low, plaintext.rps.high);
        assert!(
            hyper_rps[0] <= low && low <= plaintext.rps.median,
            "{low} against {hyper_rps:?}"
        );
        assert!(
            plaintext.rps.median <= high && high <= hyper_rps[7],
            "{high} against {hyper_rps:?}"
        );
        assert!(
            low < high,
            "an interval of eight different rounds has a width"
        );
        assert_eq!(by_label("std").rounds_started, std_started);
        assert!((plaintext.server_cpu_us.unwrap().median - 10.0).abs() < 0.1);
        assert_eq!(plaintext.sweep.len(), 1);
        assert_eq!(plaintext.sweep[0].rounds, 8);
        assert_eq!(by_label("hyper").rounds_started, 16);
        assert_eq!(
            comparison.failure_lines(),
            ["std / json: round 3: the server died during the load (12 answers)"]
        );
        let ranking = comparison.ranking("plaintext", Metric::Throughput).unwrap();
        assert_eq!(ranking.order, ["hyper", "hyper@HEAD~1", "std"]);
    }
}
