//! "Rust and Go side by side": for each of the Go article's six ways measured in a run, its Go
//! server and then the Rust servers that answer the same idea (`contract::ServerInfo::
//! rust_counterparts`), one row each: throughput, server CPU per answer, the open-loop p99 at
//! the common rate, and peak memory, for the run's first scenario (plaintext by default); the
//! `fortunes` throughput (a query, the pool and the template) when the run has it; then
//! the cost phase's instructions and allocations per request, on its first scenario (json by
//! default), where the tools could see the server. The summary and the page render the same
//! rows.

use std::fmt::Write as _;

use super::code::escape;
use crate::analysis::cost::NoFigure;
use crate::analysis::{Comparison, ContenderResult, ScenarioResult, Status};
use crate::results::cost::Count;

/// One row: a server of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The contender's label.
    pub label: String,
    /// `Go` or `Rust`.
    pub language: &'static str,
    /// The median throughput, req/s; `None` when the scenario failed.
    pub rps: Option<f64>,
    /// The median server CPU per answer, µs.
    pub cpu_us: Option<f64>,
    /// The open-loop p99 at the sweep's headline rate, µs, when the scenario was swept.
    pub p99_us: Option<u64>,
    /// Peak resident memory, KiB; `None` for a server that runs elsewhere.
    pub rss_kib: Option<u64>,
    /// The median throughput of `fortunes`, req/s, when the run measured it.
    pub fortunes_rps: Option<f64>,
    /// User-space instructions per request in the cost phase, or why there is none.
    pub instructions: Result<f64, NoFigure>,
    /// Heap allocations per request in the cost phase, or why there is none.
    pub allocations: Result<f64, NoFigure>,
}

/// The database scenario the view shows beside the first one, when the run has it.
const DATABASE_SCENARIO: &str = "fortunes";

/// Whether the run measured [`DATABASE_SCENARIO`].
fn has_database(run: &Comparison) -> bool {
    run.record
        .settings
        .scenarios
        .iter()
        .any(|s| s == DATABASE_SCENARIO)
}

/// The cost phase's scenario the view shows, as tables name it (`json`); `None` without a
/// cost phase.
fn cost_scenario(run: &Comparison) -> Option<&str> {
    run.cost.first().map(|ranking| ranking.label.as_str())
}

/// A contender's figure of `count` in the cost phase's first scenario.
fn cost_count(run: &Comparison, contender: &str, count: Count) -> Result<f64, NoFigure> {
    let scenario = cost_scenario(run).ok_or(NoFigure::NoCostPhase)?;
    run.cost
        .iter()
        .find(|r| r.label == scenario && r.count == count)
        .and_then(|r| r.of(contender))
        .map_or(Err(NoFigure::NotMeasured), |e| e.per_request.clone())
}

/// The rows of every group, a Go server first, and the scenario they are of. Empty when the
/// run has no Go server (or no scenario).
pub fn groups(run: &Comparison) -> (Option<String>, Vec<Vec<Row>>) {
    let Some(scenario) = run.record.settings.scenarios.first().cloned() else {
        return (None, Vec::new());
    };
    let row = |contender: &ContenderResult| {
        let info = contract::server(&contender.server);
        let cell = contender
            .scenario(&scenario)
            .filter(|s| s.status != Status::Failed);
        Row {
            label: contender.label.clone(),
            language: info.map_or("Rust", |i| i.build.language()),
            rps: cell.map(|s| s.rps.median),
            cpu_us: cell.and_then(|s| s.server_cpu_us.as_ref().map(|cpu| cpu.median)),
            p99_us: cell.and_then(|s| headline_p99(run, s)),
            rss_kib: contender.rss_peak_kib,
            fortunes_rps: contender
                .scenario(DATABASE_SCENARIO)
                .filter(|s| s.status != Status::Failed)
                .map(|s| s.rps.median),
            instructions: cost_count(run, &contender.label, Count::Instructions),
            allocations: cost_count(run, &contender.label, Count::Allocations),
        }
    };
    let groups = run
        .contenders
        .iter()
        .filter_map(|go| {
            let info = contract::server(&go.server)?;
            if info.build != contract::Build::Go {
                return None;
            }
            let mut rows = vec![row(go)];
            rows.extend(
                info.rust_counterparts
                    .iter()
                    .filter_map(|name| run.contenders.iter().find(|c| c.server == *name))
                    .map(row),
            );
            Some(rows)
        })
        .collect();
    (Some(scenario), groups)
}

fn headline_p99(run: &Comparison, cell: &ScenarioResult) -> Option<u64> {
    run.headline_point(cell).map(|p| p.latency_us.p99)
}

fn figure(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| crate::format::number(v, decimals))
}

/// A count per request, or `n/a` (the reason is in the cost section).
fn count(value: &Result<f64, NoFigure>, decimals: usize) -> String {
    match value {
        Ok(v) => crate::format::number(*v, decimals),
        Err(_) => "n/a".to_owned(),
    }
}

/// What the view's cost columns show, for the heading: empty without a cost phase.
fn cost_caption(run: &Comparison) -> String {
    cost_scenario(run).map_or_else(String::new, |scenario| {
        format!(
            " Then, from the cost phase on {scenario}, user-space instructions and heap allocations per request (n/a where valgrind cannot follow the server; the cost section says why)."
        )
    })
}

fn latency(p99: Option<u64>) -> String {
    p99.map_or_else(|| "–".to_owned(), crate::format::format_latency)
}

/// The view as a markdown section (without its heading); empty without Go servers.
pub fn markdown(run: &Comparison) -> String {
    let (Some(scenario), groups) = groups(run) else {
        return String::new();
    };
    if groups.is_empty() {
        return String::new();
    }
    let label = run.record.scenario_label(&scenario);
    let database = has_database(run);
    let (fortunes_head, fortunes_rule) = if database {
        (" fortunes req/s |", "---:|")
    } else {
        ("", "")
    };
    let mut out = format!(
        "Each of the Go article's six ways, then its Rust counterparts, on {label}: median throughput (req/s), server CPU per answer (µs), open-loop p99 at the common rate, peak memory{}.{}\n\n| server | language | req/s | CPU µs per answer | p99 at the common rate | peak RSS |{fortunes_head} instructions | allocations |\n|---|---|---:|---:|---:|---:|{fortunes_rule}---:|---:|\n",
        if database {
            "; and the fortunes throughput (a query, the pool and the template)"
        } else {
            ""
        },
        cost_caption(run)
    );
    for (i, rows) in groups.iter().enumerate() {
        if i > 0 {
            out.push_str(if database {
                "| | | | | | | | | |\n"
            } else {
                "| | | | | | | | |\n"
            });
        }
        for row in rows {
            let fortunes = if database {
                format!(" {} |", figure(row.fortunes_rps, 0))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |{fortunes} {} | {} |",
                row.label,
                row.language,
                figure(row.rps, 0),
                figure(row.cpu_us, 2),
                latency(row.p99_us),
                super::memory_text(row.rss_kib),
                count(&row.instructions, 0),
                count(&row.allocations, 2),
            );
        }
    }
    out
}

/// The view as an HTML section of the page; empty without Go servers.
pub fn html(run: &Comparison) -> String {
    let (Some(scenario), groups) = groups(run) else {
        return String::new();
    };
    if groups.is_empty() {
        return String::new();
    }
    let database = has_database(run);
    let mut out = format!(
        "<section id=\"rust-and-go\"><h2>Rust and Go side by side</h2><p>Each of the Go article's six ways, then its Rust counterparts, on {}: median throughput, server CPU per answer, the open-loop p99 at the common rate, and peak memory{}.{}</p><div class=\"scroll\"><table class=\"side-by-side\"><thead><tr><th>server</th><th>language</th><th>req/s</th><th>CPU µs per answer</th><th>p99 at the common rate</th><th>peak RSS</th>{}<th>instructions</th><th>allocations</th></tr></thead>",
        escape(&run.record.scenario_label(&scenario)),
        if database {
            "; and the fortunes throughput (a query, the pool and the template)"
        } else {
            ""
        },
        escape(&cost_caption(run)),
        if database {
            "<th>fortunes req/s</th>"
        } else {
            ""
        }
    );
    for rows in &groups {
        out.push_str("<tbody>");
        for row in rows {
            let fortunes = if database {
                format!("<td>{}</td>", figure(row.fortunes_rps, 0))
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{fortunes}<td>{}</td><td>{}</td></tr>",
                escape(&row.label),
                row.language,
                figure(row.rps, 0),
                figure(row.cpu_us, 2),
                latency(row.p99_us),
                super::memory_text(row.rss_kib),
                count(&row.instructions, 0),
                count(&row.allocations, 2),
            );
        }
        out.push_str("</tbody>");
    }
    out.push_str("</table></div></section>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::page::tests::sample_run;

    #[test]
    fn each_go_server_comes_first_in_its_group_with_its_rust_counterparts() {
        let run = sample_run();
        let (scenario, groups) = groups(&run);
        assert_eq!(scenario.as_deref(), Some("plaintext"));
        assert_eq!(groups.len(), 6, "the article's six ways");
        let gin = groups
            .iter()
            .find(|rows| rows[0].label == "go-gin")
            .expect("a group for gin");
        let labels: Vec<&str> = gin.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["go-gin", "actix-web", "ntex"]);
        assert_eq!(gin[0].language, "Go");
        assert_eq!(gin[1].language, "Rust");
        assert!(gin.iter().all(|r| r.rps.is_some() && r.cpu_us.is_some()));
        assert!(gin.iter().all(|r| r.p99_us.is_some()), "plaintext is swept");
        // warp failed in the sample: its row says so instead of a figure.
        let router = groups
            .iter()
            .find(|rows| rows[0].label == "go-fasthttprouter")
            .expect("a group for fasthttprouter");
        assert_eq!(router[1].label, "warp");
        assert_eq!(router[1].rps, None);
        let md = markdown(&run);
        assert!(md.contains("| go-gin | Go |") && md.contains("| actix-web | Rust |"));
        assert!(md.contains("| warp | Rust | – |"));
        let page = html(&run);
        assert!(page.contains("<h2>Rust and Go side by side</h2>"));
        assert_eq!(page.matches("<tbody>").count(), 6);
        // Without a cost phase, the cost columns say n/a and the caption does not promise them.
        assert!(gin.iter().all(|r| r.instructions.is_err()));
        assert!(!md.contains("from the cost phase"));
    }

    #[test]
    fn the_cost_phase_counts_sit_beside_each_server() {
        use crate::analysis::cost::tests::{figure, server, table};
        use crate::results::cost::Figure;
        let mut run = sample_run();
        run.record.cost = Some(table(vec![
            server("go-gin", figure(40_134.0)),
            server("actix-web", figure(18_669.0)),
            server(
                "ntex",
                Figure::Unavailable("n/a: valgrind cannot follow io_uring".into()),
            ),
        ]));
        let run = crate::analysis::analyze(run.record);
        let (_, groups) = groups(&run);
        let gin = groups
            .iter()
            .find(|rows| rows[0].label == "go-gin")
            .unwrap();
        assert_eq!(gin[0].instructions, Ok(40_134.0));
        assert_eq!(gin[1].instructions, Ok(18_669.0));
        assert_eq!(gin[0].allocations, Ok(8.0));
        assert!(gin[2].instructions.is_err(), "ntex: {:?}", gin[2]);
        let md = markdown(&run);
        assert!(md.contains("from the cost phase on json"), "{md}");
        assert!(md.contains("| 40,134 | 8.00 |"), "{md}");
        assert!(
            md.contains("| n/a | 8.00 |"),
            "ntex's allocations come from the fixture: {md}"
        );
        assert!(html(&run).contains("<td>40,134</td><td>8.00</td>"));
    }
}
