//! `latency/<scenario>-<rate>-<server>.hgrm`: the latency distribution of every open-loop point
//! (a server, a scenario, a rate; its rounds merged), in HdrHistogram's percentile distribution
//! format, the text its Java library's `outputPercentileDistribution` prints and its plotter
//! (`plotFiles.html`) and wrk2 read: values in ms, five percentile ticks per half distance.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use super::{Export, ReportError};
use crate::analysis::Comparison;

/// The folder of the `.hgrm` files, beside `run.json`.
pub const FOLDER: &str = "latency";

/// µs per ms: the histograms count µs, and `.hgrm` files are read as ms.
const MS: f64 = 1000.0;

/// Percentile ticks per half distance to 100 %, as HdrHistogram's own default.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// One open-loop point's `.hgrm`.
#[derive(Debug, Clone)]
pub struct Hgrm {
    contender: String,
    scenario: String,
    rate: String,
}

/// One `.hgrm` per open-loop point of the run.
pub fn exports(run: &Comparison) -> Vec<Box<dyn Export>> {
    let mut exports: Vec<Box<dyn Export>> = Vec::new();
    for contender in &run.contenders {
        for scenario in &contender.scenarios {
            for point in &scenario.sweep {
                exports.push(Box::new(Hgrm {
                    contender: contender.label.clone(),
                    scenario: scenario.name.clone(),
                    rate: point.label.clone(),
                }));
            }
        }
    }
    exports
}

/// A name made safe for a file: `50%` → `50pct`, `hyper@HEAD~1` → `hyper@HEAD_1`.
fn safe(name: &str) -> String {
    name.replace('%', "pct")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Export for Hgrm {
    fn file_name(&self) -> String {
        format!(
            "{FOLDER}/{}-{}-{}.hgrm",
            safe(&self.scenario),
            safe(&self.rate),
            safe(&self.contender)
        )
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let point = run
            .contenders
            .iter()
            .find(|c| c.label == self.contender)
            .and_then(|c| c.scenario(&self.scenario))
            .and_then(|s| s.sweep.iter().find(|p| p.label == self.rate))
            .ok_or_else(|| ReportError::Render {
                file: self.file_name(),
                reason: "the run has no such point".to_owned(),
            })?;
        Ok(percentile_distribution(point.histogram.as_hdr(), MS).into_bytes())
    }
}

/// `histogram` as HdrHistogram's Java library prints it (`outputPercentileDistribution`), its
/// values divided by `scale`.
pub fn percentile_distribution(histogram: &Histogram<u64>, scale: f64) -> String {
    let digits = usize::from(histogram.sigfig());
    let mut out = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if !histogram.is_empty() {
        let mut total = 0;
        for v in histogram.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
            total += v.count_since_last_iteration();
            let value = v.value_iterated_to() as f64 / scale;
            let quantile = v.quantile_iterated_to();
            if quantile < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:12.digits$} {quantile:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - quantile)
                );
            } else {
                let _ = writeln!(out, "{value:12.digits$} {quantile:2.12} {total:10}");
            }
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.digits$}, StdDeviation   = {:12.digits$}]",
        histogram.mean() / scale,
        histogram.stdev() / scale
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.digits$}, Total count    = {:12}]",
        histogram.max() as f64 / scale,
        histogram.len()
    );
    // HdrHistogram's sub-bucket count: the power of two that holds 2 × 10^digits.
    let sub_buckets = (2 * 10u64.pow(u32::from(histogram.sigfig()))).next_power_of_two();
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        histogram.buckets(),
        sub_buckets
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::page::tests::sample_run;
    use crate::stats::LatencyHistogram;

    #[test]
    fn the_distribution_is_in_hdrhistograms_own_layout() {
        let mut latency = LatencyHistogram::default();
        for us in 1..=1000 {
            latency.record(us);
        }
        let text = percentile_distribution(latency.as_hdr(), MS);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        assert_eq!(
            lines[2],
            "       0.001 0.000000000000          1           1.00"
        );
        // The median: 500 µs, 500 values at or below it.
        assert!(
            lines.contains(&"       0.500 0.500000000000        500           2.00"),
            "{text}"
        );
        // The last value line has no 1/(1-Percentile).
        let last = lines[lines.len() - 4];
        assert!(
            last.starts_with("       1.000 1.000000000000       1000"),
            "{last}"
        );
        assert_eq!(last.split_whitespace().count(), 3);
        assert_eq!(
            lines[lines.len() - 2],
            "#[Max     =        1.000, Total count    =         1000]"
        );
        assert!(lines[lines.len() - 1].ends_with("SubBuckets     =         2048]"));
    }

    #[test]
    fn every_open_loop_point_gets_a_file_in_the_latency_folder() {
        let run = sample_run();
        let files = exports(&run);
        let points: usize = run
            .contenders
            .iter()
            .flat_map(|c| &c.scenarios)
            .map(|s| s.sweep.len())
            .sum();
        assert!(points > 0);
        assert_eq!(files.len(), points);
        let first = &files[0];
        assert!(
            first.file_name().starts_with("latency/plaintext-"),
            "{}",
            first.file_name()
        );
        let text = String::from_utf8(first.render(&run).unwrap()).unwrap();
        assert!(text.contains("Total count"), "{text}");
        assert_eq!(safe("50%"), "50pct");
        assert_eq!(safe("hyper@HEAD~1"), "hyper@HEAD_1");
    }
}
