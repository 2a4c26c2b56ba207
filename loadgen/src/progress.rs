//! The live progress bar on stderr: elapsed and remaining time and the current rate. It only
//! displays what the measuring core reports; it never measures.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::compare::plan::Plan;
use crate::compare::round::Event;
use crate::format::group_f;
use crate::load::{LoadSpec, Progress, Stop};
use crate::results::Phase;

/// A progress bar for one load, or nothing when progress is off or stderr is not a terminal.
#[derive(Debug)]
pub struct LoadBar {
    bar: Option<ProgressBar>,
    by_requests: bool,
    warmup: Duration,
    last: Option<Progress>,
}

impl LoadBar {
    /// A bar for `spec`; `enabled` is false with `--no-progress`.
    pub fn new(spec: &LoadSpec, enabled: bool) -> Self {
        let (length, by_requests, template) = match spec.stop {
            Stop::After(d) => (
                (spec.warmup + d).as_millis() as u64,
                false,
                "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% ETA {eta} {msg}",
            ),
            Stop::Requests(n) => (
                n,
                true,
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ETA {eta} {msg}",
            ),
        };
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            bar,
            by_requests,
            warmup: spec.warmup,
            last: None,
        }
    }

    /// Shows `progress`.
    pub fn update(&mut self, progress: Progress) {
        let Some(bar) = &self.bar else { return };
        if self.by_requests {
            bar.set_position(progress.responses);
        } else {
            bar.set_position(progress.elapsed.as_millis() as u64);
        }
        let message = match self.last {
            _ if !progress.measuring && self.warmup > Duration::ZERO => "warming up".to_owned(),
            Some(last) if progress.elapsed > last.elapsed => {
                let rate = (progress.responses - last.responses.min(progress.responses)) as f64
                    / (progress.elapsed - last.elapsed).as_secs_f64();
                format!("{} req/s", group_f(rate))
            }
            _ => String::new(),
        };
        bar.set_message(message);
        self.last = Some(progress);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The one overall bar of a comparison: ETA over all rounds, and the current contender and
/// scenario. It works out how far the run is from the plan and the events alone: the rounds
/// report what they do, never how much of the run is over.
#[derive(Debug)]
pub struct CompareBar {
    bar: Option<ProgressBar>,
    /// Planned milliseconds of one closed-loop visit.
    closed_visit_ms: u64,
    /// Planned milliseconds of one sweep visit.
    sweep_visit_ms: u64,
    /// Milliseconds of load in the visits finished.
    visits_ms: u64,
    /// Milliseconds of load in the loads finished in this visit.
    loads_ms: u64,
    round: String,
}

impl CompareBar {
    /// A bar for `plan`; `enabled` is false with `--no-progress`.
    pub fn new(plan: &Plan, enabled: bool) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(
                Some((plan.total_seconds() * 1000.0) as u64),
                ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = ProgressStyle::with_template(
                "[{elapsed_precise}] {wide_bar} {percent:>3}% ETA {eta} {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        let ms = |phase| (plan.visit_seconds(phase) * 1000.0) as u64;
        Self {
            bar,
            closed_visit_ms: ms(Phase::Closed),
            sweep_visit_ms: ms(Phase::Sweep),
            visits_ms: 0,
            loads_ms: 0,
            round: String::new(),
        }
    }

    /// Shows what the rounds report.
    pub fn observe(&mut self, event: Event<'_>) {
        match event {
            Event::Visit {
                phase,
                round,
                rounds,
                contender,
            } => {
                let phase = match phase {
                    Phase::Closed => "closed loop",
                    Phase::Sweep => "sweep",
                };
                self.round = format!("{phase} round {round}/{rounds} · {contender}");
                self.message(&self.round.clone());
            }
            Event::Scenario(scenario) => {
                let message = format!("{} · {scenario}", self.round);
                self.message(&message);
            }
            Event::Load(elapsed) => self.show(self.loads_ms + elapsed.as_millis() as u64),
            Event::LoadEnded(planned) => {
                self.loads_ms += planned.as_millis() as u64;
                self.show(self.loads_ms);
            }
            Event::VisitEnded(phase) => {
                self.visits_ms += match phase {
                    Phase::Closed => self.closed_visit_ms,
                    Phase::Sweep => self.sweep_visit_ms,
                };
                self.loads_ms = 0;
                self.show(0);
            }
        }
    }

    /// Puts the bar at `in_visit` ms into the current visit (never past its plan).
    fn show(&self, in_visit: u64) {
        if let Some(bar) = &self.bar {
            let longest = self.closed_visit_ms.max(self.sweep_visit_ms);
            bar.set_position(self.visits_ms + in_visit.min(longest));
        }
    }

    fn message(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_owned());
        } else {
            eprintln!("{message}");
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
