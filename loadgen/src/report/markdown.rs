//! `summary.md`: the table a person reads first, servers as rows and scenarios as columns, with
//! the machine, the settings and the flags explained.

use std::fmt::Write as _;

use super::{Export, ReportError, format_latency};
use crate::compare::results::{ComparisonRun, NOISY_CV, ScenarioResult, Status};
use crate::summary::group;

/// `summary.md`.
#[derive(Debug, Clone, Copy)]
pub struct Markdown;

impl Export for Markdown {
    fn file_name(&self) -> String {
        "summary.md".to_owned()
    }

    fn render(&self, run: &ComparisonRun) -> Result<Vec<u8>, ReportError> {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# http-rosetta comparison, {} on {}\n",
            run.started_at, run.environment.hostname
        );
        if run.partial {
            let _ = writeln!(
                out,
                "**Partial run**: it was stopped early; what was measured is below.\n"
            );
        }
        out.push_str(&machine_paragraph(run));
        out.push('\n');
        out.push_str(&headline_table(run));
        out.push('\n');
        let _ = writeln!(out, "## Server CPU per request and memory\n");
        out.push_str(&cpu_table(run));
        let failures: Vec<String> = run
            .failure_lines()
            .into_iter()
            .map(|line| format!("- {line}"))
            .collect();
        if !failures.is_empty() {
            let _ = writeln!(out, "\n## What went wrong\n\n{}", failures.join("\n"));
        }
        Ok(out.into_bytes())
    }
}

/// Server CPU time per answer per scenario, and peak memory: figures that do not depend on
/// whether the load generator could saturate the server.
pub fn cpu_table(run: &ComparisonRun) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Server CPU time per answer (µs, all rounds; lower is better) and peak resident memory. \
         Unlike throughput, these do not depend on whether the load generator kept the server busy.\n"
    );
    let scenarios = scenario_names(run);
    let _ = writeln!(out, "| server | {} | peak RSS |", scenarios.join(" | "));
    let _ = writeln!(out, "|---|{}---:|", "---:|".repeat(scenarios.len()));
    for server in &run.servers {
        let cells: Vec<String> = server
            .scenarios
            .iter()
            .map(|s| {
                if s.status == Status::Failed {
                    "–".into()
                } else {
                    format!("{:.1}", s.server_cpu_us_per_req)
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} MiB |",
            server.name,
            cells.join(" | "),
            server.rss_peak_kib / 1024
        );
    }
    out
}

/// The machine, the settings and how noisy the run was, as one paragraph.
pub fn machine_paragraph(run: &ComparisonRun) -> String {
    let env = &run.environment;
    let s = &run.settings;
    let results: Vec<&ScenarioResult> = run
        .servers
        .iter()
        .flat_map(|server| &server.scenarios)
        .filter(|r| r.status != Status::Failed)
        .collect();
    let noisy = results.iter().filter(|r| r.noisy).count();
    let max_cv = results.iter().map(|r| r.cv).fold(0.0, f64::max);
    format!(
        "Measured on {} ({} CPUs, Linux {}), {}, commit `{}`. Each server ran pinned to CPU {:?} with `--threads {}`; \
         the load generator ({} engine, {} load thread{}) ran pinned to CPU {:?}{}. {} connections, {} s per load after {} s of warmup, \
         {} round{}, servers in a fresh random order each round. {} of {} results were noisy (throughput CV over {:.0} % across rounds); \
         the largest CV was {:.1} %.\n\nCommand: `{}`\n",
        env.cpu_model,
        env.cores,
        env.kernel,
        env.rustc,
        env.git_commit,
        s.cpus.server,
        s.server_threads,
        s.engine,
        s.client_threads,
        if s.client_threads == 1 { "" } else { "s" },
        s.cpus.client,
        if s.cpus.pinned {
            ""
        } else {
            " (not pinned apart: one CPU)"
        },
        s.connections,
        s.duration_s,
        s.scenario_warmup_s,
        s.rounds,
        if s.rounds == 1 { "" } else { "s" },
        noisy,
        results.len(),
        NOISY_CV * 100.0,
        max_cv * 100.0,
        run.command,
    )
}

fn scenario_names(run: &ComparisonRun) -> Vec<String> {
    run.settings.scenarios.clone()
}

/// Servers as rows, scenarios as columns: median req/s and p99 latency, flags marked, with the
/// legend. The README's headline table is this, generated from the reference run.
pub fn headline_table(run: &ComparisonRun) -> String {
    let scenarios = scenario_names(run);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Median throughput over the rounds (req/s) and p99 latency of all rounds' answers:\n"
    );
    let _ = writeln!(out, "| server | {} |", scenarios.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(scenarios.len()));
    let mut flags_used = (false, false, false);
    for server in &run.servers {
        let cells: Vec<String> = server
            .scenarios
            .iter()
            .map(|s| {
                if s.status == Status::Failed {
                    flags_used.2 = true;
                    return "✗ failed".to_owned();
                }
                let mut flags = String::new();
                if s.client_bound {
                    flags.push_str(" ⚠");
                    flags_used.0 = true;
                }
                if s.noisy {
                    flags.push_str(" ~");
                    flags_used.1 = true;
                }
                format!(
                    "{}{flags}<br>p99 {}",
                    group(s.rps.round() as u64),
                    format_latency(s.latency_us.p99)
                )
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", server.name, cells.join(" | "));
    }
    let mut legend = Vec::new();
    if flags_used.0 {
        legend.push("⚠ client-bound: the load generator was saturated, so the figure is a lower bound for the server");
    }
    if flags_used.1 {
        legend.push(
            "~ noisy: the rounds' throughput varied by more than 5 % (coefficient of variation)",
        );
    }
    if flags_used.2 {
        legend.push("✗ failed: not measured (see what went wrong)");
    }
    if !legend.is_empty() {
        let _ = writeln!(out, "\n{}", legend.join(". ") + ".");
    }
    out
}
