//! The text `loadgen run` and `loadgen merge` print: what was loaded, throughput, latency,
//! statuses and errors, and a warning when the client set the pace.

use std::fmt::Write as _;

use super::{Export, ReportError};
use crate::format::{group, group_f};
use crate::stats::{
    CLIENT_BOUND_BUSY, CLIENT_BOUND_TURNAROUND, CLIENT_LAG_BOUND_US, CLIENT_WAITED_BOUND,
    LatencySummary,
};
use crate::summary::{RATE_SHORTFALL, RunReport};

/// The text of a run's report.
#[derive(Debug, Clone, Copy)]
pub struct RunText;

impl Export<RunReport> for RunText {
    fn file_name(&self) -> String {
        "run.txt".to_owned()
    }

    fn render(&self, report: &RunReport) -> Result<Vec<u8>, ReportError> {
        Ok(self.text(report).into_bytes())
    }
}

impl RunText {
    /// The summary a person reads.
    pub fn text(&self, report: &RunReport) -> String {
        let mut out = heading(report);
        let w = &mut out;
        let _ = writeln!(
            w,
            "  requests      {} in {:.2} s ({} answered, {} failed)",
            group(report.requests),
            report.duration_s,
            group(report.responses),
            group(report.requests - report.responses)
        );
        let _ = writeln!(w, "  throughput    {} req/s", group_f(report.rps));
        let label = if report.latency_uncorrected_us.is_some() {
            "latency (µs, from due time)"
        } else {
            "latency (µs)"
        };
        let _ = writeln!(w, "  {label:<13} {}", latency_line(&report.latency_us));
        if let Some(uncorrected) = &report.latency_uncorrected_us {
            let _ = writeln!(
                w,
                "  {:<13} {}",
                "latency (µs, from send)",
                latency_line(uncorrected)
            );
        }
        out.push_str(&answers(report));
        out.push_str(&client_lines(report));
        out.push_str(&warnings(report));
        out
    }
}

/// The first line: what was loaded and how, or which runs were merged.
fn heading(report: &RunReport) -> String {
    let Some(s) = &report.settings else {
        return format!("merge of {}\n", report.merged_from.join(", "));
    };
    let mut shape = match s.rate {
        Some(rate) => format!("open loop at {} req/s", group(rate.round() as u64)),
        None => "closed loop".to_owned(),
    };
    if s.pipeline > 1 {
        let _ = write!(shape, ", pipelined {} deep", s.pipeline);
    }
    format!(
        "{} {} — {} engine, {} connections, {} thread{}, {shape}\n",
        s.method,
        s.url,
        s.engine.name(),
        s.connections,
        s.threads,
        if s.threads == 1 { "" } else { "s" },
    )
}

/// The statuses and errors of the answers.
fn answers(report: &RunReport) -> String {
    let statuses: Vec<String> = report
        .status
        .iter()
        .map(|(code, n)| format!("{code}: {}", group(*n)))
        .collect();
    let errors: Vec<String> = report
        .errors
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(kind, n)| format!("{kind}: {}", group(*n)))
        .collect();
    let or_none = |list: Vec<String>| {
        if list.is_empty() {
            "none".to_owned()
        } else {
            list.join(", ")
        }
    };
    format!(
        "  status        {}\n  errors        {}\n",
        or_none(statuses),
        or_none(errors)
    )
}

/// What the client saw of itself: its send lag, the bytes, reconnects and its CPU.
fn client_lines(report: &RunReport) -> String {
    let mut out = String::new();
    let w = &mut out;
    if let Some(lag) = &report.send_lag_us {
        let _ = writeln!(
            w,
            "  send lag (µs) p50 {}  p99 {}  max {}",
            group(lag.p50),
            group(lag.p99),
            group(lag.max)
        );
    }
    let _ = writeln!(w, "  body bytes    {}", group(report.body_bytes));
    if report.reconnects > 0 {
        let _ = writeln!(w, "  reconnects    {}", group(report.reconnects));
    }
    let cpu: Vec<String> = report
        .client_cpu
        .iter()
        .map(|busy| format!("{:.0} %", busy * 100.0))
        .collect();
    let turnaround = report
        .client_turnaround
        .map(|t| {
            format!(
                "; connections waited in the client {:.0} % of the time",
                t * 100.0
            )
        })
        .unwrap_or_default();
    let _ = writeln!(
        w,
        "  client CPU    {} busy (per load thread){turnaround}",
        cpu.join(", ")
    );
    out
}

fn latency_line(l: &LatencySummary) -> String {
    format!(
        "min {}  mean {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
        group(l.min),
        group_f(l.mean),
        group(l.p50),
        group(l.p90),
        group(l.p99),
        group(l.p999),
        group(l.max)
    )
}

/// What the reader must know before trusting the figures: a missed rate, a client that set
/// the pace, a run stopped early.
fn warnings(report: &RunReport) -> String {
    let mut out = String::new();
    let w = &mut out;
    if let (Some(target), Some(achieved)) = (
        report.settings.as_ref().and_then(|s| s.rate),
        report.achieved_rate,
    ) && achieved < target * RATE_SHORTFALL
    {
        let _ = writeln!(
            w,
            "warning: the run sent {} req/s, short of the {} req/s asked for: the client or the server could not keep up",
            group_f(achieved),
            group_f(target)
        );
    }
    if report.client_lagged {
        let _ = writeln!(
            w,
            "warning: client-lagged: the send lag's p99 is over {CLIENT_LAG_BOUND_US} µs or a load thread waited for a CPU {:.0} % of the time or more, so the client, not the server, made requests late (add -t threads, use --engine h1, or give the client a CPU of its own)",
            CLIENT_WAITED_BOUND * 100.0
        );
    } else if report.client_bound {
        let _ = writeln!(
            w,
            "warning: client-bound: a load thread was busy {:.0} % of the time or more or waited for a CPU {:.0} % of it, or connections waited in the client {:.0} % of the time or more, so these figures are a lower bound for the server (add -t threads, use --engine h1, or give the client a CPU of its own)",
            CLIENT_BOUND_BUSY * 100.0,
            CLIENT_WAITED_BOUND * 100.0,
            CLIENT_BOUND_TURNAROUND * 100.0
        );
    }
    if report.partial {
        let _ = writeln!(
            w,
            "note: stopped early; these are the results so far (partial)"
        );
    }
    out
}
