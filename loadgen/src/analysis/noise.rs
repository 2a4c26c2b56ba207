//! How much else the machine did while the contenders were under load, from the closed-loop
//! rounds alone: steal, other processes, the compute probe, and the spread of the rounds.

use serde::{Deserialize, Serialize};

use super::estimate::median;
use crate::results::RoundResult;

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
            self.round_spread = median(&spreads);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::sample;

    fn round(n: u32, rps: f64, busy: f64) -> RoundResult {
        sample::round(n, rps, 2.0, busy)
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
