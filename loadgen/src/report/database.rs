//! What the database cost beside each server in the database scenarios: where it ran, and its
//! share of the CPU that server and database spent together on each answer.
//!
//! On a machine where the database shares the servers' CPU, a server's throughput in these
//! scenarios is bounded by both; the share says how much of that CPU was the database's, so
//! that a reader can tell a driver that makes the database work harder (more round trips, no
//! prepared statements) from one that is slow itself.

use std::fmt::Write as _;

use crate::analysis::{Comparison, median};

/// The scenarios that read the database, in the order they run.
const DATABASE_SCENARIOS: &[&str] = &["db", "queries", "fortunes", "updates"];

/// The database's CPU for one contender and scenario: the median over the rounds of its share
/// of server + database CPU, and of its µs per answer; `None` without figures.
pub fn share(run: &Comparison, contender: &str, scenario: &str) -> Option<(f64, f64)> {
    let rounds: Vec<(f64, f64)> = run
        .record
        .measurements
        .closed
        .iter()
        .filter(|s| s.contender == contender && s.scenario == scenario)
        .filter_map(|s| {
            let database = s.measure.database_cpu_us?;
            let server = s.measure.server_cpu_us?;
            let answers = s.measure.responses.max(1) as f64;
            (database + server > 0.0).then(|| (database / (database + server), database / answers))
        })
        .collect();
    if rounds.is_empty() {
        return None;
    }
    let shares: Vec<f64> = rounds.iter().map(|r| r.0).collect();
    let per_answer: Vec<f64> = rounds.iter().map(|r| r.1).collect();
    Some((median(&shares), median(&per_answer)))
}

/// The summary's section on the database: empty when the run had none.
pub fn markdown(run: &Comparison) -> String {
    let Some(database) = &run.record.settings.database else {
        return String::new();
    };
    let scenarios: Vec<&str> = DATABASE_SCENARIOS
        .iter()
        .copied()
        .filter(|s| run.record.settings.scenarios.iter().any(|name| name == s))
        .collect();
    if scenarios.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let placement = match &database.cpus {
        Some(cpus) => format!("pinned to CPU {cpus}"),
        None => "not pinned".to_owned(),
    };
    let _ = writeln!(
        out,
        "## The database\n\nThe database scenarios read a {}, {placement}. Each cell is the database's share of the CPU that \
         server and database spent together, and the database's CPU µs per answer (medians of the rounds): the rest of each \
         answer's CPU is the server's, in the CPU table. A server's throughput here is bounded by both.\n",
        database.source
    );
    let _ = writeln!(out, "| server | {} |", scenarios.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(scenarios.len()));
    for contender in &run.contenders {
        let cells: Vec<String> = scenarios
            .iter()
            .map(|scenario| match share(run, &contender.label, scenario) {
                Some((share, per_answer)) => format!("{:.0} % ({per_answer:.1} µs)", share * 100.0),
                None => "–".to_owned(),
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", contender.label, cells.join(" | "));
    }
    out.push('\n');
    out
}
