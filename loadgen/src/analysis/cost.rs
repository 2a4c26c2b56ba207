//! The cost phase's counts ranked: for each scenario and count, every contender's rank with
//! [`rank_with_ties`], so a difference under 1 % ([`TIE`]) is a tie. Counts do not swing with
//! the machine's speed, so the ranking needs no interval: the spread of the measurements is
//! shown beside each figure instead.

use thiserror::Error;

use crate::results::cost::{CostTable, Count};
use crate::results::marginal::{TIE, rank_with_ties};

/// Why a contender has no figure of a count.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoFigure {
    /// The cost phase could not measure it: its reason.
    #[error("{0}")]
    Unavailable(String),
    /// The contender or the scenario was not measured.
    #[error("not measured")]
    NotMeasured,
    /// The run has no cost phase.
    #[error("no cost phase")]
    NoCostPhase,
}

/// The contenders' ranks on one count of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRanking {
    /// The scenario's name (`json`).
    pub scenario: String,
    /// The scenario as tables show it (`pipelined ×16`).
    pub label: String,
    /// What was counted.
    pub count: Count,
    /// One entry per contender, in the table's order.
    pub entries: Vec<CostRank>,
}

/// One contender on one count.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRank {
    /// The contender's label.
    pub contender: String,
    /// The count per request, or why there is none.
    pub per_request: Result<f64, NoFigure>,
    /// 1 for the cheapest; ties share a rank; `None` when not measured.
    pub rank: Option<usize>,
}

impl CostRanking {
    /// The entry of `contender`.
    pub fn of(&self, contender: &str) -> Option<&CostRank> {
        self.entries.iter().find(|e| e.contender == contender)
    }
}

/// Every scenario and count of `table`, ranked.
pub fn cost_rankings(table: &CostTable) -> Vec<CostRanking> {
    let Some(first) = table.servers.first() else {
        return Vec::new();
    };
    let mut rankings = Vec::new();
    for (s, result) in first.results.iter().enumerate() {
        for (c, &(count, _)) in result.figures().iter().enumerate() {
            let values: Vec<Result<f64, NoFigure>> = table
                .servers
                .iter()
                .map(|server| {
                    let figure = server.results.get(s).map(|r| r.figures()[c].1);
                    match figure {
                        Some(f) => f.per_request().ok_or_else(|| {
                            f.reason().map_or(NoFigure::NotMeasured, |reason| {
                                NoFigure::Unavailable(reason.to_owned())
                            })
                        }),
                        None => Err(NoFigure::NotMeasured),
                    }
                })
                .collect();
            let measured: Vec<f64> = values.iter().filter_map(|v| v.clone().ok()).collect();
            let mut ranks = rank_with_ties(&measured, TIE).into_iter();
            let entries = table
                .servers
                .iter()
                .zip(values)
                .map(|(server, per_request)| CostRank {
                    contender: server.server.clone(),
                    rank: per_request.is_ok().then(|| ranks.next()).flatten(),
                    per_request,
                })
                .collect();
            rankings.push(CostRanking {
                scenario: result.scenario.clone(),
                label: result.label.clone(),
                count,
                entries,
            });
        }
    }
    rankings
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::results::cost::{CostResult, CostSettings, Figure, ServerCost, ToolStatus, Tools};
    use crate::results::marginal::{Marginal, Sample};

    /// A figure of `per_request` from two samples 1,000 requests apart.
    pub(crate) fn figure(per_request: f64) -> Figure {
        let low = Sample {
            requests: 1000,
            count: 5_000_000,
        };
        let high = Sample {
            requests: 2000,
            count: 5_000_000 + (per_request * 1000.0) as u64,
        };
        Figure::Measured(vec![Marginal::new(low, high).unwrap()])
    }

    pub(crate) fn server(name: &str, instructions: Figure) -> ServerCost {
        ServerCost {
            server: name.into(),
            binary: format!("server-{name}").into(),
            results: vec![CostResult {
                scenario: "json".into(),
                label: "json".into(),
                instructions,
                allocations: figure(8.0),
                bytes_allocated: figure(900.0),
                syscalls: figure(2.0),
                context_switches: Figure::Unavailable("perf missing".into()),
                syscalls_by_kind: Vec::new(),
                with_runtime: None,
            }],
            notes: Vec::new(),
        }
    }

    pub(crate) fn table(servers: Vec<ServerCost>) -> CostTable {
        CostTable {
            started_at: "2026-11-25T16:00:00Z".into(),
            command: "loadgen compare".into(),
            settings: CostSettings {
                callgrind_requests: [1000, 2000].into(),
                dhat_requests: [1000, 2000].into(),
                load_requests: [4000, 12000].into(),
                connections: 64,
                warmup_requests: 50,
                repeat: 1,
                server_threads: 1,
                cpus: crate::machine::CpuSplit::halves(&[0, 1]),
            },
            tools: Tools {
                valgrind: ToolStatus::Available("valgrind-3.19.0".into()),
                perf_events: ToolStatus::Missing("no perf".into()),
            },
            servers,
            seconds: 1.0,
            partial: false,
        }
    }

    #[test]
    fn under_one_per_cent_is_a_tie_and_missing_figures_have_no_rank() {
        let rankings = cost_rankings(&table(vec![
            server("hyper", figure(10_203.0)),
            server("axum", figure(20_477.0)),
            server("hyper@HEAD~1", figure(10_190.0)),
            server("ntex", Figure::Unavailable("n/a: io_uring".into())),
        ]));
        assert_eq!(rankings.len(), 5, "five counts of one scenario");
        let instructions = &rankings[0];
        assert_eq!(instructions.count, Count::Instructions);
        let rank = |name: &str| instructions.of(name).unwrap().rank;
        assert_eq!(rank("hyper@HEAD~1"), Some(1));
        assert_eq!(rank("hyper"), Some(1), "0.13 % apart: a tie");
        assert_eq!(rank("axum"), Some(3));
        assert_eq!(rank("ntex"), None);
        assert_eq!(
            instructions.of("ntex").unwrap().per_request,
            Err(NoFigure::Unavailable("n/a: io_uring".to_owned()))
        );
        let switches = rankings.iter().find(|r| r.count == Count::ContextSwitches);
        assert!(switches.unwrap().entries.iter().all(|e| e.rank.is_none()));
    }
}
