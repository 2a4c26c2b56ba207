//! Every pair of contenders on throughput, in every scenario: how far apart their medians are
//! and whether the difference counts. `pairs.csv` holds them for scripts; `summary.md` folds
//! the same rows away under the rankings, since a reader looks up one pair, not all of them.

use std::fmt::Write as _;

use super::{Export, ReportError};
use crate::analysis::{Comparison, Metric};

/// `pairs.csv`, one row per pair of contenders and scenario.
#[derive(Debug, Clone, Copy)]
pub struct PairsCsv;

const HEADER: &str = "scenario,first,second,ratio,significant";

/// The first contender's median throughput over the second's in one scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairCell {
    /// First over second.
    pub ratio: f64,
    /// Whether the difference is real (else it is a tie).
    pub significant: bool,
}

/// One pair of contenders, in the order of the run, with a cell per scenario of the run
/// (`None` where either was not ranked).
#[derive(Debug, Clone, PartialEq)]
pub struct PairRow<'a> {
    /// The first contender.
    pub first: &'a str,
    /// The second.
    pub second: &'a str,
    /// One per scenario, in the run's order.
    pub cells: Vec<Option<PairCell>>,
}

/// Every pair of the run's contenders, each once, in the run's order.
pub fn pair_rows(run: &Comparison) -> Vec<PairRow<'_>> {
    let names: Vec<&str> = run.contenders.iter().map(|s| s.label.as_str()).collect();
    let mut rows = Vec::new();
    for (i, first) in names.iter().enumerate() {
        for second in &names[i + 1..] {
            let cells = run
                .record
                .settings
                .scenarios
                .iter()
                .map(|scenario| pair_cell(run, scenario, first, second))
                .collect();
            rows.push(PairRow {
                first,
                second,
                cells,
            });
        }
    }
    rows
}

/// `first` against `second` on throughput in `scenario`.
fn pair_cell(run: &Comparison, scenario: &str, first: &str, second: &str) -> Option<PairCell> {
    let pair = run
        .ranking(scenario, Metric::Throughput)
        .and_then(|r| r.pair(first, second))?;
    let ratio = if pair.better == first {
        pair.difference.ratio
    } else {
        1.0 / pair.difference.ratio
    };
    Some(PairCell {
        ratio,
        significant: pair.difference.significant,
    })
}

/// A cell as the summary shows it: `+4.1 %`, `≈ (+0.4 %)` for a tie, `–` where not ranked.
pub fn cell_text(cell: Option<PairCell>) -> String {
    let Some(cell) = cell else {
        return "–".to_owned();
    };
    let text = format!("{:+.1} %", (cell.ratio - 1.0) * 100.0);
    if cell.significant {
        text
    } else {
        format!("≈ ({text})")
    }
}

impl Export for PairsCsv {
    fn file_name(&self) -> String {
        "pairs.csv".to_owned()
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let mut out = String::from(HEADER);
        out.push('\n');
        for row in pair_rows(run) {
            for (scenario, cell) in run.record.settings.scenarios.iter().zip(&row.cells) {
                if let Some(cell) = cell {
                    let _ = writeln!(
                        out,
                        "{scenario},{},{},{:.4},{}",
                        row.first, row.second, cell.ratio, cell.significant
                    );
                }
            }
        }
        Ok(out.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::page::tests::sample_run;

    #[test]
    fn every_pair_is_a_row_per_scenario_in_the_csv() {
        let run = sample_run();
        let rows = pair_rows(&run);
        let n = run.contenders.len();
        assert_eq!(rows.len(), n * (n - 1) / 2);
        let csv = String::from_utf8(PairsCsv.render(&run).unwrap()).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(HEADER));
        let ranked: usize = rows.iter().map(|r| r.cells.iter().flatten().count()).sum();
        assert!(ranked > 0, "{csv}");
        assert_eq!(lines.count(), ranked);
        assert_eq!(cell_text(None), "–");
        let tie = PairCell {
            ratio: 1.004,
            significant: false,
        };
        assert_eq!(cell_text(Some(tie)), "≈ (+0.4 %)");
    }
}
