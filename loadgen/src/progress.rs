//! The live progress bar on stderr: elapsed and remaining time and the current rate. It only
//! displays what the measuring core reports; it never measures.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::load::{LoadSpec, Progress, Stop};
use crate::summary::group_f;

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
