//! The generated parts of the README and of `docs/`, so that no table there is a hand copy that
//! can drift from what it copies.
//!
//! A generated block is every line between `<!-- generated: KIND SOURCE -->` and
//! `<!-- end generated -->`. KIND says what to make and SOURCE, a path from the workspace root,
//! what from: the server table from `contract::SERVERS`, a reference run's tables from its
//! `run.json`, the cost table of a `loadgen cost` run from its `cost.json`. `loadgen docs` writes
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

use crate::analysis::{self, Comparison, Status};
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
        "{doc}:{line}: `{text}` is not `{BEGIN}KIND SOURCE -->` with KIND one of servers-rust, servers-go, tuning, headline, results, cost-samples"
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
}

impl Kind {
    /// Every kind, in the order of the error message.
    pub const ALL: [Kind; 6] = [
        Kind::ServersRust,
        Kind::ServersGo,
        Kind::Tuning,
        Kind::Headline,
        Kind::Results,
        Kind::CostSamples,
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
    })
}

fn comparison(root: &Path, source: &str) -> Result<Comparison, DocsError> {
    Ok(analysis::analyze(report::read_run(&root.join(source))?))
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
