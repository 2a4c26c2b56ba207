//! The arithmetic of a count per request: the marginal count between two request counts, the
//! spread of repeated measurements, and a ranking in which close figures tie.
//!
//! A run of a server counts its start-up, its connections' set-up and its shutdown besides the
//! requests. Counting the same thing at two request counts and dividing the difference by the
//! difference in requests leaves only what one more request costs:
//! `(count_high - count_low) / (requests_high - requests_low)`.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A count taken after a number of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Requests answered.
    pub requests: u64,
    /// What the tool counted (instructions, allocations, bytes, syscalls…).
    pub count: u64,
}

/// One measurement: two samples and the count per request between them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Marginal {
    /// The sample with fewer requests.
    pub low: Sample,
    /// The sample with more requests.
    pub high: Sample,
    /// `(high.count - low.count) / (high.requests - low.requests)`; below zero when a count
    /// that does not depend on the requests came out lower in the larger sample.
    pub per_request: f64,
}

/// How much less the larger sample may count than the smaller one, relative to the larger
/// sample's count, before the pair is called disturbed: 10 %, and at least one count per request
/// of the smaller sample. A count that does not grow with the requests (context switches under
/// a closed loop, an allocation that happens once) comes out a little lower in the larger
/// sample now and then, by tens of counts over thousands of requests: a marginal just under
/// zero, which is what it is. A smaller sample that counted more than a whole count per request
/// beyond the larger one ran something besides the requests (a pool connecting in the
/// background, a collector), and its marginal, however negative, says nothing about a request.
pub const DISTURBED: f64 = 0.1;

/// Why two samples give no count per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MarginalError {
    /// Both samples answered the same number of requests (or the larger fewer).
    #[error("the samples answered {low} and {high} requests: the second must be the larger")]
    Requests {
        /// Requests of the first sample.
        low: u64,
        /// Requests of the second sample.
        high: u64,
    },
}

impl Marginal {
    /// The count per request between `low` and `high`.
    pub fn new(low: Sample, high: Sample) -> Result<Self, MarginalError> {
        if high.requests <= low.requests {
            return Err(MarginalError::Requests {
                low: low.requests,
                high: high.requests,
            });
        }
        // A count that does not grow with the requests (connections closed per load, under
        // native load) can come out a little lower in the larger sample: a marginal just under
        // zero, which is what it is.
        let per_request = (i128::from(high.count) - i128::from(low.count)) as f64
            / (high.requests - low.requests) as f64;
        Ok(Self {
            low,
            high,
            per_request,
        })
    }

    /// Why this pair says nothing about a request, if it does not: the larger sample counted
    /// less than the smaller one by more than [`DISTURBED`] of its count and by more than one
    /// count per request of the smaller sample.
    pub fn disturbance(&self) -> Option<String> {
        let (low, high) = (self.low.count as f64, self.high.count as f64);
        let allowed = (DISTURBED * high).max(self.low.requests as f64);
        (low - high > allowed).then(|| {
            format!(
                "disturbed sample: {} requests counted {}, more than the {} of {} requests \
                 (something besides the requests ran in the smaller sample)",
                self.low.requests, self.low.count, self.high.count, self.high.requests
            )
        })
    }
}

/// The mean of `values` (0 when empty).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// How far apart repeated measurements are: `(max - min) / mean`, 0.0 for one measurement or
/// a mean of zero.
pub fn spread(values: &[f64]) -> f64 {
    let mean = mean(values);
    if values.len() < 2 || mean == 0.0 {
        return 0.0;
    }
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    (max - min) / mean
}

/// Relative difference under which two counts tie in a ranking: 1 %.
pub const TIE: f64 = 0.01;

/// Ranks `values` from the smallest (rank 1) up. A value within `tie` (relative) of the
/// smallest value of the group before it shares that group's rank, so a chain of small steps
/// cannot join far-apart values. Returns the rank of each value, in the order given.
pub fn rank_with_ties(values: &[f64], tie: f64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0; values.len()];
    let mut group_start = f64::NAN;
    let mut group_rank = 0;
    for (position, &index) in order.iter().enumerate() {
        let value = values[index];
        let ties = group_start.is_finite() && value <= group_start * (1.0 + tie);
        if !ties {
            group_start = value;
            group_rank = position + 1;
        }
        ranks[index] = group_rank;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(requests: u64, count: u64) -> Sample {
        Sample { requests, count }
    }

    #[test]
    fn start_up_and_shutdown_cancel_out() {
        // 5,000,000 of start-up and shutdown, then 10,203 per request.
        let fixed = 5_000_000;
        let m = Marginal::new(
            sample(1000, fixed + 1000 * 10_203),
            sample(3000, fixed + 3000 * 10_203),
        )
        .unwrap();
        assert_eq!(m.per_request, 10_203.0);
        let m = Marginal::new(sample(1000, 8_123), sample(3000, 24_124)).unwrap();
        assert_eq!(m.per_request, 8.0005);
    }

    #[test]
    fn samples_in_the_wrong_order_are_refused() {
        assert_eq!(
            Marginal::new(sample(3000, 10), sample(1000, 20)),
            Err(MarginalError::Requests {
                low: 3000,
                high: 1000
            })
        );
        assert!(Marginal::new(sample(1000, 10), sample(1000, 20)).is_err());
        // 131 closes in the smaller load, 130 in the larger: nothing per request, just noise.
        let m = Marginal::new(sample(2000, 131), sample(6000, 130)).unwrap();
        assert_eq!(m.per_request, -0.00025);
        assert_eq!(m.disturbance(), None);
    }

    #[test]
    fn a_smaller_sample_that_counted_far_more_is_disturbed() {
        // std's json in the first database run: its pool connected (SCRAM under callgrind)
        // during the 200 requests.
        let m = Marginal::new(sample(200, 363_875_500), sample(600, 1_949_620)).unwrap();
        let reason = m.disturbance().unwrap();
        assert!(
            reason.contains("200 requests counted 363875500"),
            "{reason}"
        );
        // 10 % under the larger count is the limit: 110,000 against 100,000 is kept, 110,001
        // is not.
        let edge = |low| Marginal::new(sample(200, low), sample(600, 100_000)).unwrap();
        assert_eq!(edge(110_000).disturbance(), None);
        assert!(edge(110_001).disturbance().is_some());
        // Small counts that do not grow: tokio's context switches in the run of 2026-12-03
        // (152 in 4,000 requests, 41 in 12,000) and an allocation made once (1 in 208, 0 in 608)
        // are noise under one count per request, kept.
        let kept = Marginal::new(sample(4000, 152), sample(12_000, 41)).unwrap();
        assert_eq!(kept.disturbance(), None);
        let once = Marginal::new(sample(208, 1), sample(608, 0)).unwrap();
        assert_eq!(once.disturbance(), None);
        // rocket's db instructions in that run: its pool connected inside the 200 requests.
        let pool = Marginal::new(sample(200, 75_982_357), sample(600, 50_981_655)).unwrap();
        assert!(pool.disturbance().is_some());
        // A count that grows is never disturbed.
        let m = Marginal::new(sample(200, 1_000), sample(600, 3_000)).unwrap();
        assert_eq!(m.disturbance(), None);
    }

    #[test]
    fn spread_is_relative_to_the_mean() {
        assert_eq!(spread(&[]), 0.0);
        assert_eq!(spread(&[5.0]), 0.0);
        assert_eq!(spread(&[8.0, 8.0]), 0.0);
        let s = spread(&[10_203.0, 10_190.0]);
        assert!((s - 13.0 / 10_196.5).abs() < 1e-12, "{s}");
        assert_eq!(mean(&[1.0, 2.0, 3.0]), 2.0);
    }

    #[test]
    fn differences_under_one_percent_tie() {
        // 100 and 100.9 tie; 101.5 is over 1 % above the group's smallest, 100, so it does not,
        // although it is within 1 % of 100.9.
        assert_eq!(
            rank_with_ties(&[101.5, 100.0, 100.9, 200.0, 50.0], TIE),
            [4, 2, 2, 5, 1]
        );
        assert_eq!(rank_with_ties(&[1.0, 1.0, 1.0], TIE), [1, 1, 1]);
        assert_eq!(rank_with_ties(&[0.0, 0.0, 3.0], TIE), [1, 1, 3]);
        assert!(rank_with_ties(&[], TIE).is_empty());
    }
}
