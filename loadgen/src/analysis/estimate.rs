//! Statistics across rounds: the median of the rounds with a 95 % confidence interval, and
//! whether two contenders differ by more than noise.
//!
//! The rounds of a comparison are few (six to ten) and their distribution is unknown (a shared
//! machine gives long right tails), so everything here is distribution-free:
//! - the interval of a median is made of order statistics (the sign test's interval), with
//!   Hettmansperger and Sheather's interpolation so that it is 95 % and not the 99 % the next
//!   order statistic would give;
//! - two servers differ when a rank test says so (exact, two-sided, p < 0.05) and their medians
//!   are at least [`NOISE_THRESHOLD`] apart, criterion's "change within noise threshold". The
//!   rounds are interleaved (every server once per round, a few seconds apart), and a shared
//!   machine drifts from one minute to the next, so rounds are compared in pairs: the Wilcoxon
//!   signed-rank test on each round's log ratio takes out what the round did to both servers.
//!   Without four rounds in common the unpaired Mann–Whitney U test is used.

use serde::{Deserialize, Serialize};

/// One figure of each round: `(round, value)`.
pub type PerRound = [(u32, f64)];

/// The confidence of every interval.
pub const CONFIDENCE: f64 = 0.95;
/// A difference whose p-value is this or more is a tie.
pub const ALPHA: f64 = 0.05;
/// Medians closer than this (relative) are a tie whatever the p-value, as criterion's default
/// noise threshold: a 0.5 % gap is not worth a ranking.
pub const NOISE_THRESHOLD: f64 = 0.01;
/// Past this many values per side, the rank tests use their normal approximation.
const EXACT_LIMIT: usize = 40;
/// Fewer rounds in common than this, and the comparison is not paired.
const MIN_PAIRS: usize = 4;

/// A median with its confidence interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The median of the values.
    pub median: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
    /// How sure the interval is, 0 to 1: [`CONFIDENCE`], or less when there are too few values
    /// to reach it (with 5 values the full range is a 93.75 % interval; with 1 it is 0).
    pub confidence: f64,
    /// How many values.
    pub samples: u32,
}

impl Estimate {
    /// The median of `values` and its interval.
    pub fn of(values: &[f64]) -> Self {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = median_of_sorted(&sorted);
        let samples = u32::try_from(n).unwrap_or(u32::MAX);
        if n < 2 {
            return Self {
                median,
                low: median,
                high: median,
                confidence: 0.0,
                samples,
            };
        }
        let x = |k: usize| sorted[k - 1];
        // k: the largest (1-based) order statistic whose interval (x(k), x(n+1-k)) still covers
        // the median with probability CONFIDENCE or more.
        let full = order_coverage(n, 1);
        if full < CONFIDENCE {
            return Self {
                median,
                low: x(1),
                high: x(n),
                confidence: full,
                samples,
            };
        }
        let mut k = 1;
        while k < n / 2 && order_coverage(n, k + 1) >= CONFIDENCE {
            k += 1;
        }
        let (low, high) = if k < n - k {
            let (wide, narrow) = (order_coverage(n, k), order_coverage(n, k + 1));
            let share = if wide > narrow {
                (wide - CONFIDENCE) / (wide - narrow)
            } else {
                0.0
            };
            let (nf, kf) = (n as f64, k as f64);
            let lambda = (nf - kf) * share / (kf + (nf - 2.0 * kf) * share);
            (
                (1.0 - lambda) * x(k) + lambda * x(k + 1),
                (1.0 - lambda) * x(n + 1 - k) + lambda * x(n - k),
            )
        } else {
            (x(k), x(n + 1 - k))
        };
        Self {
            median,
            low,
            high,
            confidence: CONFIDENCE,
            samples,
        }
    }

    /// Half the interval's width as a share of the median: 0.03 is ±3 %.
    pub fn relative_half_width(&self) -> f64 {
        if self.median == 0.0 {
            return 0.0;
        }
        (self.high - self.low) / 2.0 / self.median.abs()
    }
}

/// How two sets of rounds compare.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// The first median over the second.
    pub ratio: f64,
    /// Two-sided p-value of the rank test.
    pub p_value: f64,
    /// Whether the rounds were compared in pairs (Wilcoxon signed-rank) rather than as two
    /// groups (Mann–Whitney U).
    #[serde(default)]
    pub paired: bool,
    /// Whether the difference is real: `p_value` < [`ALPHA`] and the medians at least
    /// [`NOISE_THRESHOLD`] apart.
    pub significant: bool,
}

/// Compares the rounds of `a` with those of `b`, as two groups.
pub fn compare(a: &[f64], b: &[f64]) -> Difference {
    difference(a, b, mann_whitney_p(a, b), false)
}

/// Compares rounds `(round, value)` of `a` with those of `b`: in pairs, round by round, when
/// they have at least four rounds in common, else as two groups.
pub fn compare_rounds(a: &[(u32, f64)], b: &[(u32, f64)]) -> Difference {
    let (va, vb) = (values(a), values(b));
    let log_ratios = paired_log_ratios(a, b);
    if log_ratios.len() >= MIN_PAIRS {
        difference(&va, &vb, signed_rank_p(&log_ratios), true)
    } else {
        difference(&va, &vb, mann_whitney_p(&va, &vb), false)
    }
}

/// `a` over `b` round by round: the median of the rounds' ratios with its interval (the
/// interval of the log ratios' median, turned back into ratios). Without a round in common,
/// the ratio of the medians, with no interval (confidence 0).
pub fn ratio_of_rounds(a: &[(u32, f64)], b: &[(u32, f64)]) -> Estimate {
    let log_ratios = paired_log_ratios(a, b);
    if log_ratios.is_empty() {
        let (ma, mb) = (median(&values(a)), median(&values(b)));
        let ratio = if mb != 0.0 { ma / mb } else { 1.0 };
        return Estimate {
            median: ratio,
            low: ratio,
            high: ratio,
            confidence: 0.0,
            samples: 0,
        };
    }
    let logs = Estimate::of(&log_ratios);
    Estimate {
        median: logs.median.exp(),
        low: logs.low.exp(),
        high: logs.high.exp(),
        ..logs
    }
}

fn values(x: &[(u32, f64)]) -> Vec<f64> {
    x.iter().map(|(_, v)| *v).collect()
}

/// ln(a / b) of every round both have, positive values only.
fn paired_log_ratios(a: &[(u32, f64)], b: &[(u32, f64)]) -> Vec<f64> {
    a.iter()
        .filter_map(|(round, x)| {
            let (_, y) = b.iter().find(|(r, _)| r == round)?;
            (*x > 0.0 && *y > 0.0).then(|| (x / y).ln())
        })
        .collect()
}

fn difference(a: &[f64], b: &[f64], p_value: f64, paired: bool) -> Difference {
    let (ma, mb) = (median(a), median(b));
    let ratio = if mb != 0.0 { ma / mb } else { 1.0 };
    Difference {
        ratio,
        p_value,
        paired,
        significant: p_value < ALPHA && (ratio - 1.0).abs() >= NOISE_THRESHOLD,
    }
}

/// Two-sided p-value of the Wilcoxon signed-rank test that `differences` centre on zero: exact
/// for small samples, the normal approximation for large ones. Zeros are dropped; tied
/// magnitudes share their mean rank.
fn signed_rank_p(differences: &[f64]) -> f64 {
    let mut nonzero: Vec<f64> = differences
        .iter()
        .copied()
        .filter(|d| *d != 0.0 && d.is_finite())
        .collect();
    let n = nonzero.len();
    if n == 0 {
        return 1.0;
    }
    nonzero.sort_by(|x, y| x.abs().total_cmp(&y.abs()));
    let mut positive = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && nonzero[j + 1].abs() == nonzero[i].abs() {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        positive += rank * nonzero[i..=j].iter().filter(|d| **d > 0.0).count() as f64;
        i = j + 1;
    }
    let total = (n * (n + 1)) as f64 / 2.0;
    let smaller = positive.min(total - positive);
    let p = if n <= EXACT_LIMIT {
        // counts[w]: subsets of the ranks 1..=n that sum to w.
        let mut counts = vec![0.0_f64; n * (n + 1) / 2 + 1];
        counts[0] = 1.0;
        for rank in 1..=n {
            for w in (rank..counts.len()).rev() {
                counts[w] += counts[w - rank];
            }
        }
        let all: f64 = counts.iter().sum();
        let at_most: f64 = counts.iter().take(smaller.floor() as usize + 1).sum();
        2.0 * at_most / all
    } else {
        let mean = total / 2.0;
        let sd = (n as f64 * (n + 1) as f64 * (2 * n + 1) as f64 / 24.0).sqrt();
        2.0 * standard_normal_cdf((smaller - mean + 0.5) / sd)
    };
    p.min(1.0)
}

/// The median of `values` (0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    median_of_sorted(&sorted)
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
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

/// The chance that (x(k), x(n+1-k)) of `n` values covers their distribution's median: one minus
/// twice the chance that fewer than k of n fair coins come up heads.
fn order_coverage(n: usize, k: usize) -> f64 {
    let mut below = 0.0;
    let mut term = 0.5_f64.powi(i32::try_from(n).unwrap_or(i32::MAX));
    for i in 0..k {
        below += term;
        term *= (n - i) as f64 / (i + 1) as f64;
    }
    (1.0 - 2.0 * below).max(0.0)
}

/// Two-sided p-value of the Mann–Whitney U test: exact for small samples, the normal
/// approximation with continuity correction for large ones. Ties count half.
fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return 1.0;
    }
    let u: f64 = a
        .iter()
        .map(|x| {
            b.iter()
                .map(|y| match x.total_cmp(y) {
                    std::cmp::Ordering::Greater => 1.0,
                    std::cmp::Ordering::Equal => 0.5,
                    std::cmp::Ordering::Less => 0.0,
                })
                .sum::<f64>()
        })
        .sum();
    let total = (n * m) as f64;
    let smaller = u.min(total - u);
    let p = if n <= EXACT_LIMIT && m <= EXACT_LIMIT {
        let counts = u_distribution(n, m);
        let all: f64 = counts.iter().sum();
        let at_most: f64 = counts
            .iter()
            .take(smaller.floor() as usize + 1)
            .sum::<f64>();
        2.0 * at_most / all
    } else {
        let mean = total / 2.0;
        let sd = (total * (n + m + 1) as f64 / 12.0).sqrt();
        2.0 * standard_normal_cdf((smaller - mean + 0.5) / sd)
    };
    p.min(1.0)
}

/// How many orderings of `n` and `m` values give each U from 0 to n·m.
fn u_distribution(n: usize, m: usize) -> Vec<f64> {
    // rows[j][u]: orderings of i values against j values with statistic u, for the current i.
    let mut rows: Vec<Vec<f64>> = (0..=m).map(|_| vec![1.0]).collect();
    for i in 1..=n {
        let mut next: Vec<Vec<f64>> = Vec::with_capacity(m + 1);
        next.push(vec![1.0]);
        for j in 1..=m {
            let mut row = vec![0.0; i * j + 1];
            // The largest value is one of the i (it beats all j) or one of the j.
            for (u, count) in rows[j].iter().enumerate() {
                row[u + j] += count;
            }
            for (u, count) in next[j - 1].iter().enumerate() {
                row[u] += count;
            }
            next.push(row);
        }
        rows = next;
    }
    rows.swap_remove(m)
}

/// Φ(x), by the Abramowitz–Stegun erf approximation (error under 1.5e-7).
fn standard_normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A normal value by Box–Muller, from a seeded generator.
    fn normal(rng: &mut fastrand::Rng, mean: f64, sd: f64) -> f64 {
        let (u, v) = (rng.f64().max(1e-12), rng.f64());
        mean + sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    fn sample(rng: &mut fastrand::Rng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        (0..n).map(|_| normal(rng, mean, sd)).collect()
    }

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
    fn order_statistics_cover_as_the_binomial_says() {
        // (x(1), x(5)) of 5 values: 1 - 2/32.
        assert!((order_coverage(5, 1) - 0.9375).abs() < 1e-12);
        assert!((order_coverage(8, 2) - (1.0 - 2.0 * 9.0 / 256.0)).abs() < 1e-12);
        let few = Estimate::of(&[3.0, 1.0, 2.0]);
        assert_eq!((few.low, few.median, few.high), (1.0, 2.0, 3.0));
        assert!(few.confidence < CONFIDENCE);
        let one = Estimate::of(&[7.0]);
        assert_eq!((one.low, one.high, one.confidence), (7.0, 7.0, 0.0));
        let many = Estimate::of(&(1..=20).map(f64::from).collect::<Vec<_>>());
        assert_eq!(many.confidence, CONFIDENCE);
        assert!(many.low > 5.0 && many.low < 7.0 && many.high > 14.0 && many.high < 16.0);
    }

    #[test]
    fn intervals_cover_the_true_median_at_about_their_nominal_rate() {
        let mut rng = fastrand::Rng::with_seed(7);
        for n in [6, 8, 12, 20] {
            let trials = 4000;
            let covered = (0..trials)
                .filter(|_| {
                    let e = Estimate::of(&sample(&mut rng, n, 100.0, 5.0));
                    e.low <= 100.0 && 100.0 <= e.high
                })
                .count();
            let rate = covered as f64 / trials as f64;
            assert!(
                (0.925..=0.975).contains(&rate),
                "{n} values: the 95 % interval covered the median {:.1} % of the time",
                rate * 100.0
            );
        }
    }

    #[test]
    fn clear_differences_are_significant_and_identical_distributions_tie() {
        let mut rng = fastrand::Rng::with_seed(11);
        let trials = 500;
        let mut found = 0;
        let mut false_alarms = 0;
        for _ in 0..trials {
            // 5 % apart with 1 % noise: always told apart with 8 rounds.
            let a = sample(&mut rng, 8, 105.0, 1.0);
            let b = sample(&mut rng, 8, 100.0, 1.0);
            let d = compare(&a, &b);
            found += usize::from(d.significant && d.ratio > 1.0);
            let c = sample(&mut rng, 8, 100.0, 1.0);
            let e = sample(&mut rng, 8, 100.0, 1.0);
            false_alarms += usize::from(compare(&c, &e).significant);
        }
        assert_eq!(found, trials, "a clear difference was called a tie");
        assert!(
            false_alarms as f64 / trials as f64 <= ALPHA,
            "{false_alarms} of {trials} ties were called significant"
        );
    }

    #[test]
    fn pairing_rounds_takes_out_a_drifting_machine() {
        let mut rng = fastrand::Rng::with_seed(3);
        let trials = 300;
        let (mut paired_found, mut unpaired_found, mut false_alarms) = (0, 0, 0);
        for _ in 0..trials {
            // Each round the whole machine is up to 30 % slower; b is 4 % slower than a.
            let drift: Vec<f64> = (0..8).map(|_| 1.0 - 0.3 * rng.f64()).collect();
            let a: Vec<(u32, f64)> = (0..8)
                .map(|r| (r as u32 + 1, 100.0 * drift[r] * normal(&mut rng, 1.0, 0.01)))
                .collect();
            let b: Vec<(u32, f64)> = (0..8)
                .map(|r| (r as u32 + 1, 96.0 * drift[r] * normal(&mut rng, 1.0, 0.01)))
                .collect();
            let c: Vec<(u32, f64)> = (0..8)
                .map(|r| (r as u32 + 1, 100.0 * drift[r] * normal(&mut rng, 1.0, 0.01)))
                .collect();
            let d = compare_rounds(&a, &b);
            assert!(d.paired);
            paired_found += usize::from(d.significant && d.ratio > 1.0);
            let values = |x: &[(u32, f64)]| x.iter().map(|(_, v)| *v).collect::<Vec<_>>();
            unpaired_found += usize::from(compare(&values(&a), &values(&b)).significant);
            false_alarms += usize::from(compare_rounds(&a, &c).significant);
        }
        assert!(
            paired_found as f64 >= 0.9 * trials as f64,
            "paired: {paired_found} of {trials}"
        );
        assert!(
            unpaired_found < paired_found / 2,
            "the drift hides the gap from the unpaired test: {unpaired_found}"
        );
        assert!(
            false_alarms as f64 <= ALPHA * trials as f64,
            "{false_alarms} of {trials} ties were called significant"
        );
        // Too few rounds in common: as two groups.
        let few = compare_rounds(&[(1, 10.0), (2, 11.0)], &[(1, 5.0), (3, 6.0)]);
        assert!(!few.paired && !few.significant);
        // All eight rounds the same way round: 2 / 2^8.
        let sure = signed_rank_p(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
        assert!((sure - 2.0 / 256.0).abs() < 1e-12, "{sure}");
    }

    #[test]
    fn the_u_test_is_exact_on_small_samples() {
        // Complete separation of 4 and 4: one ordering in 70 each way.
        let p = mann_whitney_p(&[5.0, 6.0, 7.0, 8.0], &[1.0, 2.0, 3.0, 4.0]);
        assert!((p - 2.0 / 70.0).abs() < 1e-12, "{p}");
        let counts = u_distribution(3, 2);
        assert_eq!(counts.iter().sum::<f64>(), 10.0);
        assert_eq!(counts, [1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0]);
        // One round each can never be significant, and neither can a tiny gap.
        assert!(!compare(&[200.0], &[100.0]).significant);
        let near = compare(
            &[100.5, 100.6, 100.7, 100.8, 100.9, 101.0],
            &[100.0, 100.1, 100.2, 100.3, 100.4, 100.45],
        );
        assert!(near.p_value < ALPHA && !near.significant, "{near:?}");
        assert!((standard_normal_cdf(1.96) - 0.975).abs() < 1e-4);
    }
}
