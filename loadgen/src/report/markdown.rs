//! `summary.md`: what a person reads first. How noisy the machine was, the headline tables
//! (servers as rows, scenarios as columns, a table per figure: throughput and server CPU per
//! answer with their intervals, the open-loop p99 at a common rate), which differences are
//! real and which are ties (every pair folded away), the latency sweep, and what went wrong.

use std::fmt::Write as _;

use super::pairs::{cell_text, pair_rows};
use super::{Export, ReportError, cpu_text, memory_text};
use crate::analysis::{
    ALPHA, Change, Comparison, Metric, NOISE_THRESHOLD, NOISY_HALF_WIDTH, NOISY_OTHER_CPUS,
    NOISY_ROUND_SPREAD, NOISY_SPEED_SPREAD, NOISY_STEAL, Ranking, ScenarioResult, Status, Verdict,
};
use crate::format::{format_latency, group, plus_minus, short_rate};
use crate::remote::NOT_MEASURED_REMOTE;
use crate::strays::StrayServer;

/// `summary.md`.
#[derive(Debug, Clone, Copy)]
pub struct Markdown;

impl Export for Markdown {
    fn file_name(&self) -> String {
        "summary.md".to_owned()
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# http-rosetta comparison, {} on {}\n",
            run.record.started_at, run.record.environment.hostname
        );
        let _ = writeln!(out, "{}\n", noise_note(run));
        if run.record.partial {
            let _ = writeln!(
                out,
                "**Partial run**: it was stopped early; what was measured is below.\n"
            );
        }
        out.push_str(&machine_paragraph(run));
        out.push_str(&left_out_lines(run));
        out.push('\n');
        out.push_str(&headline_table(run));
        out.push('\n');
        out.push_str(&super::cost::markdown(run));
        let side_by_side = super::side_by_side::markdown(run);
        if !side_by_side.is_empty() {
            let _ = writeln!(out, "## Rust and Go side by side\n\n{side_by_side}");
        }
        if !run.changes.is_empty() {
            let _ = writeln!(out, "## What changed between builds\n");
            out.push_str(&changes_section(run));
            out.push('\n');
        }
        let _ = writeln!(out, "## Which differences are real\n");
        out.push_str(&rankings_section(run));
        if !run.record.sweeps.is_empty() {
            let _ = writeln!(out, "\n## Latency at the same load (open loop)\n");
            out.push_str(&sweep_section(run));
        }
        let _ = writeln!(out, "\n## Server CPU per answer and memory\n");
        out.push_str(&cpu_table(run));
        let database = super::database::markdown(run);
        if !database.is_empty() {
            let _ = write!(out, "\n{database}");
        }
        let idle = super::idle::markdown(run);
        if !idle.is_empty() {
            let _ = write!(out, "\n{idle}");
        }
        let failures: Vec<String> = run
            .failure_lines()
            .into_iter()
            .map(|line| format!("- {line}"))
            .collect();
        if !failures.is_empty() {
            let _ = writeln!(
                out,
                "\n## What went wrong\n\n{}\n\n{}",
                failures.join("\n"),
                stderr_pointers(run)
            );
        }
        Ok(out.into_bytes())
    }
}

/// One line per scenario the plan left out, with why: nothing is silently missing.
pub fn left_out_lines(run: &Comparison) -> String {
    run.record
        .settings
        .left_out
        .iter()
        .map(|l| format!("\n**{} left out**: {}.\n", l.scenario, l.why))
        .collect()
}

/// Where the stderr of each contender that had something go wrong is kept.
fn stderr_pointers(run: &Comparison) -> String {
    let logs: Vec<String> = run
        .contenders
        .iter()
        .filter(|c| c.status != Status::Ok)
        .filter_map(|c| {
            let log = run.record.contender(&c.label)?.stderr_log.as_deref()?;
            Some(format!("[{log}]({log})"))
        })
        .collect();
    if logs.is_empty() {
        String::new()
    } else {
        format!("The servers' own words are in {}.", logs.join(", "))
    }
}

/// `hyper over hyper@abc123: +4.1 % ±1.3 %, significant`, or `≈ (+0.4 % ±1.1 %)` for a change
/// within noise.
pub fn change_line(change: &Change) -> String {
    let r = &change.ratio;
    let half = if r.confidence > 0.0 {
        format!(" ±{:.1} %", (r.high - r.low) / 2.0 * 100.0)
    } else {
        String::new()
    };
    let figure = format!("{:+.1} %{half}", (r.median - 1.0) * 100.0);
    let verdict = match change.verdict() {
        Verdict::Better => format!("{figure}, significant (better)"),
        Verdict::Worse => format!("{figure}, significant (worse)"),
        Verdict::Tie => format!("≈ ({figure})"),
    };
    format!("{} over {}: {verdict}", change.newer, change.older)
}

/// For every server measured at two builds, each scenario and figure: what changed.
pub fn changes_section(run: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Two builds measured in the same rounds, paired by round: the median of the rounds' ratios with its 95 % interval, significant when the Wilcoxon signed-rank test says p < {ALPHA} and the change is at least {:.0} %. For CPU and latency, lower is better.\n",
        NOISE_THRESHOLD * 100.0
    );
    let _ = writeln!(out, "| scenario | figure | change |");
    let _ = writeln!(out, "|---|---|---|");
    for change in &run.changes {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            run.record.scenario_label(&change.scenario),
            change.figure.name(),
            change_line(change)
        );
    }
    out
}

/// One line on how quiet the machine was; a noisy one is said in bold, and so is each stray
/// server found before the run, with what to do about it.
pub fn noise_note(run: &Comparison) -> String {
    let n = &run.noise;
    let figures = format!(
        "the hypervisor stole {:.1} % of the CPU time (up to {:.1} % during one load), other processes kept {:.2} CPUs busy on average (up to {:.2}), the server CPU's speed varied by {:.0} % (a fixed piece of work timed before each load, p90 over p10), and the rounds of one server and scenario varied by {:.0} % (p90 over p10 of their throughputs, the median over all of them)",
        n.steal * 100.0,
        n.steal_max * 100.0,
        n.other_cpus,
        n.other_cpus_max,
        n.speed_spread * 100.0,
        n.round_spread * 100.0
    );
    let note = if n.noisy {
        format!(
            "**Noisy machine**: {figures}; the thresholds are {:.0} % steal, {:.2} CPUs, {:.0} % speed and {:.0} % between rounds. The intervals are wider and fewer differences are told apart than on a quiet machine.",
            NOISY_STEAL * 100.0,
            NOISY_OTHER_CPUS,
            NOISY_SPEED_SPREAD * 100.0,
            NOISY_ROUND_SPREAD * 100.0
        )
    } else {
        format!("Quiet machine: {figures}.")
    };
    match &run.record.stray_servers[..] {
        [] => note,
        strays => {
            let each: Vec<String> = strays.iter().map(StrayServer::advice).collect();
            format!(
                "{note} **{} stray server(s)** of this workspace were running on the servers' CPUs before the run: {}.",
                strays.len(),
                each.join("; ")
            )
        }
    }
}

/// Server CPU time per answer per scenario with its interval, and peak memory: figures that do
/// not depend on whether the load generator could saturate the server.
pub fn cpu_table(run: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Server CPU time per answer (µs, median of the rounds and its 95 % interval; lower is better) and peak resident memory. \
         Unlike throughput, these do not depend on whether the load generator kept the server busy.\n"
    );
    let labels = run.record.scenario_labels(&run.record.settings.scenarios);
    let _ = writeln!(out, "| server | {} | peak RSS |", labels.join(" | "));
    let _ = writeln!(out, "|---|{}---:|", "---:|".repeat(labels.len()));
    for server in &run.contenders {
        let cells: Vec<String> = server
            .scenarios
            .iter()
            .map(|s| {
                if s.status == Status::Failed {
                    "–".into()
                } else {
                    s.server_cpu_us.map_or_else(
                        || NOT_MEASURED_REMOTE.to_owned(),
                        |cpu| format!("{:.2} [{:.2}–{:.2}]", cpu.median, cpu.low, cpu.high),
                    )
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            server.label,
            cells.join(" | "),
            memory_text(server.rss_peak_kib)
        );
    }
    out
}

/// Where the database of the database scenarios ran, as a sentence of the machine paragraph
/// (empty without one).
fn database_sentence(s: &crate::results::CompareSettings) -> String {
    let Some(database) = &s.database else {
        return String::new();
    };
    let placement = match &database.cpus {
        Some(cpus) if s.cpus.pinned => {
            let list = crate::machine::cpu_list;
            let shares = if *cpus == list(&s.cpus.server) {
                "the servers' CPU, where it hurts the comparison least (docs/method.md, \
                 \"Where the database runs\")"
            } else if *cpus == list(&s.cpus.client) {
                "the load generator's CPU"
            } else {
                "a CPU of its own"
            };
            format!("pinned to CPU {cpus}, {shares}")
        }
        Some(cpus) => format!("pinned to CPU {cpus}"),
        None => "not pinned".to_owned(),
    };
    format!(
        " The database scenarios read a {}, {placement}.",
        database.source
    )
}

/// The machine, the settings and how sure the figures are, as one paragraph.
pub fn machine_paragraph(run: &Comparison) -> String {
    let env = &run.record.environment;
    let s = &run.record.settings;
    let cells: Vec<_> = run.cells().collect();
    let tight = cells
        .iter()
        .filter(|c| c.rps.relative_half_width() <= NOISY_HALF_WIDTH)
        .count();
    let sweep = if s.sweep_rounds > 0 && !s.rates.is_empty() {
        format!(
            " Then an open-loop sweep of {} at the same rates for every server ({}, of the slowest server's maximum where given as a share), {} s each, {} round{}.",
            s.sweep_scenarios.join(", "),
            s.rates.join(", "),
            s.sweep_duration_s,
            s.sweep_rounds,
            if s.sweep_rounds == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    let remote: Vec<String> = run
        .record
        .contenders
        .iter()
        .filter_map(|c| Some(format!("{} at {}", c.label, c.remote_url.as_deref()?)))
        .collect();
    let remote = if remote.is_empty() {
        String::new()
    } else {
        format!(
            " Remote servers ({}) already ran elsewhere: they were not started, nor restarted between rounds, nor pinned here, and their CPU time and memory are {NOT_MEASURED_REMOTE}.",
            remote.join(", ")
        )
    };
    let database = database_sentence(s);
    let counting = super::counting::sentence(run);
    format!(
        "Measured on {} ({} CPUs, Linux {}), {}, commit `{}`. Each server ran pinned to CPU {:?} with `--threads {}`; \
         the load generator ({} engine, {} load thread{}) ran pinned to CPU {:?}{}. {} connections; the pipelined scenario writes {} requests at a time. \
         {} closed-loop round{} of {} s per scenario after {} s of warmup, servers in a fresh random order each round.{database}{sweep}{remote}{counting} \
         {} of {} throughput figures have a 95 % interval within ±{:.0} % of their median.\n\nCommand: `{}`\n",
        env.cpu_model,
        env.cores,
        env.kernel,
        env.rustc,
        env.git_commit,
        s.cpus.server,
        s.server_threads,
        s.engine.name(),
        s.client_threads,
        if s.client_threads == 1 { "" } else { "s" },
        s.cpus.client,
        if s.cpus.pinned {
            ""
        } else {
            " (not pinned apart: one CPU)"
        },
        s.connections,
        s.pipeline_depth,
        s.rounds,
        if s.rounds == 1 { "" } else { "s" },
        s.duration_s,
        s.scenario_warmup_s,
        tight,
        cells.len(),
        NOISY_HALF_WIDTH * 100.0,
        run.record.command,
    )
}

/// Servers as rows, scenarios as columns, one table per figure: median req/s with its
/// interval, server CPU µs per answer, and the open-loop p99 at the scenario's common rate;
/// flags marked, with the legend. docs/results.md holds these tables of the reference run,
/// generated by `loadgen docs`.
pub fn headline_table(run: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Median throughput of the rounds (req/s) ± its 95 % interval, server CPU per answer, and the open-loop p99 latency at the rate named in the column, the same rate for every server:\n"
    );
    let mut flags = Flags::default();
    out.push_str(&throughput_table(run, &mut flags));
    out.push_str(&server_cpu_table(run));
    out.push_str(&latency_table(run, &mut flags));
    let legend = flags.legend();
    if !legend.is_empty() {
        let _ = writeln!(out, "\n{}", legend.join(". ") + ".");
    }
    out
}

/// The flags a headline table used, so that the legend explains those and no others.
#[derive(Debug, Default)]
struct Flags {
    client_bound: bool,
    noisy: bool,
    failed: bool,
    lagged: bool,
}

impl Flags {
    fn legend(&self) -> Vec<String> {
        let mut legend = Vec::new();
        if self.client_bound {
            legend.push("⚠ client-bound: the load generator was saturated, so the throughput is a lower bound for the server".to_owned());
        }
        if self.noisy {
            legend.push(format!(
                "~ noisy: the 95 % interval is wider than ±{:.0} % of the median",
                NOISY_HALF_WIDTH * 100.0
            ));
        }
        if self.failed {
            legend.push("✗ failed: not measured (see what went wrong)".to_owned());
        }
        if self.lagged {
            legend.push("⏱ the load generator fell behind its schedule at that rate, so the latency includes its own delay".to_owned());
        }
        legend
    }
}

/// A Markdown table: a header row and its alignment (the first column left, the others right),
/// then one row per server.
fn table(headers: &[String], rows: &[(String, Vec<String>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| server | {} |", headers.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(headers.len()));
    for (server, cells) in rows {
        let _ = writeln!(out, "| {server} | {} |", cells.join(" | "));
    }
    out
}

/// Each server's cells, one per scenario of the run; a failed scenario reads `✗ failed`.
fn rows(
    run: &Comparison,
    flags: &mut Flags,
    mut cell: impl FnMut(&ScenarioResult, &mut Flags) -> String,
) -> Vec<(String, Vec<String>)> {
    run.contenders
        .iter()
        .map(|server| {
            let cells = server
                .scenarios
                .iter()
                .map(|s| {
                    if s.status == Status::Failed {
                        flags.failed = true;
                        "✗ failed".to_owned()
                    } else {
                        cell(s, flags)
                    }
                })
                .collect();
            (server.label.clone(), cells)
        })
        .collect()
}

/// Median req/s ± its interval, with the client-bound and noisy flags.
fn throughput_table(run: &Comparison, flags: &mut Flags) -> String {
    let labels = run.record.scenario_labels(&run.record.settings.scenarios);
    let rows = rows(run, flags, |s, flags| {
        let mut marks = String::new();
        if s.client_bound {
            marks.push_str(" ⚠");
            flags.client_bound = true;
        }
        if s.noisy {
            marks.push_str(" ~");
            flags.noisy = true;
        }
        format!(
            "**{}** {}{marks}",
            group(s.rps.median.round() as u64),
            plus_minus(s.rps.relative_half_width())
        )
    });
    format!("**Throughput** (req/s)\n\n{}\n", table(&labels, &rows))
}

/// Server CPU per answer with its interval.
fn server_cpu_table(run: &Comparison) -> String {
    let labels = run.record.scenario_labels(&run.record.settings.scenarios);
    let rows = rows(run, &mut Flags::default(), |s, _| {
        cpu_text(s.server_cpu_us.as_ref())
    });
    format!("**Server CPU per answer**\n\n{}\n", table(&labels, &rows))
}

/// The open-loop p99 of each swept scenario at its common rate, named in the column; empty
/// when no scenario was swept.
fn latency_table(run: &Comparison, flags: &mut Flags) -> String {
    let swept: Vec<(usize, String)> = run
        .record
        .settings
        .scenarios
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let rate = run.record.sweep(s).and_then(|w| w.headline_rate())?;
            Some((
                i,
                format!(
                    "{} p99 @ {} req/s",
                    run.record.scenario_label(s),
                    short_rate(rate.rate)
                ),
            ))
        })
        .collect();
    if swept.is_empty() {
        return String::new();
    }
    let headers: Vec<String> = swept.iter().map(|(_, header)| header.clone()).collect();
    let rows: Vec<(String, Vec<String>)> = rows(run, flags, |s, flags| {
        run.headline_point(s).map_or_else(
            || "–".to_owned(),
            |point| {
                let lagged = if point.client_lagged {
                    flags.lagged = true;
                    " ⏱"
                } else {
                    ""
                };
                format!("{}{lagged}", format_latency(point.latency_us.p99))
            },
        )
    })
    .into_iter()
    .map(|(server, cells)| {
        let cells = swept.iter().map(|(i, _)| cells[*i].clone()).collect();
        (server, cells)
    })
    .collect();
    format!(
        "**Open-loop p99 latency** (the same rate for every server)\n\n{}",
        table(&headers, &rows)
    )
}

/// `hyper > actix-web ≈ axum > std`: best first; `>` where the two neighbours differ
/// significantly, `≈` where they tie.
pub fn ranking_line(ranking: &Ranking) -> String {
    let mut line = String::new();
    for (i, name) in ranking.order.iter().enumerate() {
        if i > 0 {
            let previous = &ranking.order[i - 1];
            let significant = ranking
                .pair(previous, name)
                .is_some_and(|p| p.difference.significant);
            line.push_str(if significant { " > " } else { " ≈ " });
        }
        line.push_str(name);
    }
    line
}

fn rankings_section(run: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Best first. `>`: the two neighbours differ (Wilcoxon signed-rank test on the rounds paired by round, which takes out what a round did to every server; p < {ALPHA}, and medians at least {:.0} % apart); `≈`: a tie, the gap is within the noise. \
         With {} round{} per server{}.\n",
        NOISE_THRESHOLD * 100.0,
        run.record.settings.rounds,
        if run.record.settings.rounds == 1 {
            ""
        } else {
            "s"
        },
        if run.record.settings.rounds < 4 {
            ", too few for any difference to be significant: every pair ties"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "| scenario | throughput | server CPU per answer |");
    let _ = writeln!(out, "|---|---|---|");
    for scenario in &run.record.settings.scenarios {
        let line = |metric| {
            run.ranking(scenario, metric)
                .map_or_else(|| "–".to_owned(), ranking_line)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            run.record.scenario_label(scenario),
            line(Metric::Throughput),
            line(Metric::ServerCpu)
        );
    }
    let latency = latency_rankings(run);
    if !latency.is_empty() {
        let _ = writeln!(
            out,
            "\nLatency at the common rate (open loop, from each request's due time): every server was loaded at the same rate once per round, in the round's order, so its percentiles pair by round as throughput does; same test, same tie rule.\n\n| scenario at the common rate | p50 | p90 | p99 |\n|---|---|---|---|"
        );
        for (scenario, [p50, p90, p99]) in latency {
            let _ = writeln!(out, "| {scenario} | {p50} | {p90} | {p99} |");
        }
    }
    out.push_str(&pairs_details(run));
    out
}

/// For each swept scenario with a ranking at its common rate: `plaintext at 23k req/s` and its
/// p50, p90 and p99 ranking lines (`–` where not ranked).
pub(super) fn latency_rankings(run: &Comparison) -> Vec<(String, [String; 3])> {
    run.record
        .sweeps
        .iter()
        .filter_map(|sweep| {
            let rate = sweep.headline_rate()?;
            let lines = Metric::LATENCIES.map(|metric| {
                run.ranking(&sweep.scenario, metric)
                    .map_or_else(|| "–".to_owned(), ranking_line)
            });
            lines.iter().any(|l| l != "–").then(|| {
                (
                    format!(
                        "{} at {} req/s",
                        run.record.scenario_label(&sweep.scenario),
                        short_rate(rate.rate)
                    ),
                    lines,
                )
            })
        })
        .collect()
}

/// Every pair of servers, every scenario: how far apart and whether it counts, folded away
/// (the same rows are in `pairs.csv`). Empty for two servers, whose one pair the rankings say.
fn pairs_details(run: &Comparison) -> String {
    if run.contenders.len() <= 2 {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n<details><summary>Every pair on throughput: the first server's median over the second's, `≈` for a tie (also in pairs.csv).</summary>\n"
    );
    let labels = run.record.scenario_labels(&run.record.settings.scenarios);
    let _ = writeln!(out, "| pair | {} |", labels.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(labels.len()));
    for row in pair_rows(run) {
        let cells: Vec<String> = row.cells.into_iter().map(cell_text).collect();
        let _ = writeln!(
            out,
            "| {} / {} | {} |",
            row.first,
            row.second,
            cells.join(" | ")
        );
    }
    out.push_str("\n</details>\n");
    out
}

fn sweep_section(run: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Every server was given the same rates, fixed from the slowest server's closed-loop maximum. Latency counts from each request's due time (coordinated omission corrected, as wrk2 does); \
         the send lag is how late the load generator sent requests after their due time. ⏱: it fell behind, so that point's latency includes its own delay.\n"
    );
    for sweep in &run.record.sweeps {
        let _ = writeln!(
            out,
            "### {}: slowest maximum {} req/s ({})\n",
            run.record.scenario_label(&sweep.scenario),
            group(sweep.slowest_rps.round() as u64),
            sweep.slowest_server
        );
        let _ = writeln!(
            out,
            "| server | rate | sent req/s | p50 | p90 | p99 | p99.9 | send lag p99 |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
        for server in &run.contenders {
            let Some(scenario) = server.scenario(&sweep.scenario) else {
                continue;
            };
            for rate in &sweep.rates {
                let Some(p) = scenario.sweep.iter().find(|p| p.label == rate.label) else {
                    continue;
                };
                let l = &p.latency_us;
                let _ = writeln!(
                    out,
                    "| {} | {} ({}) | {} | {} | {} | {} | {} | {}{} |",
                    server.label,
                    group(rate.rate.round() as u64),
                    rate.label,
                    group(p.achieved_rate.round() as u64),
                    format_latency(l.p50),
                    format_latency(l.p90),
                    format_latency(l.p99),
                    format_latency(l.p999),
                    p.send_lag_us
                        .map_or_else(|| "–".to_owned(), |lag| format_latency(lag.p99)),
                    if p.client_lagged { " ⏱" } else { "" }
                );
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Difference, Estimate, Figure};

    fn change(median: f64, half: f64, significant: bool, figure: Figure) -> Change {
        Change {
            server: "hyper".into(),
            newer: "hyper@HEAD".into(),
            older: "hyper@abc123".into(),
            scenario: "plaintext".into(),
            figure,
            ratio: Estimate {
                median,
                low: median - half,
                high: median + half,
                confidence: 0.95,
                samples: 10,
            },
            difference: Difference {
                ratio: median,
                p_value: if significant { 0.002 } else { 0.4 },
                paired: true,
                significant,
            },
        }
    }

    #[test]
    fn a_change_reads_with_its_interval_and_verdict() {
        assert_eq!(
            change_line(&change(1.041, 0.013, true, Figure::Throughput)),
            "hyper@HEAD over hyper@abc123: +4.1 % ±1.3 %, significant (better)"
        );
        assert_eq!(
            change_line(&change(1.041, 0.013, true, Figure::ServerCpu)),
            "hyper@HEAD over hyper@abc123: +4.1 % ±1.3 %, significant (worse)",
            "more CPU per answer is worse"
        );
        assert_eq!(
            change_line(&change(0.996, 0.011, false, Figure::Throughput)),
            "hyper@HEAD over hyper@abc123: ≈ (-0.4 % ±1.1 %)"
        );
    }

    #[test]
    fn the_headline_is_a_table_per_figure_without_line_breaks_in_cells() {
        let run = crate::report::page::tests::sample_run();
        let text = headline_table(&run);
        assert!(!text.contains("<br>"), "{text}");
        for title in [
            "**Throughput** (req/s)",
            "**Server CPU per answer**",
            "**Open-loop p99 latency**",
        ] {
            assert!(text.contains(title), "{title}: {text}");
        }
        assert!(text.contains("p99 @ "), "{text}");
        let rows = text.lines().filter(|l| l.starts_with("| ")).count();
        // A header and a row per server in each of the three tables.
        assert_eq!(rows, 3 * (1 + run.contenders.len()), "{text}");
        let summary = String::from_utf8(Markdown.render(&run).unwrap()).unwrap();
        assert!(
            summary.contains("<details><summary>Every pair"),
            "{summary}"
        );
    }
}
