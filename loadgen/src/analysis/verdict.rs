//! Verdicts: contenders of one scenario ranked by a figure with every pair's difference, and
//! the change between two builds of one server.

use serde::{Deserialize, Serialize};

use super::estimate::{self, Difference, Estimate, PerRound};
use crate::results::RoundResult;
use crate::results::cost::Count;

/// Which figure a ranking orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Answers per second (higher is better).
    Throughput,
    /// Server CPU µs per answer (lower is better).
    ServerCpu,
    /// The open-loop median latency at the scenario's common rate, µs (lower is better).
    LatencyP50,
    /// The open-loop p90 at the common rate, µs.
    LatencyP90,
    /// The open-loop p99 at the common rate, µs.
    LatencyP99,
}

impl Metric {
    /// This figure of one round; `None` when it was not measured (a remote server's CPU).
    pub fn of(self, round: &RoundResult) -> Option<f64> {
        match self {
            Self::Throughput => Some(round.rps),
            Self::ServerCpu => round.server_cpu_per_answer(),
            // Measured in the open loop, not in these rounds.
            Self::LatencyP50 | Self::LatencyP90 | Self::LatencyP99 => None,
        }
    }

    /// The latency figures at the common rate, in order.
    pub const LATENCIES: [Self; 3] = [Self::LatencyP50, Self::LatencyP90, Self::LatencyP99];

    /// The quantile (0 to 1) of an open-loop latency figure; `None` for the closed-loop ones.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Self::LatencyP50 => Some(0.5),
            Self::LatencyP90 => Some(0.9),
            Self::LatencyP99 => Some(0.99),
            Self::Throughput | Self::ServerCpu => None,
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
            estimate::median(&values.iter().map(|(_, v)| *v).collect::<Vec<_>>())
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
                    difference: estimate::compare_rounds(a, b),
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

/// A figure two builds of one server are compared on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "figure")]
pub enum Figure {
    /// Answers per second, closed loop (higher is better).
    Throughput,
    /// Server CPU µs per answer, closed loop (lower is better).
    ServerCpu,
    /// The open-loop p99 latency at a common rate (lower is better).
    LatencyP99 {
        /// The rate's label (`50%`).
        rate: String,
    },
    /// An exact count per request from the cost phase (lower is better).
    Cost {
        /// What was counted.
        count: Count,
    },
}

impl Figure {
    /// How tables name it.
    pub fn name(&self) -> String {
        match self {
            Self::Throughput => "throughput".into(),
            Self::ServerCpu => "CPU per answer".into(),
            Self::LatencyP99 { rate } => format!("p99 at {rate}"),
            Self::Cost { count } => format!("{count} per request"),
        }
    }

    /// Whether more is better.
    pub fn higher_is_better(&self) -> bool {
        *self == Self::Throughput
    }
}

/// What changed between two builds of one server on one figure: `newer over older`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The server both builds serve.
    pub server: String,
    /// The contender named first (`hyper`, the working tree).
    pub newer: String,
    /// The other build (`hyper@HEAD~1`).
    pub older: String,
    /// Scenario name.
    pub scenario: String,
    /// The figure.
    pub figure: Figure,
    /// `newer` over `older`: the median of the rounds' ratios, with its 95 % interval.
    pub ratio: Estimate,
    /// The rank test on the rounds; `significant` is the verdict.
    pub difference: Difference,
}

impl Change {
    /// `newer`'s values over `older`'s, `(round, value)` each, paired by round.
    pub fn of(
        (newer, older): (&str, &str),
        server: &str,
        scenario: &str,
        figure: Figure,
        values: (&PerRound, &PerRound),
    ) -> Self {
        Self {
            server: server.to_owned(),
            newer: newer.to_owned(),
            older: older.to_owned(),
            scenario: scenario.to_owned(),
            figure,
            ratio: estimate::ratio_of_rounds(values.0, values.1),
            difference: estimate::compare_rounds(values.0, values.1),
        }
    }

    /// Whether `newer` is better, worse, or within noise of `older`.
    pub fn verdict(&self) -> Verdict {
        if !self.difference.significant {
            Verdict::Tie
        } else if (self.ratio.median > 1.0) == self.figure.higher_is_better() {
            Verdict::Better
        } else {
            Verdict::Worse
        }
    }
}

/// The verdict on a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Significantly better.
    Better,
    /// Significantly worse.
    Worse,
    /// Within noise.
    Tie,
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
