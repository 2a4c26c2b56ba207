//! The files of `loadgen cost`: `cost.md`, the settings and tools, one table per scenario and
//! the reasons for every figure that is missing; and `cost.svg`, the instructions chart.

use std::fmt::Write as _;

use super::{Export, ReportError};
use crate::format::{group, number};
use crate::results::cost::{CostResult, CostTable, Figure, ToolStatus};

/// `cost.md`: the whole run as Markdown.
#[derive(Debug, Clone, Copy)]
pub struct CostMarkdown;

impl Export<CostTable> for CostMarkdown {
    fn file_name(&self) -> String {
        "cost.md".to_owned()
    }

    fn render(&self, table: &CostTable) -> Result<Vec<u8>, ReportError> {
        Ok(markdown(table).into_bytes())
    }
}

/// `cost.svg`: instructions per request, a group per scenario and a bar per server, whiskers
/// from the lowest to the highest measurement.
#[derive(Debug, Clone, Copy)]
pub struct CostSvg;

impl Export<CostTable> for CostSvg {
    fn file_name(&self) -> String {
        "cost.svg".to_owned()
    }

    fn render(&self, table: &CostTable) -> Result<Vec<u8>, ReportError> {
        super::charts::finish(self, super::charts::instructions_chart(table))
    }
}

/// How many syscall kinds a table cell lists.
const TOP_KINDS: usize = 3;

/// The whole run as Markdown.
pub fn markdown(table: &CostTable) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Cost per request\n");
    let _ = writeln!(
        out,
        "`{}`, started {}, took {:.0} s{}.\n",
        table.command,
        table.started_at,
        table.seconds,
        if table.partial {
            " (stopped early: partial)"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "{}\n", method(table));
    for (tool, status) in [
        ("valgrind", &table.tools.valgrind),
        ("perf events", &table.tools.perf_events),
    ] {
        let _ = match status.missing() {
            None => writeln!(out, "- {tool}: {}", tool_version(status)),
            Some(reason) => writeln!(out, "- {tool}: **missing**: {reason}"),
        };
    }
    out.push_str(&scenario_tables(table));
    let rows = runtime_rows(table);
    if !rows.is_empty() {
        let _ = writeln!(out, "\n## The Go runtime's share\n\n{RUNTIME_SHARE}\n");
        let _ = writeln!(out, "| {} |", RUNTIME_HEADERS.join(" | "));
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
    }
    out.push_str(&reasons(table));
    out
}

/// What the table of the Go runtime's share shows, as one paragraph.
pub const RUNTIME_SHARE: &str = "A Go server's ranked counts are what serves the requests: \
    callgrind runs it with its garbage collector off (`GOGC=off`), a file per thread, and leaves out \
    the `sysmon` thread and the scheduler's search for work (`runtime.findRunnable`), which run by the clock, \
    the heap's fresh pages (`runtime.(*mheap).alloc`), which a running collector would hand back swept, and \
    the slow path of an interface assertion (`runtime.typeAssert`), which fills its call site's cache at random. \
    A second callgrind run counts the server as it runs, collector on and every thread; the difference is its \
    runtime's share. It moves from run to run with when a collection lands (and the `sync.Pool` objects it \
    empties are allocated again), so it is shown here and never ranked.";

/// The columns of the table of the Go runtime's share.
pub const RUNTIME_HEADERS: [&str; 6] = [
    "server",
    "scenario",
    "instructions, runtime included",
    "of which the runtime",
    "allocations, runtime included",
    "of which the runtime",
];

/// A row per Go server and scenario: its counts with the runtime's work included, and how
/// much of them the ranked counts leave out.
pub fn runtime_rows(table: &CostTable) -> Vec<[String; 6]> {
    let share = |whole: &Figure, ranked: &Figure, decimals: usize| match (
        whole.per_request(),
        ranked.per_request(),
    ) {
        (Some(whole), Some(ranked)) => number(whole - ranked, decimals),
        _ => "n/a".to_owned(),
    };
    table
        .servers
        .iter()
        .flat_map(|server| {
            server.results.iter().filter_map(|r| {
                let whole = r.with_runtime.as_ref()?;
                Some([
                    server.server.clone(),
                    r.label.clone(),
                    cell(&whole.instructions, 0),
                    share(&whole.instructions, &r.instructions, 0),
                    cell(&whole.allocations, 2),
                    share(&whole.allocations, &r.allocations, 2),
                ])
            })
        })
        .collect()
}

/// How the counts were taken, as one paragraph.
fn method(table: &CostTable) -> String {
    let s = &table.settings;
    format!(
        "Each figure is the marginal count between two request counts, so start-up, connections and shutdown cancel out; \
         {}. \
         Instructions and allocations: callgrind, {} requests on one connection; an allocation is a call into the allocator \
         (`malloc` and its kin; `runtime.mallocgc` in a Go server). Bytes: DHAT, {} requests on one connection \
         (DHAT cannot dump mid-run: a run per count). Syscalls and context switches: the kernel's counters, natively, \
         {} requests over {} connections (closed loop, the h1 engine). {} unmeasured requests come first in each scenario. \
         Servers run with `--threads {}` on CPUs {:?}, the load generator on {:?}; the valgrind runs, whose counts do not depend \
         on timing, run side by side, one on each CPU.{}",
        if s.repeat == 1 {
            "it was measured once, in a fresh server process (`loadgen cost` measures every figure twice and shows the spread)".to_owned()
        } else {
            format!(
                "it was measured {} times, each in a fresh server process, and the spread `(max - min) / mean` follows in brackets",
                s.repeat
            )
        },
        s.callgrind_requests,
        s.dhat_requests,
        s.load_requests,
        s.connections,
        group(s.warmup_requests),
        s.server_threads,
        s.cpus.server,
        s.cpus.client,
        if reads_database(table) {
            " Under callgrind, once a database scenario is warm, the database's backends behind the server run on its \
             CPUs at the idle policy (`SCHED_IDLE`): they answer only once the server waits for them, as a native \
             server always does, instead of racing it."
        } else {
            ""
        },
    )
}

/// Whether the table has a database scenario.
fn reads_database(table: &CostTable) -> bool {
    table.servers.iter().any(|server| {
        server
            .results
            .iter()
            .any(|r| crate::cost::DATABASE_SCENARIOS.contains(&r.scenario.as_str()))
    })
}

/// A table per scenario, a row per server.
fn scenario_tables(table: &CostTable) -> String {
    let mut out = String::new();
    let scenarios: Vec<(&str, &str)> = table
        .servers
        .first()
        .map(|s| {
            s.results
                .iter()
                .map(|r| (r.scenario.as_str(), r.label.as_str()))
                .collect()
        })
        .unwrap_or_default();
    for (scenario, label) in scenarios {
        let _ = writeln!(out, "\n## {label}\n");
        let _ = writeln!(
            out,
            "| server | instructions | allocations | bytes allocated | syscalls | context switches | syscalls by kind |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
        for server in &table.servers {
            if let Some(r) = server.result(scenario) {
                let _ = writeln!(out, "| {} | {} |", server.server, row(r).join(" | "));
            }
        }
    }
    out
}

/// Every server's notes, each once: why a figure is missing.
fn reasons(table: &CostTable) -> String {
    let mut reasons: Vec<String> = Vec::new();
    for server in &table.servers {
        for note in &server.notes {
            let line = format!("- {}: {note}", server.server);
            if !reasons.contains(&line) {
                reasons.push(line);
            }
        }
    }
    if reasons.is_empty() {
        return String::new();
    }
    format!("\n## Not measured, and why\n\n{}\n", reasons.join("\n"))
}

fn tool_version(status: &ToolStatus) -> String {
    match status {
        ToolStatus::Available(version) => version.clone(),
        ToolStatus::Missing(reason) => reason.clone(),
    }
}

/// The cells of one result: each figure with its spread, the top syscall kinds.
pub fn row(r: &CostResult) -> Vec<String> {
    let kinds = r
        .syscalls_by_kind
        .iter()
        .take(TOP_KINDS)
        .filter_map(|k| Some(format!("{} {:.2}", k.kind, k.per_request.per_request()?)))
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        cell(&r.instructions, 0),
        cell(&r.allocations, 2),
        cell(&r.bytes_allocated, 1),
        cell(&r.syscalls, 3),
        cell(&r.context_switches, 3),
        kinds,
    ]
}

/// A figure as a cell: `10,203 (0.13 %)`, or `n/a`. A figure near zero (a server that does
/// not allocate per request) has no meaningful relative spread: its range is shown instead,
/// `0.00 (range 0.003)`.
pub fn cell(figure: &Figure, decimals: usize) -> String {
    let runs = figure.runs();
    match (figure.per_request(), figure.spread()) {
        // One measurement has no spread to show.
        (Some(value), Some(_)) if runs.len() == 1 => number(value, decimals),
        (Some(value), Some(_)) if value.abs() < 0.05 => {
            let low = runs.iter().copied().fold(f64::INFINITY, f64::min);
            let high = runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!(
                "{} (range {:.3})",
                number(value.abs(), decimals),
                high - low
            )
        }
        (Some(value), Some(spread)) => {
            format!("{} ({:.2} %)", number(value, decimals), spread * 100.0)
        }
        _ => "n/a".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::marginal::{Marginal, Sample};

    fn measured(values: &[(u64, u64)]) -> Figure {
        Figure::Measured(
            values
                .iter()
                .map(|&(low, high)| {
                    Marginal::new(
                        Sample {
                            requests: 1000,
                            count: low,
                        },
                        Sample {
                            requests: 3000,
                            count: high,
                        },
                    )
                    .unwrap()
                })
                .collect(),
        )
    }

    #[test]
    fn cells_show_the_mean_and_the_spread_or_na() {
        let figure = measured(&[(1_000_000, 21_406_000), (1_000_000, 21_380_002)]);
        assert_eq!(cell(&figure, 0), "10,197 (0.13 %)");
        assert_eq!(
            cell(&measured(&[(8_000, 24_000), (8_000, 24_000)]), 2),
            "8.00 (0.00 %)"
        );
        assert_eq!(cell(&measured(&[(8_000, 24_000)]), 2), "8.00", "once");
        assert_eq!(cell(&Figure::Unavailable("no valgrind".into()), 0), "n/a");
        // No allocation per request, one run a block short: the range, not a relative spread.
        assert_eq!(
            cell(&measured(&[(400, 400), (401, 399)]), 2),
            "0.00 (range 0.001)"
        );
        assert_eq!(number(1234.5678, 2), "1,234.57");
    }

    #[test]
    fn the_chart_has_a_bar_group_per_scenario() {
        use crate::results::cost::{CostSettings, ServerCost, Tools};
        let result = |scenario: &str, figure: Figure| CostResult {
            scenario: scenario.to_owned(),
            label: scenario.to_owned(),
            instructions: figure,
            allocations: Figure::Unavailable("n/a".into()),
            bytes_allocated: Figure::Unavailable("n/a".into()),
            syscalls: Figure::Unavailable("n/a".into()),
            context_switches: Figure::Unavailable("n/a".into()),
            syscalls_by_kind: Vec::new(),
            with_runtime: None,
        };
        let mut go = result("json", measured(&[(0, 38_600_000), (0, 38_640_000)]));
        go.allocations = measured(&[(0, 26_000), (0, 26_000)]);
        go.with_runtime = Some(crate::results::cost::WithRuntime {
            instructions: measured(&[(0, 50_000_000), (0, 54_000_000)]),
            allocations: measured(&[(0, 26_400), (0, 26_600)]),
        });
        let table = CostTable {
            started_at: "2026-11-25T15:00:00Z".into(),
            command: "loadgen cost".into(),
            settings: CostSettings {
                callgrind_requests: [1000, 3000].into(),
                dhat_requests: [1000, 3000].into(),
                load_requests: [20_000, 60_000].into(),
                connections: 64,
                warmup_requests: 100,
                repeat: 2,
                server_threads: 1,
                cpus: crate::machine::CpuSplit::halves(&[0, 1]),
            },
            tools: Tools {
                valgrind: ToolStatus::Available("valgrind-3.19.0".into()),
                perf_events: ToolStatus::Missing("no".into()),
            },
            servers: vec![
                ServerCost {
                    server: "hyper".into(),
                    binary: "server-hyper".into(),
                    results: vec![
                        result("json", measured(&[(0, 20_406_000), (0, 20_380_002)])),
                        result("error", Figure::Unavailable("io_uring".into())),
                    ],
                    notes: vec!["callgrind: io_uring".into()],
                },
                ServerCost {
                    server: "go-gin".into(),
                    binary: "server-go-gin".into(),
                    results: vec![go],
                    notes: Vec::new(),
                },
            ],
            seconds: 1.0,
            partial: false,
        };
        let svg = String::from_utf8(CostSvg.render(&table).unwrap()).unwrap();
        assert!(svg.contains("<svg") && svg.contains("json") && svg.contains("error"));
        let text = markdown(&table);
        assert!(text.contains("| hyper | 10,197 (0.13 %) | n/a |"), "{text}");
        assert!(text.contains("perf events: **missing**: no"), "{text}");
        assert!(text.contains("- hyper: callgrind: io_uring"), "{text}");
        // The Go server's runtime share: its counts with the runtime, less the ranked ones
        // (26,000 - 19,310 instructions, 13.25 - 13.00 allocations per request).
        assert!(text.contains("## The Go runtime's share"), "{text}");
        assert!(
            text.contains("| go-gin | json | 26,000 (7.69 %) | 6,690 | 13.25 (0.75 %) | 0.25 |"),
            "{text}"
        );
        assert!(!text.contains("| hyper | json | "), "{text}");
        // No database scenario, no word on the database's backends; with one, the method says
        // what was done with them.
        assert!(!text.contains("SCHED_IDLE"), "{text}");
        let mut table = table;
        table.servers[0]
            .results
            .push(result("db", measured(&[(0, 60_000_000), (0, 60_100_000)])));
        let text = markdown(&table);
        assert!(text.contains("at the idle policy (`SCHED_IDLE`)"), "{text}");
    }
}
