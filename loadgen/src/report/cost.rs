//! The cost phase in a report: a table per scenario (instructions, allocations, bytes,
//! syscalls and context switches per request, each with its rank, ties under 1 % sharing
//! one), the tools missing with the command that installs each, the reasons of every `n/a`,
//! and `cost.svg`, the instructions chart of `loadgen cost`.
//!
//! The rows are made once ([`tables`]) and written as Markdown ([`markdown`]) and as HTML
//! ([`html`]).

use std::fmt::Write as _;

use super::code::escape;
use crate::analysis::Comparison;
use crate::analysis::cost::CostRanking;
use crate::format::number;
use crate::results::cost::{CostTable, Count};

/// The columns of a cost table, after the contender's, with each count's decimals.
const COLUMNS: [(Count, &str, usize); 5] = [
    (Count::Instructions, "instructions", 0),
    (Count::Allocations, "allocations", 2),
    (Count::BytesAllocated, "bytes allocated", 1),
    (Count::Syscalls, "syscalls", 3),
    (Count::ContextSwitches, "context switches", 3),
];

/// One scenario's table: its label and a row of cells per contender.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioTable {
    /// The scenario as tables show it.
    pub label: String,
    /// The contender, then one cell per column of [`COLUMNS`].
    pub rows: Vec<Vec<String>>,
}

/// The column headers, the contender's first.
pub fn headers() -> Vec<&'static str> {
    std::iter::once("server")
        .chain(COLUMNS.iter().map(|(_, header, _)| *header))
        .collect()
}

/// A table per scenario, from the rankings: `10,203 (#1)`, or `n/a`.
pub fn tables(rankings: &[CostRanking]) -> Vec<ScenarioTable> {
    let mut scenarios: Vec<(&str, &str)> = Vec::new();
    for r in rankings {
        if !scenarios.iter().any(|(s, _)| *s == r.scenario) {
            scenarios.push((&r.scenario, &r.label));
        }
    }
    scenarios
        .into_iter()
        .map(|(scenario, label)| {
            let of = |count: Count| {
                rankings
                    .iter()
                    .find(|r| r.scenario == scenario && r.count == count)
            };
            let contenders: Vec<&str> = of(Count::Instructions)
                .map(|r| r.entries.iter().map(|e| e.contender.as_str()).collect())
                .unwrap_or_default();
            let rows = contenders
                .iter()
                .map(|contender| {
                    let mut row = vec![(*contender).to_owned()];
                    for (count, _, decimals) in COLUMNS {
                        let entry = of(count).and_then(|r| r.of(contender));
                        row.push(match entry {
                            Some(e) => match (&e.per_request, e.rank) {
                                (Ok(value), Some(rank)) => {
                                    format!("{} (#{rank})", number(*value, decimals))
                                }
                                _ => "n/a".to_owned(),
                            },
                            None => "n/a".to_owned(),
                        });
                    }
                    row
                })
                .collect();
            ScenarioTable {
                label: label.to_owned(),
                rows,
            }
        })
        .collect()
}

/// What the cost section says before its tables: how the counts were taken, and each tool
/// that is missing with the command that installs it.
pub fn preamble(table: &CostTable) -> Vec<String> {
    let s = &table.settings;
    let mut lines = vec![format!(
        "Exact counts per request, each the marginal count between two request counts so start-up and shutdown cancel out: \
         user-space instructions and heap allocations (valgrind callgrind; an allocation is a call into `malloc` and its kin, or Go's `runtime.mallocgc`) between {} requests on one connection, \
         bytes allocated (valgrind DHAT) between {}; \
         syscalls and context switches (the kernel's counters, natively, over all the server's threads) between {} requests over {} connections. \
         Measured {} time(s), one server thread; the rank is exact: under 1 % apart is a tie, on any machine; a Go server's counts leave its runtime's background work out (its share is shown below them) and repeat within about 2 % (docs/cost.md). \
         Instructions leave out the kernel's TCP work, which the syscall count stands in for. Took {:.0} s{}.",
        s.callgrind_requests,
        s.dhat_requests,
        s.load_requests,
        s.connections,
        s.repeat,
        table.seconds,
        if table.partial {
            " (stopped early: partial)"
        } else {
            ""
        },
    )];
    for (tool, status) in [
        ("valgrind", &table.tools.valgrind),
        ("perf events", &table.tools.perf_events),
    ] {
        if let Some(reason) = status.missing() {
            lines.push(format!(
                "{tool} is missing, so its counts are n/a (the rest of the comparison went on): {reason}"
            ));
        }
    }
    lines
}

/// Every reason a figure is missing, once per contender and reason: `ntex: n/a: …`.
pub fn reasons(rankings: &[CostRanking]) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for ranking in rankings {
        for entry in &ranking.entries {
            if let Err(reason) = &entry.per_request {
                let line = format!("{}: {reason}", entry.contender);
                if !lines.contains(&line) {
                    lines.push(line);
                }
            }
        }
    }
    lines
}

/// The cost section of `summary.md` (empty without a cost phase).
pub fn markdown(run: &Comparison) -> String {
    let Some(table) = &run.record.cost else {
        return String::new();
    };
    let mut out = String::from("## Cost per request (exact counts, lower is better)\n\n");
    for line in preamble(table) {
        let _ = writeln!(out, "{line}\n");
    }
    let headers = headers();
    for scenario in tables(&run.cost) {
        let _ = writeln!(out, "**{}**\n", scenario.label);
        markdown_table(&mut out, &headers, 1, &scenario.rows);
    }
    let runtime = super::cost_run::runtime_rows(table);
    if !runtime.is_empty() {
        let _ = writeln!(
            out,
            "**The Go runtime's share** (not ranked)\n\n{}\n",
            super::cost_run::RUNTIME_SHARE
        );
        markdown_table(&mut out, &super::cost_run::RUNTIME_HEADERS, 2, &runtime);
    }
    for line in reasons(&run.cost) {
        let _ = writeln!(out, "- {line}");
    }
    out
}

/// A Markdown table: the headers, the first `text_columns` left-aligned and the rest (the
/// counts) right-aligned, then the rows; a blank line after.
fn markdown_table<R: AsRef<[String]>>(
    out: &mut String,
    headers: &[&str],
    text_columns: usize,
    rows: &[R],
) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(
        out,
        "|{}{}",
        "---|".repeat(text_columns),
        "---:|".repeat(headers.len().saturating_sub(text_columns))
    );
    for row in rows {
        let _ = writeln!(out, "| {} |", row.as_ref().join(" | "));
    }
    out.push('\n');
}

/// An HTML results table, scrolling sideways on a narrow screen.
fn html_table<R: AsRef<[String]>>(out: &mut String, headers: &[&str], rows: &[R]) {
    out.push_str("<div class=\"scroll\"><table class=\"results\"><thead><tr>");
    for header in headers {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row.as_ref() {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

/// The cost section of the page (empty without a cost phase).
pub fn html(run: &Comparison) -> String {
    let Some(table) = &run.record.cost else {
        return String::new();
    };
    let mut out = String::from(
        "<section id=\"cost\"><h2>Cost per request</h2><p class=\"legend\">Exact counts, lower is better; the rank follows each figure.</p>",
    );
    for line in preamble(table) {
        let _ = write!(out, "<p>{}</p>", escape(&line));
    }
    for scenario in tables(&run.cost) {
        let _ = write!(out, "<h3>{}</h3>", escape(&scenario.label));
        html_table(&mut out, &headers(), &scenario.rows);
    }
    let runtime = super::cost_run::runtime_rows(table);
    if !runtime.is_empty() {
        let _ = write!(
            out,
            "<h3>The Go runtime's share (not ranked)</h3><p>{}</p>",
            escape(super::cost_run::RUNTIME_SHARE)
        );
        html_table(&mut out, &super::cost_run::RUNTIME_HEADERS, &runtime);
    }
    let reasons = reasons(&run.cost);
    if !reasons.is_empty() {
        out.push_str("<ul>");
        for line in reasons {
            let _ = write!(out, "<li>{}</li>", escape(&line));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");
    out
}
