//! The idle phase in a report: what holding thousands of idle keep-alive connections cost each
//! server, its resident memory per connection, and whether one more request on a fresh
//! connection was still answered within the limit.
//!
//! The rows are made once ([`rows`]) and written as Markdown ([`markdown`]) and as HTML
//! ([`html`]); [`per_connection`] is the results table's column.

use std::fmt::Write as _;

use super::code::escape;
use crate::analysis::Comparison;
use crate::format::{format_latency, group};
use crate::results::{IdleRecord, IdleTable};

/// The column headers, the server's first.
const HEADERS: [&str; 4] = [
    "server",
    "held",
    "resident memory before → after",
    "per connection",
];

/// One server's memory per idle connection, as the results table shows it: `4.3 KiB`, or `–`
/// when the run has no idle phase or the server was not measured in it.
pub fn per_connection(run: &Comparison, contender: &str) -> String {
    run.record
        .idle
        .as_ref()
        .and_then(|table| table.servers.iter().find(|s| s.contender == contender))
        .and_then(IdleRecord::kib_per_connection)
        .map_or_else(|| "–".to_owned(), kib_text)
}

/// One server's figures on one line, as the command prints them while it measures.
pub fn line(server: &IdleRecord) -> String {
    let memory = server.kib_per_connection().map_or_else(
        || "memory not measured".to_owned(),
        |kib| format!("{} per connection", kib_text(kib)),
    );
    let fresh = server.fresh_answer_us.map_or_else(
        || "a fresh request was not answered".to_owned(),
        |us| format!("a fresh request answered in {}", format_latency(us as u64)),
    );
    let error = server
        .error
        .as_ref()
        .map_or_else(String::new, |e| format!(" ({e})"));
    format!(
        "{}: {} connections held, {memory}, {fresh}{error}",
        server.contender,
        group(u64::from(server.held))
    )
}

/// The rows: the server, how many it held, its memory before and after, per connection, and
/// the fresh request's time with whether it met the limit.
pub fn rows(table: &IdleTable) -> Vec<[String; 5]> {
    table
        .servers
        .iter()
        .map(|s| {
            let fresh = match s.fresh_answer_us {
                Some(us) if s.answered_within(table.fresh_limit_ms) => {
                    format!("✓ {}", format_latency(us as u64))
                }
                Some(us) => format!(
                    "✗ {}, over {:.0} ms",
                    format_latency(us as u64),
                    table.fresh_limit_ms
                ),
                None => "✗ not answered".to_owned(),
            };
            let fresh = match &s.error {
                Some(error) => format!("{fresh} ({error})"),
                None => fresh,
            };
            [
                s.contender.clone(),
                group(u64::from(s.held)),
                format!(
                    "{} → {} MiB",
                    mib_text(s.rss_before_kib),
                    mib_text(s.rss_after_kib)
                ),
                s.kib_per_connection()
                    .map_or_else(|| "–".to_owned(), kib_text),
                fresh,
            ]
        })
        .collect()
}

/// What the phase did, one paragraph.
fn preamble(table: &IdleTable) -> String {
    format!(
        "After the rounds, each server was started once more and made to hold {} idle keep-alive connections, each of which \
         had one request answered first. Memory per connection is the growth of the server's resident memory (VmRSS) from \
         before they were opened to after, over the count; lower is better. Then one more request on a fresh connection, \
         connect to last byte, had to be answered within {:.0} ms. The phase took {:.0} s.",
        group(u64::from(table.connections)),
        table.fresh_limit_ms,
        table.seconds
    )
}

/// The header of the fresh request's column.
fn fresh_header(table: &IdleTable) -> String {
    format!("fresh request (≤ {:.0} ms)", table.fresh_limit_ms)
}

/// The summary's section on idle connections: empty when the run had no idle phase.
pub fn markdown(run: &Comparison) -> String {
    let Some(table) = &run.record.idle else {
        return String::new();
    };
    let mut out = format!("## What idle connections cost\n\n{}\n\n", preamble(table));
    let _ = writeln!(out, "| {} | {} |", HEADERS.join(" | "), fresh_header(table));
    let _ = writeln!(out, "|---|---:|---:|---:|---|");
    for row in rows(table) {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
    out
}

/// The page's section on idle connections: empty when the run had no idle phase.
pub fn html(run: &Comparison) -> String {
    let Some(table) = &run.record.idle else {
        return String::new();
    };
    let mut out = format!(
        "<section id=\"idle\"><h2>What idle connections cost</h2><p>{}</p><div class=\"scroll\"><table class=\"results\"><thead><tr>",
        escape(&preamble(table))
    );
    for header in HEADERS {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    let _ = write!(
        out,
        "<th>{}</th></tr></thead><tbody>",
        escape(&fresh_header(table))
    );
    for row in rows(table) {
        let _ = write!(out, "<tr><th>{}</th>", escape(&row[0]));
        for cell in &row[1..] {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></section>\n");
    out
}

fn kib_text(kib: f64) -> String {
    format!("{kib:.1} KiB")
}

fn mib_text(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis;
    use crate::results::sample;

    fn server(contender: &str, after: u64, fresh: Option<f64>) -> IdleRecord {
        IdleRecord {
            contender: contender.into(),
            held: 5_000,
            rss_before_kib: 10_240,
            rss_after_kib: after,
            fresh_answer_us: fresh,
            error: None,
        }
    }

    #[test]
    fn the_summary_and_the_page_show_both_figures_for_every_server() {
        let mut record = sample::record(&[("hyper", "hyper"), ("axum", "axum")], &["json"], 1);
        record.idle = Some(IdleTable {
            connections: 5_000,
            fresh_limit_ms: 100.0,
            servers: vec![
                server("hyper", 10_240 + 20_000, Some(420.0)),
                server("axum", 10_240 + 50_000, Some(150_000.0)),
            ],
            seconds: 9.0,
        });
        let run = analysis::analyze(record);
        let summary = markdown(&run);
        assert!(summary.contains("| hyper | 5,000 | 10.0 → 29.5 MiB | 4.0 KiB | ✓ 420 µs |"));
        assert!(
            summary.contains(
                "| axum | 5,000 | 10.0 → 58.8 MiB | 10.0 KiB | ✗ 150.00 ms, over 100 ms |"
            )
        );
        let page = html(&run);
        assert!(page.contains("<th>hyper</th><td>5,000</td>"));
        assert!(page.contains("4.0 KiB") && page.contains("✗ 150.00 ms, over 100 ms"));
        assert_eq!(per_connection(&run, "axum"), "10.0 KiB");
        assert_eq!(per_connection(&run, "warp"), "–");
    }

    #[test]
    fn a_run_without_an_idle_phase_has_no_section() {
        let run = analysis::analyze(sample::record(&[("hyper", "hyper")], &["json"], 1));
        assert!(markdown(&run).is_empty());
        assert!(html(&run).is_empty());
        assert_eq!(per_connection(&run, "hyper"), "–");
    }

    #[test]
    fn an_unanswered_fresh_request_and_an_error_are_said() {
        let mut failed = server("rocket", 12_000, None);
        failed.error = Some("connection 5000: timed out".into());
        let table = IdleTable {
            connections: 5_000,
            fresh_limit_ms: 100.0,
            servers: vec![failed.clone()],
            seconds: 1.0,
        };
        assert_eq!(
            rows(&table)[0][4],
            "✗ not answered (connection 5000: timed out)"
        );
        assert!(line(&failed).contains("a fresh request was not answered"));
    }
}
