//! The generated parts of the README and of `docs/`, so that no table there is a hand copy that
//! can drift from what it copies.
//!
//! A generated block is every line between `<!-- generated: KIND SOURCE -->` and
//! `<!-- end generated -->`. KIND says what to make and SOURCE, a path from the workspace root,
//! what from: the server table from `contract::SERVERS`, a reference run's tables from its
//! `run.json`, the cost table of a `loadgen cost` run from its `cost.json`, and the tables that
//! set several runs side by side from theirs (SOURCE: the folders, comma-separated). `loadgen docs` writes
//! every block again; `loadgen docs --check` only names the blocks that differ. The docs test
//! (`loadgen/tests/docs.rs`) asserts that the committed blocks are what [`regenerate`] makes.
//!
//! # Layout
//! [`regenerate`] finds the blocks of one document and [`render`] makes one; below them, one
//! function per KIND.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

use crate::analysis::{self, Comparison, Metric, Status};
use crate::format::{format_latency, group, plus_minus, short_rate};
use crate::report::{self, ReportError};

/// The line that opens a generated block, up to its KIND and SOURCE.
pub const BEGIN: &str = "<!-- generated: ";
/// The line that closes a generated block.
pub const END: &str = "<!-- end generated -->";
/// The source every block made from `contract::SERVERS` names: the crate that holds the table.
pub const CONTRACT_SOURCE: &str = "servers/contract";
/// The scenarios of the README's headline table, those of them that the run measured.
pub const HEADLINE_SCENARIOS: [&str; 5] = ["plaintext", "pipelined", "json", "db", "fortunes"];
/// The scenario whose server CPU and p99 the headline table quotes.
pub const HEADLINE_DETAIL: &str = "json";

/// What can go wrong while making the generated blocks.
#[derive(Debug, Error)]
pub enum DocsError {
    /// A document or a source cannot be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A block is opened and never closed.
    #[error("{doc}:{line}: a generated block without its `{END}` line")]
    Unclosed {
        /// The document.
        doc: String,
        /// Its opening line, from 1.
        line: usize,
    },
    /// A block's opening line is not `<!-- generated: KIND SOURCE -->` with a known KIND.
    #[error(
        "{doc}:{line}: `{text}` is not `{BEGIN}KIND SOURCE -->` with KIND one of servers-rust, servers-go, tuning, headline, results, cost-samples, sitting, cpu-intervals"
    )]
    Opening {
        /// The document.
        doc: String,
        /// The line, from 1.
        line: usize,
        /// What it says.
        text: String,
    },
    /// A block made from `contract::SERVERS` names another source.
    #[error(
        "{doc}:{line}: `{kind}` is made from `contract::SERVERS`: its source is `{CONTRACT_SOURCE}`, not `{named}`"
    )]
    ContractSource {
        /// The document.
        doc: String,
        /// The line, from 1.
        line: usize,
        /// The block's KIND.
        kind: &'static str,
        /// The source it names.
        named: String,
    },
    /// A `cost.json` lacks what its table needs.
    #[error("{path}: {reason}")]
    Cost {
        /// The file.
        path: String,
        /// What is missing.
        reason: String,
    },
    /// A run cannot be read or rendered.
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// What a generated block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The Rust servers of `contract::SERVERS`: folder, what it is built on, its counterpart in
    /// the Go article, its port.
    ServersRust,
    /// The Go servers of `contract::SERVERS`, with their Rust counterparts.
    ServersGo,
    /// One link per server to the "Tuning" section of its README.
    Tuning,
    /// A run's short headline table: throughput of three scenarios, server CPU, p99, memory.
    Headline,
    /// A run's full tables, as its `summary.md` has them: the machine, the headline table and
    /// the server CPU table.
    Results,
    /// A `loadgen cost` run of json and pipelined: each count of each of its two measurements.
    CostSamples,
    /// Runs of one sitting (SOURCE: their folders, comma-separated): how long each took, how
    /// many pairs each told apart per figure, and whether they agree on the pairs they call real.
    /// Its links are relative to `docs/`, where it belongs.
    Sitting,
    /// Runs (comma-separated) side by side: how wide the 95 % intervals of server CPU per
    /// answer are, and how the CPU was counted. Its links are relative to `docs/`.
    CpuIntervals,
}

impl Kind {
    /// Every kind, in the order of the error message.
    pub const ALL: [Kind; 8] = [
        Kind::ServersRust,
        Kind::ServersGo,
        Kind::Tuning,
        Kind::Headline,
        Kind::Results,
        Kind::CostSamples,
        Kind::Sitting,
        Kind::CpuIntervals,
    ];

    /// Its name in the opening line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ServersRust => "servers-rust",
            Kind::ServersGo => "servers-go",
            Kind::Tuning => "tuning",
            Kind::Headline => "headline",
            Kind::Results => "results",
            Kind::CostSamples => "cost-samples",
            Kind::Sitting => "sitting",
            Kind::CpuIntervals => "cpu-intervals",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    fn made_from_contract(self) -> bool {
        matches!(self, Kind::ServersRust | Kind::ServersGo | Kind::Tuning)
    }
}

/// One generated block of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// What it holds.
    pub kind: Kind,
    /// What it is made from: a path from the workspace root.
    pub source: String,
    /// Its opening line, from 1.
    pub line: usize,
}

/// The documents with generated blocks and checked figures: `README.md`, then every
/// `docs/*.md` by name.
pub fn documents(root: &Path) -> Result<Vec<PathBuf>, DocsError> {
    let docs = root.join("docs");
    let entries = std::fs::read_dir(&docs).map_err(|e| read_error(&docs, &e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| read_error(&docs, &e))?.path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files.sort();
    files.insert(0, root.join("README.md"));
    Ok(files)
}

/// The blocks of one document, `doc` naming it in errors.
pub fn blocks(doc: &str, text: &str) -> Result<Vec<Block>, DocsError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.trim() == END {
            open = None;
        } else if line.starts_with(BEGIN) {
            if let Some(block) = open {
                return Err(DocsError::Unclosed {
                    doc: doc.to_owned(),
                    line: block.line,
                });
            }
            let block = opening(doc, i + 1, line)?;
            found.push(block.clone());
            open = Some(block);
        }
    }
    match open {
        Some(block) => Err(DocsError::Unclosed {
            doc: doc.to_owned(),
            line: block.line,
        }),
        None => Ok(found),
    }
}

fn opening(doc: &str, line: usize, text: &str) -> Result<Block, DocsError> {
    let bad = || DocsError::Opening {
        doc: doc.to_owned(),
        line,
        text: text.to_owned(),
    };
    let inner = text
        .strip_prefix(BEGIN)
        .and_then(|t| t.trim_end().strip_suffix("-->"))
        .ok_or_else(bad)?;
    let mut words = inner.split_whitespace();
    let (Some(kind), Some(source), None) = (words.next(), words.next(), words.next()) else {
        return Err(bad());
    };
    let kind = Kind::parse(kind).ok_or_else(bad)?;
    if kind.made_from_contract() && source != CONTRACT_SOURCE {
        return Err(DocsError::ContractSource {
            doc: doc.to_owned(),
            line,
            kind: kind.name(),
            named: source.to_owned(),
        });
    }
    Ok(Block {
        kind,
        source: source.to_owned(),
        line,
    })
}

/// `text` with every generated block made again from its source under `root`; `doc` names the
/// document in errors.
pub fn regenerate(doc: &str, text: &str, root: &Path) -> Result<String, DocsError> {
    let blocks = blocks(doc, text)?;
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for (i, line) in text.lines().enumerate() {
        if skipping && line.trim() != END {
            continue;
        }
        skipping = false;
        out.push_str(line);
        out.push('\n');
        if let Some(block) = blocks.iter().find(|b| b.line == i + 1) {
            out.push_str(render(block.kind, &block.source, root)?.trim_end());
            out.push('\n');
            skipping = true;
        }
    }
    Ok(out)
}

/// What `loadgen docs` changed or, with `check`, would change: the documents whose generated
/// blocks are not what their sources make.
pub fn update(root: &Path, check: bool) -> Result<Vec<PathBuf>, DocsError> {
    let mut differ = Vec::new();
    for path in documents(root)? {
        let text = std::fs::read_to_string(&path).map_err(|e| read_error(&path, &e))?;
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let made = regenerate(&name, &text, root)?;
        if made != text {
            if !check {
                crate::output::OutputFile::check(&path, true)
                    .and_then(|file| file.write(made.as_bytes()))
                    .map_err(ReportError::from)?;
            }
            differ.push(path);
        }
    }
    Ok(differ)
}

/// One block's text.
pub fn render(kind: Kind, source: &str, root: &Path) -> Result<String, DocsError> {
    Ok(match kind {
        Kind::ServersRust => servers_rust(),
        Kind::ServersGo => servers_go(),
        Kind::Tuning => tuning_links(),
        Kind::Headline => headline(&comparison(root, source)?, source),
        Kind::Results => {
            let run = comparison(root, source)?;
            format!(
                "{}\n{}\n{}",
                report::machine_paragraph(&run),
                report::markdown_headline(&run),
                report::cpu_table(&run)
            )
        }
        Kind::CostSamples => cost_samples(&root.join(source).join("cost.json"))?,
        Kind::Sitting => sitting(root, &comparisons(root, source)?),
        Kind::CpuIntervals => cpu_intervals(&comparisons(root, source)?),
    })
}

fn comparison(root: &Path, source: &str) -> Result<Comparison, DocsError> {
    Ok(analysis::analyze(report::read_run(&root.join(source))?))
}

/// The runs of a comma-separated SOURCE, each with its folder.
fn comparisons(root: &Path, source: &str) -> Result<Vec<(String, Comparison)>, DocsError> {
    source
        .split(',')
        .map(|dir| Ok((dir.to_owned(), comparison(root, dir)?)))
        .collect()
}

fn read_error(path: &Path, error: &std::io::Error) -> DocsError {
    DocsError::Read {
        path: path.display().to_string(),
        reason: error.to_string(),
    }
}

fn servers_rust() -> String {
    let mut out = String::from(
        "| folder | built on | the Go article's counterpart | default port |\n|---|---|---|---:|\n",
    );
    for s in contract::SERVERS
        .iter()
        .filter(|s| s.build == contract::Build::Cargo)
    {
        let _ = writeln!(
            out,
            "| [servers/{0}](servers/{0}) | {1} | {2} | {3} |",
            s.name, s.built_on, s.go_counterpart, s.port
        );
    }
    out
}

fn servers_go() -> String {
    let mut out = String::from(
        "| folder | the article's way | built on | its Rust counterparts | default port |\n|---|---|---|---|---:|\n",
    );
    for s in contract::SERVERS
        .iter()
        .filter(|s| s.build == contract::Build::Go)
    {
        let counterparts: Vec<String> = s
            .rust_counterparts
            .iter()
            .map(|r| format!("[{r}](servers/{r})"))
            .collect();
        let _ = writeln!(
            out,
            "| [servers/{0}](servers/{0}) | {1} | {2} | {3} | {4} |",
            s.name,
            s.go_counterpart,
            s.built_on,
            counterparts.join(", "),
            s.port
        );
    }
    out
}

fn tuning_links() -> String {
    contract::SERVERS
        .iter()
        .map(|s| {
            format!(
                "- [{0}](../servers/{0}/README.md#tuning) ({1}): {2}\n",
                s.name,
                s.build.language(),
                s.built_on
            )
        })
        .collect()
}

/// The README's table: per server the throughput of [`HEADLINE_SCENARIOS`] with its interval
/// and flags, and for [`HEADLINE_DETAIL`] the server CPU per answer, the p99 at the common rate
/// and the peak memory.
fn headline(run: &Comparison, source: &str) -> String {
    let record = &run.record;
    let scenarios: Vec<&str> = HEADLINE_SCENARIOS
        .into_iter()
        .filter(|s| record.settings.scenarios.iter().any(|m| m == s))
        .collect();
    let detail = record
        .settings
        .scenarios
        .iter()
        .any(|s| s == HEADLINE_DETAIL)
        .then_some(HEADLINE_DETAIL);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "[{source}]({source}/summary.md), started {}: `{}`, {} rounds, on {} ({} CPUs). \
         Median req/s of the rounds ± its 95 % interval; ⚠ client-bound (a lower bound for the \
         server), ~ noisy (interval wider than ±3 %), ⏱ the load generator fell behind.\n",
        record.started_at,
        record.command,
        record.settings.rounds,
        record.environment.cpu_model,
        record.environment.cores,
    );
    let mut header: Vec<String> = scenarios
        .iter()
        .map(|s| format!("{} req/s", record.scenario_label(s)))
        .collect();
    if let Some(d) = detail {
        header.push(format!("server CPU per {d} answer"));
        if let Some(rate) = record.sweep(d).and_then(|w| w.headline_rate()) {
            header.push(format!("{d} p99 @ {} req/s", short_rate(rate.rate)));
        }
    }
    header.push("peak RSS".to_owned());
    let _ = writeln!(out, "| server | {} |", header.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(header.len()));
    for server in &run.contenders {
        let mut cells: Vec<String> = scenarios
            .iter()
            .map(|s| throughput_cell(server.scenario(s)))
            .collect();
        if let Some(d) = detail {
            let cell = server.scenario(d).filter(|c| c.status != Status::Failed);
            cells.push(cell.map_or_else(
                || "–".to_owned(),
                |c| report::cpu_text(c.server_cpu_us.as_ref()),
            ));
            if record.sweep(d).and_then(|w| w.headline_rate()).is_some() {
                cells.push(cell.and_then(|c| run.headline_point(c)).map_or_else(
                    || "–".to_owned(),
                    |p| {
                        let lagged = if p.client_lagged { " ⏱" } else { "" };
                        format!("{}{lagged}", format_latency(p.latency_us.p99))
                    },
                ));
            }
        }
        cells.push(report::memory_text(server.rss_peak_kib));
        let _ = writeln!(out, "| {} | {} |", server.label, cells.join(" | "));
    }
    out
}

fn throughput_cell(cell: Option<&analysis::ScenarioResult>) -> String {
    let Some(cell) = cell.filter(|c| c.status != Status::Failed) else {
        return "✗ failed".to_owned();
    };
    let mut flags = String::new();
    if cell.client_bound {
        flags.push_str(" ⚠");
    }
    if cell.noisy {
        flags.push_str(" ~");
    }
    format!(
        "{} {}{flags}",
        group(cell.rps.median.round() as u64),
        plus_minus(cell.rps.relative_half_width())
    )
}

/// The figures a sitting's runs are compared on: throughput, server CPU per answer, and the
/// open-loop percentiles at the common rate.
const SITTING_FIGURES: [Metric; 5] = [
    Metric::Throughput,
    Metric::ServerCpu,
    Metric::LatencyP50,
    Metric::LatencyP90,
    Metric::LatencyP99,
];

/// Whole seconds from `started` to `finished` (a run's `started_at` and `finished_at`); `None`
/// when either is not RFC 3339 or the end comes first.
pub fn seconds_between(started: &str, finished: &str) -> Option<u64> {
    let at = |t: &str| humantime::parse_rfc3339(t).ok();
    let (start, end) = (at(started)?, at(finished)?);
    end.duration_since(start).ok().map(|d| d.as_secs())
}

/// A run's folder as a link to its summary, from `docs/`.
fn run_link(dir: &str) -> String {
    let name = dir.rsplit('/').next().unwrap_or(dir);
    format!("[{name}](../{dir}/summary.md)")
}

/// The seconds of the build that a `compare` console shows: its cargo line `Finished … in
/// 1m 01s` (or `in 0.69s`); `None` without one.
pub fn build_seconds(log: &str) -> Option<u64> {
    let line = log
        .lines()
        .find(|l| l.trim_start().starts_with("Finished ") && l.contains(" in "))?;
    let took = line.rsplit(" in ").next()?.trim();
    let (m, s) = took.split_once('m').unwrap_or(("0", took));
    let s: f64 = s.trim().trim_end_matches('s').parse().ok()?;
    let m: u64 = m.parse().ok()?;
    Some(m * 60 + s.round() as u64)
}

/// Every pair of one figure that a run tells apart: (scenario, the two servers in name order)
/// and the better of the two.
fn real_pairs(run: &Comparison, metric: Metric) -> Vec<(Pair, String)> {
    run.rankings
        .iter()
        .filter(|r| r.metric == metric)
        .flat_map(|r| {
            r.pairs
                .iter()
                .filter(|p| p.difference.significant)
                .map(|p| {
                    let (a, b) = if p.better < p.worse {
                        (&p.better, &p.worse)
                    } else {
                        (&p.worse, &p.better)
                    };
                    ((r.scenario.clone(), a.clone(), b.clone()), p.better.clone())
                })
        })
        .collect()
}

/// How many pairs of one figure a run compared.
fn pair_count(run: &Comparison, metric: Metric) -> usize {
    run.rankings
        .iter()
        .filter(|r| r.metric == metric)
        .map(|r| r.pairs.len())
        .sum()
}

/// A sitting's runs: per run its length and noise and the pairs it told apart per figure; then,
/// per figure, the pairs told apart by any, by all, and by two in opposite orders.
fn sitting(root: &Path, runs: &[(String, Comparison)]) -> String {
    let mut out = String::new();
    let figures: Vec<String> = SITTING_FIGURES.iter().map(|m| figure_name(*m)).collect();
    let _ = writeln!(
        out,
        "| run | start to end | after the build | cost phase | steal, mean (most in one load) | loads measured again | pairs told apart: {} |",
        figures.join(" | ")
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|{}",
        "---:|".repeat(figures.len())
    );
    for (dir, run) in runs {
        let minutes = |s: u64| format!("{} min {} s", s / 60, s % 60);
        let total = seconds_between(&run.record.started_at, &run.record.finished_at);
        // The build is the cargo line of the run's console, saved beside it as compare.log.
        let build = std::fs::read_to_string(root.join(dir).join("compare.log"))
            .ok()
            .and_then(|log| build_seconds(&log));
        let after = total
            .zip(build)
            .and_then(|(t, b)| t.checked_sub(b))
            .map_or_else(|| "–".to_owned(), minutes);
        let length = total.map_or_else(|| "–".to_owned(), minutes);
        let cost = run
            .record
            .cost
            .as_ref()
            .map_or_else(|| "–".to_owned(), |c| format!("{:.0} s", c.seconds));
        let told: Vec<String> = SITTING_FIGURES
            .iter()
            .map(|&m| format!("{} of {}", real_pairs(run, m).len(), pair_count(run, m)))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {length} | {after} | {cost} | {:.1} % ({:.1} %) | {} | {} |",
            run_link(dir),
            run.noise.steal * 100.0,
            run.noise.steal_max * 100.0,
            run.record.measurements.repeats.len(),
            told.join(" | ")
        );
    }
    let _ = writeln!(
        out,
        "\n| figure | told apart by any run | by every run | by two runs in opposite orders |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for metric in SITTING_FIGURES {
        let each: Vec<_> = runs
            .iter()
            .map(|(_, run)| real_pairs(run, metric))
            .collect();
        let Agreement {
            any,
            every,
            opposite,
        } = Agreement::of(&each);
        let _ = writeln!(
            out,
            "| {} | {} | {every} | {opposite} |",
            figure_name(metric),
            any
        );
    }
    out
}

/// A pair of servers in one scenario, the names in order: (scenario, first, second).
type Pair = (String, String, String);

/// How the runs of a sitting agree on the pairs of one figure.
#[derive(Debug, PartialEq, Eq)]
struct Agreement {
    /// Pairs that at least one run told apart.
    any: usize,
    /// Pairs that every run told apart, in the same order.
    every: usize,
    /// Pairs that two runs told apart with a different server ahead.
    opposite: usize,
}

impl Agreement {
    /// `each` run's pairs told apart, each with the better of the two.
    fn of(each: &[Vec<(Pair, String)>]) -> Self {
        let mut any: Vec<&Pair> = each.iter().flatten().map(|(pair, _)| pair).collect();
        any.sort();
        any.dedup();
        let better = |pair: &Pair| -> Vec<&String> {
            each.iter()
                .filter_map(|run| run.iter().find(|(p, _)| p == pair).map(|(_, b)| b))
                .collect()
        };
        let verdicts: Vec<Vec<&String>> = any.iter().map(|pair| better(pair)).collect();
        let agree = |b: &Vec<&String>| b.windows(2).all(|w| w[0] == w[1]);
        Self {
            any: any.len(),
            every: verdicts
                .iter()
                .filter(|b| b.len() == each.len() && agree(b))
                .count(),
            opposite: verdicts.iter().filter(|b| !agree(b)).count(),
        }
    }
}

/// A figure's name in the sitting's tables.
fn figure_name(metric: Metric) -> String {
    match metric {
        Metric::Throughput => "throughput".to_owned(),
        Metric::ServerCpu => "server CPU".to_owned(),
        latency => format!("p{:.0}", latency.quantile().unwrap_or(0.0) * 100.0),
    }
}

/// Runs side by side: for each scenario they all measured, the median over the servers of the
/// half-width of server CPU per answer's 95 % interval, with the widest; and how CPU was
/// counted.
fn cpu_intervals(runs: &[(String, Comparison)]) -> String {
    let mut scenarios: Vec<String> = runs
        .first()
        .map(|(_, r)| r.record.settings.scenarios.clone())
        .unwrap_or_default();
    scenarios.retain(|s| {
        runs.iter()
            .all(|(_, r)| r.record.settings.scenarios.contains(s))
    });
    let mut out = String::new();
    let labels: Vec<String> = scenarios
        .iter()
        .map(|s| runs[0].1.record.scenario_label(s))
        .collect();
    let _ = writeln!(out, "| run | CPU counted by | {} |", labels.join(" | "));
    let _ = writeln!(out, "|---|---|{}", "---:|".repeat(labels.len()));
    for (dir, run) in runs {
        let cells: Vec<String> = scenarios
            .iter()
            .map(|s| {
                let mut widths: Vec<f64> = run
                    .contenders
                    .iter()
                    .filter_map(|c| c.scenario(s))
                    .filter(|c| c.status != Status::Failed)
                    .filter_map(|c| c.server_cpu_us.as_ref())
                    .map(|e| e.relative_half_width())
                    .collect();
                widths.sort_by(f64::total_cmp);
                match widths.last() {
                    Some(widest) => format!(
                        "{} (widest {})",
                        plus_minus(analysis::median(&widths)),
                        plus_minus(*widest)
                    ),
                    None => "–".to_owned(),
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            run_link(dir),
            report::cpu_methods(run),
            cells.join(" | ")
        );
    }
    out
}

/// The counts of json and pipelined of a `loadgen cost` run, each measurement apart
/// (`first / second`), as `cost.json` holds them.
fn cost_samples(path: &Path) -> Result<String, DocsError> {
    let text = std::fs::read_to_string(path).map_err(|e| read_error(path, &e))?;
    let cost: Value = serde_json::from_str(&text).map_err(|e| DocsError::Cost {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let missing = |what: String| DocsError::Cost {
        path: path.display().to_string(),
        reason: format!("no {what}"),
    };
    let servers = cost["servers"]
        .as_array()
        .ok_or_else(|| missing("servers".into()))?;
    // (scenario, count, decimals; None groups a whole number by thousands)
    let columns: [(&str, &str, Option<usize>); 7] = [
        ("json", "instructions", None),
        ("json", "allocations", Some(2)),
        ("json", "bytes_allocated", None),
        ("json", "syscalls", Some(2)),
        ("pipelined", "instructions", None),
        ("pipelined", "allocations", Some(2)),
        ("pipelined", "syscalls", Some(3)),
    ];
    let mut out = String::from(
        "| server | instructions | allocations | bytes | syscalls | pipelined instructions | pipelined allocations | pipelined syscalls |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for server in servers {
        let name = server["server"]
            .as_str()
            .ok_or_else(|| missing("server name".into()))?;
        let mut cells = Vec::new();
        for (scenario, count, decimals) in columns {
            let result = server["results"]
                .as_array()
                .and_then(|r| r.iter().find(|r| r["scenario"] == scenario))
                .ok_or_else(|| missing(format!("{scenario} of {name}")))?;
            let samples: Vec<f64> = result[count]["measured"]
                .as_array()
                .map(|m| m.iter().filter_map(|s| s["per_request"].as_f64()).collect())
                .unwrap_or_default();
            cells.push(if samples.is_empty() {
                "n/a".to_owned()
            } else {
                let each: Vec<String> = samples
                    .iter()
                    .map(|x| match decimals {
                        None => group(x.round().max(0.0) as u64),
                        Some(d) => format!("{x:.d$}"),
                    })
                    .collect();
                each.join(" / ")
            });
        }
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_is_read_from_cargos_finished_line() {
        let line = |took: &str| {
            format!(
                "   Compiling x\n    Finished `release` profile [optimized] target(s) in {took}\n"
            )
        };
        assert_eq!(build_seconds(&line("1m 01s")), Some(61));
        assert_eq!(build_seconds(&line("0.69s")), Some(1));
        assert_eq!(build_seconds(&line("41.20s")), Some(41));
        assert_eq!(build_seconds("Compiling x\n"), None);
        assert_eq!(build_seconds(&line("soon")), None);
    }

    #[test]
    fn runs_agree_on_a_pair_only_when_each_names_the_same_server_ahead() {
        let pair = |a: &str, b: &str| ("json".to_owned(), a.to_owned(), b.to_owned());
        let told = |a: &str, b: &str, better: &str| (pair(a, b), better.to_owned());
        let each = [
            vec![told("axum", "std", "axum"), told("hyper", "std", "hyper")],
            vec![told("axum", "std", "axum"), told("hyper", "std", "std")],
            vec![told("axum", "std", "axum"), told("go-gin", "std", "std")],
        ];
        assert_eq!(
            Agreement::of(&each),
            Agreement {
                any: 3,
                every: 1,
                opposite: 1
            }
        );
        assert_eq!(
            Agreement::of(&[Vec::new(), Vec::new()]),
            Agreement {
                any: 0,
                every: 0,
                opposite: 0
            }
        );
    }

    #[test]
    fn blocks_are_found_with_their_kind_and_source() {
        let text = "a\n<!-- generated: headline results/run -->\nold\n<!-- end generated -->\nb\n";
        let found = blocks("x.md", text).unwrap();
        assert_eq!(
            found,
            vec![Block {
                kind: Kind::Headline,
                source: "results/run".into(),
                line: 2
            }]
        );
    }

    #[test]
    fn a_bad_block_is_an_error_that_names_its_line() {
        let unclosed = blocks(
            "x.md",
            "a\n<!-- generated: servers-rust servers/contract -->\n",
        );
        assert!(
            matches!(unclosed, Err(DocsError::Unclosed { line: 2, .. })),
            "{unclosed:?}"
        );
        let unknown = blocks(
            "x.md",
            "<!-- generated: charts results/run -->\n<!-- end generated -->\n",
        );
        assert!(
            matches!(unknown, Err(DocsError::Opening { line: 1, .. })),
            "{unknown:?}"
        );
        let foreign = blocks(
            "x.md",
            "<!-- generated: servers-go results/run -->\n<!-- end generated -->\n",
        );
        assert!(
            matches!(foreign, Err(DocsError::ContractSource { line: 1, .. })),
            "{foreign:?}"
        );
    }

    #[test]
    fn regenerating_replaces_only_the_inside_of_a_block() {
        let text = "before\n<!-- generated: servers-go servers/contract -->\nstale\n<!-- end generated -->\nafter\n";
        let made = regenerate("x.md", text, Path::new(".")).unwrap();
        assert!(
            made.starts_with("before\n<!-- generated: servers-go servers/contract -->\n| folder |")
        );
        assert!(
            made.ends_with("\n<!-- end generated -->\nafter\n"),
            "{made}"
        );
        assert!(!made.contains("stale"));
        let rows = made
            .lines()
            .filter(|l| l.starts_with("| [servers/go-"))
            .count();
        let go = contract::SERVERS
            .iter()
            .filter(|s| s.build == contract::Build::Go)
            .count();
        assert_eq!(rows, go);
        // Made twice, the same: a committed block stays as it is.
        assert_eq!(regenerate("x.md", &made, Path::new(".")).unwrap(), made);
    }
}
