//! The README and `docs/` hold no link that points nowhere, no generated block that drifted from
//! its source, and no quoted figure that its committed source does not back.
//!
//! Figures: [`FIGURES`] lists, per document, the committed files a figure comes from and a
//! function that reads them and makes the exact text the document must quote. A figure that a
//! new run changes fails here by name; correct the text and its entry together (docs/testing.md).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use loadgen::analysis::{Comparison, analyze};
use loadgen::format::{format_latency, group, short_rate};
use serde_json::Value;

type Quote = Result<Vec<String>, String>;

/// A figure (or a few that belong together) quoted in a document.
struct Figure {
    /// The document, from the workspace root.
    doc: &'static str,
    /// The committed files it is read from, from the workspace root; the document names each
    /// (the file or its results folder).
    sources: &'static [&'static str],
    /// What it says, in brief, for the failure message.
    what: &'static str,
    /// The texts the document must contain, made from the sources.
    quote: fn() -> Quote,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("loadgen sits in the workspace root")
        .to_path_buf()
}

fn documents() -> Vec<(String, String)> {
    let root = root();
    loadgen::docs::documents(&root)
        .expect("README.md and docs/ can be listed")
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let name = path
                .strip_prefix(&root)
                .expect("the documents lie under the root")
                .display()
                .to_string();
            (name, text)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Links

/// Every `[text](target)` outside code, with its line: fenced blocks and inline code spans are
/// skipped, since a `](` there is code, not a link.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut fenced = false;
    // A code span may go on over a line break, but not over a blank line.
    let mut in_span = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if line.trim().is_empty() {
            in_span = false;
        }
        let mut outside_code = String::new();
        for (k, part) in line.split('`').enumerate() {
            if k > 0 {
                in_span = !in_span;
            }
            if !in_span {
                outside_code.push_str(part);
                outside_code.push(' ');
            }
        }
        let mut rest = outside_code.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            found.push((i + 1, after[..end].to_owned()));
            rest = &after[end..];
        }
    }
    found
}

/// GitHub's anchor of a heading: lower case, punctuation dropped but `-` and `_`, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings; a repeated heading gets `-1`, `-2`, … as on GitHub.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let base = slug(&heading.replace('`', ""));
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

fn broken_links(root: &Path, doc: &str, text: &str) -> Vec<String> {
    let mut broken = Vec::new();
    for (line, target) in links(text) {
        // A URL leaves the repository: not checked here.
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (target.as_str(), None),
        };
        if path.is_empty() {
            let anchor = anchor.unwrap_or_default();
            if !anchors(text).contains(anchor) {
                broken.push(format!(
                    "{doc}:{line}: `{target}`: no heading with that anchor here"
                ));
            }
            continue;
        }
        let file = root
            .join(doc)
            .parent()
            .expect("a document lies in a folder")
            .join(path);
        let Ok(file) = file.canonicalize() else {
            broken.push(format!("{doc}:{line}: `{target}`: no such file"));
            continue;
        };
        if !file.starts_with(root) {
            broken.push(format!("{doc}:{line}: `{target}` leaves the repository"));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        let heads = std::fs::read_to_string(&file)
            .map(|t| anchors(&t))
            .unwrap_or_default();
        if !heads.contains(anchor) {
            broken.push(format!(
                "{doc}:{line}: `{target}`: {} has no heading with the anchor `#{anchor}`",
                file.display()
            ));
        }
    }
    broken
}

#[test]
fn every_link_of_the_readme_and_docs_points_somewhere() {
    let root = root().canonicalize().unwrap();
    let docs = documents();
    assert!(docs.len() > 1, "docs/ holds no Markdown file");
    let broken: Vec<String> = docs
        .iter()
        .flat_map(|(doc, text)| broken_links(&root, doc, text))
        .collect();
    assert!(
        broken.is_empty(),
        "links that point nowhere:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_link_check_finds_a_missing_file_and_a_missing_anchor() {
    let root = root().canonicalize().unwrap();
    let text = "# Here\n[ok](#here) [gone](#nowhere) [file](docs/no-such.md) `[code](x.md)`\n\
                [readme](README.md#the-servers) [up](../../etc/passwd)\n";
    let broken = broken_links(&root, "README.md", text);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(broken[0].contains("#nowhere"), "{broken:#?}");
    assert!(broken[1].contains("docs/no-such.md"), "{broken:#?}");
    assert!(
        broken[2].contains("no such file") || broken[2].contains("leaves"),
        "{broken:#?}"
    );
    assert_eq!(
        slug("The servers' command line"),
        "the-servers-command-line"
    );
    assert_eq!(slug("Safe to expose?"), "safe-to-expose");
}

// ---------------------------------------------------------------------------------------------
// Generated blocks

#[test]
fn generated_blocks_are_what_their_sources_make_today() {
    let root = root();
    let mut blocks = 0;
    for (doc, text) in documents() {
        blocks += loadgen::docs::blocks(&doc, &text).unwrap().len();
        let made = loadgen::docs::regenerate(&doc, &text, &root).unwrap_or_else(|e| panic!("{e}"));
        if made != text {
            let first = made
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{doc}: a generated block differs from its source at line {} \
                 (run `cargo run --release -- docs`):\n  committed: {:?}\n  generated: {:?}",
                first + 1,
                text.lines().nth(first),
                made.lines().nth(first)
            );
        }
    }
    // The README's server tables and headline, the tuning links, the run's and the cost tables.
    assert!(blocks >= 6, "only {blocks} generated blocks");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for server in contract::SERVERS {
        assert!(
            readme.contains(&format!("| [servers/{0}](servers/{0}) |", server.name)),
            "the README's server table lacks {}",
            server.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Figures and their sources

const CALIBRATION: &str = "results/calibrate-2026-11-25-vm.txt";
/// The log lines of a `.ci/run` on a clean clone: each test binary's result and the wall clock.
const CI_RUN: &str = "results/ci-2026-12-03-vm.txt";
/// The first run with the database scenarios, not yet the reference.
const DATABASE_RUN: &str = "results/2026-12-03T15-33-55Z-vm/run.json";
const DB_ON_SERVER_CPU: &str = "results/2026-12-03-db-on-server-cpu-vm/run.json";
const DB_ON_CLIENT_CPU: &str = "results/2026-12-03-db-on-client-cpu-vm/run.json";
const REFERENCE: &str = "results/2026-12-04T12-20-14Z-vm";
const REFERENCE_RUN: &str = "results/2026-12-04T12-20-14Z-vm/run.json";
const REFERENCE_CSV: &str = "results/2026-12-04T12-20-14Z-vm/summary.csv";
const REFERENCE_MD: &str = "results/2026-12-04T12-20-14Z-vm/summary.md";
const TEN_MD: &str = "results/2026-11-22T06-35-35Z-vm/summary.md";
const TEN_CSV: &str = "results/2026-11-22T06-35-35Z-vm/summary.csv";
const ENGINE_H1_CSV: &str = "results/2026-11-25-engine-h1-vm/summary.csv";
const ENGINE_H1_MD: &str = "results/2026-11-25-engine-h1-vm/summary.md";
const ENGINE_REQWEST_CSV: &str = "results/2026-11-25-engine-reqwest-vm/summary.csv";
const ENGINE_REQWEST_MD: &str = "results/2026-11-25-engine-reqwest-vm/summary.md";
/// The console output of the reference run, whose cargo line says how long its build took.
const REFERENCE_LOG: &str = "results/2026-12-04T12-20-14Z-vm/compare.log";
/// The reference run's console, each line with the time it was printed (`12:27:59.387 …`).
const REFERENCE_TIMED_LOG: &str = "results/2026-12-04T12-20-14Z-vm/compare.timed.log";
const QUICK_RUN: &str = "results/2026-12-03-quick-sixteen-vm/run.json";
const QUICK_LOG: &str = "results/2026-12-03-quick-sixteen-vm/compare.log";
/// The reference before the last cuts of the default run (the sweep's and the native cost
/// samples' length), over the 15-minute budget.
const PREVIOUS_RUN: &str = "results/2026-12-03T19-13-13Z-vm/run.json";
const PREVIOUS_LOG: &str = "results/2026-12-03T19-13-13Z-vm/compare.log";
const PREVIOUS_MD: &str = "results/2026-12-03T19-13-13Z-vm/summary.md";
/// The reference before the database: eight scenarios, on a quieter machine.
const OLD_REFERENCE_RUN: &str = "results/2026-11-25T18-13-00Z-vm/run.json";
/// The default run with twelve scenarios, before five of them left the default.
const TWELVE_RUN: &str = "results/2026-12-03T18-37-52Z-vm/run.json";
const COST_SIXTEEN: &str = "results/cost-2026-11-25-sixteen-vm/cost.json";
/// The six Go servers' counts three times each, with compare's cost-phase samples, before and
/// after their ranked counts left the runtime's work out (issue 28, item 5).
const GO_BEFORE: &str = "results/cost-2026-12-04-go-before-vm/cost.json";
const GO_AFTER: &str = "results/cost-2026-12-04-go-after-vm/cost.json";
/// The six Go servers three times each on json, pipelined, db and fortunes, with compare's
/// cost-phase samples, after the allocations were read without callgrind's recursion suffix.
const GO_FIXED: &str = "results/cost-2026-12-04-go-fixed-vm/cost.json";
/// The same, after the ranked count left out the heap's fresh pages and the assertion caches'
/// misses and fills, and the database's backends were made to wait for the server.
const GO_DAY1: &str = "results/cost-2026-12-04-go-day1-vm/cost.json";
/// The same on a quiet machine, before the assertion caches' fills left the allocations.
const GO_EXACT: &str = "results/cost-2026-12-04-go-exact-vm/cost.json";
/// The same command as [`GO_DAY1`] on the next day, the same binaries, a quiet machine.
const GO_DAY2: &str = "results/cost-2026-12-05-go-day2-vm/cost.json";
/// Four servers' db cells three times each, the database's backends left as they are (run by
/// a loadgen built with the callgrind change above but before the backends were moved), and
/// then moved onto the server's CPU at the idle policy.
const DB_RACE: &str = "results/cost-2026-12-04-db-race-vm/cost.json";
const DB_YIELD: &str = "results/cost-2026-12-04-db-yield-vm/cost.json";
/// Two default runs after the budget's trade (the cost phase's native samples halved), one
/// after the other, each with its console's build line.
const TRADED: [(&str, &str); 2] = [
    (
        "results/2026-12-04T22-50-32Z-vm/run.json",
        "results/2026-12-04T22-50-32Z-vm/compare.log",
    ),
    (
        "results/2026-12-04T23-04-28Z-vm/run.json",
        "results/2026-12-04T23-04-28Z-vm/compare.log",
    ),
];
/// Three default runs in one sitting (issue 28), each with its console's build line.
const SITTING: [(&str, &str); 3] = [
    (
        "results/2026-12-04T19-06-59Z-vm/run.json",
        "results/2026-12-04T19-06-59Z-vm/compare.log",
    ),
    (
        "results/2026-12-04T19-23-43Z-vm/run.json",
        "results/2026-12-04T19-23-43Z-vm/compare.log",
    ),
    (
        "results/2026-12-04T19-39-11Z-vm/run.json",
        "results/2026-12-04T19-39-11Z-vm/compare.log",
    ),
];
const TIMING_1: &str = "results/cost-phase-timing-2026-11-25T16-22Z-vm/cost.json";
const TIMING_2: &str = "results/cost-phase-timing-2026-11-25T16-24Z-vm/cost.json";

/// The four Go servers built on net/http, which flush each answer.
const NET_HTTP: [&str; 4] = ["go-nethttp", "go-handler", "go-echo", "go-gin"];

fn read(source: &str) -> Result<String, String> {
    std::fs::read_to_string(root().join(source)).map_err(|e| format!("{source}: {e}"))
}

fn json(source: &str) -> Result<Value, String> {
    serde_json::from_str(&read(source)?).map_err(|e| format!("{source}: {e}"))
}

/// A CSV file as rows of column → value (the committed summaries quote no commas).
fn csv(source: &str) -> Result<Vec<HashMap<String, String>>, String> {
    let text = read(source)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or(format!("{source}: empty"))?
        .split(',')
        .collect();
    Ok(lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| ((*h).to_owned(), v.to_owned()))
                .collect()
        })
        .collect())
}

fn cell<'a>(
    rows: &'a [HashMap<String, String>],
    server: &str,
    scenario: &str,
) -> Result<&'a HashMap<String, String>, String> {
    rows.iter()
        .find(|r| r["server"] == server && r["scenario"] == scenario)
        .ok_or(format!("no cell {server} / {scenario}"))
}

fn number(row: &HashMap<String, String>, column: &str) -> Result<f64, String> {
    row.get(column)
        .and_then(|v| v.parse().ok())
        .ok_or(format!("no number in column {column}"))
}

/// The reference run, analysed once for every figure that needs its analysis.
fn reference() -> Result<&'static Comparison, String> {
    static RUN: OnceLock<Result<Comparison, String>> = OnceLock::new();
    RUN.get_or_init(|| {
        loadgen::report::read_run(&root().join(REFERENCE))
            .map(analyze)
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The word after the first `marker` on the first line that holds `key` (and `marker`).
fn word_after(text: &str, key: &str, marker: &str) -> Result<String, String> {
    let line = text
        .lines()
        .find(|l| l.contains(key) && l.contains(marker))
        .ok_or(format!("no line with `{key}` and `{marker}`"))?;
    let at = line.find(marker).ok_or(format!("no `{marker}`"))?;
    let rest = &line[at + marker.len()..];
    rest.split_whitespace()
        .next()
        .map(|w| w.trim_end_matches([',', ';', ')']).to_owned())
        .ok_or(format!("nothing after `{marker}`"))
}

/// A ratio of the calibration: its median and each round's.
struct Ratio {
    median: f64,
    rounds: Vec<f64>,
}

impl Ratio {
    fn read(text: &str, server: &str, ratio: &str) -> Result<Ratio, String> {
        let key = format!("{server} {ratio} ");
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&key))
            .ok_or(format!("no ratio `{key}`"))?;
        let median = word_after(line, &key, "median ")?
            .parse()
            .map_err(|_| format!("no median in `{line}`"))?;
        let rounds = line[line.find("rounds:").ok_or("no rounds")? + 7..]
            .trim_end_matches(')')
            .split_whitespace()
            .map(|w| w.trim_end_matches(')').parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("`{line}`: {e}"))?;
        Ok(Ratio { median, rounds })
    }

    /// `1.03 (1.03, 1.31, 0.95)`.
    fn text(&self) -> String {
        let rounds: Vec<String> = self.rounds.iter().map(|r| format!("{r:.2}")).collect();
        format!("{:.2} ({})", self.median, rounds.join(", "))
    }
}

/// Each client's req/s and busy share in each round against `server`.
fn calibration_rounds(text: &str, server: &str) -> HashMap<String, Vec<(f64, f64)>> {
    let mut clients: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with(&format!("{server} round ")))
    {
        let Some((_, figures)) = line.split_once(": ") else {
            continue;
        };
        let words: Vec<&str> = figures.split_whitespace().collect();
        for triple in words.chunks(3) {
            if let [client, rps, busy] = triple {
                let busy = busy.trim_matches(['(', ')', '%']);
                if let (Ok(rps), Ok(busy)) = (rps.parse(), busy.parse()) {
                    clients
                        .entry((*client).to_owned())
                        .or_default()
                        .push((rps, busy));
                }
            }
        }
    }
    clients
}

fn range<I: IntoIterator<Item = f64>>(values: I) -> (f64, f64) {
    values
        .into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
}

fn calibration_ratio_table() -> Quote {
    let text = read(CALIBRATION)?;
    let rows = [
        ("h1 ÷ wrk", "h1/wrk"),
        ("h1 `--pipeline 16` ÷ wrk pipelined 16", "h1-p16/wrk-p16"),
        ("hyper engine ÷ wrk", "hyper/wrk"),
        ("reqwest engine ÷ oha", "reqwest/oha"),
        ("hyper engine ÷ oha", "hyper/oha"),
    ];
    rows.iter()
        .map(|(label, ratio)| {
            Ok(format!(
                "| {label} | {} | {} |",
                Ratio::read(&text, "server-hyper", ratio)?.text(),
                Ratio::read(&text, "server-tokio", ratio)?.text()
            ))
        })
        .collect()
}

fn calibration_pacing() -> Quote {
    let text = read(CALIBRATION)?;
    let slow = "2,000 req/s, 1 connection:";
    let corrected = word_after(&text, slow, "corrected p50 ")?;
    let uncorrected = word_after(&text, slow, "uncorrected p50 ")?;
    let closed = word_after(&text, slow, "closed-loop mean ")?;
    let fast = "20,000 req/s, 64 connections:";
    let sent: u64 = word_after(&text, fast, "sent ")?
        .parse()
        .map_err(|e| format!("sent: {e}"))?;
    Ok(vec![
        format!(
            "| {corrected} ÷ {uncorrected} µs = {} |",
            word_after(
                &text,
                "corrected/uncorrected p50",
                "corrected/uncorrected p50 "
            )?
        ),
        format!(
            "| {corrected} ÷ {closed} µs = {} |",
            word_after(&text, "closed mean", "corrected p50/closed mean ")?
        ),
        format!(
            "| {} µs (p50 {} µs), {} req/s sent |",
            word_after(&text, fast, "p99 ")?,
            word_after(&text, fast, "send lag p50 ")?,
            group(sent)
        ),
    ])
}

fn calibration_prose() -> Quote {
    let text = read(CALIBRATION)?;
    let both = ["server-hyper", "server-tokio"];
    let medians = |ratio: &str| -> Result<(f64, f64), String> {
        Ok(range(
            both.iter()
                .map(|s| Ratio::read(&text, s, ratio).map(|r| r.median))
                .collect::<Result<Vec<_>, _>>()?,
        ))
    };
    let (h1_lo, h1_hi) = medians("h1/wrk")?;
    let (reqwest_lo, reqwest_hi) = medians("reqwest/oha")?;
    let (hyper_lo, hyper_hi) = medians("hyper/oha")?;
    let piped = Ratio::read(&text, "server-tokio", "h1-p16/wrk-p16")?;
    if piped.median >= 1.0 {
        return Err(format!(
            "pipelined against server-tokio h1 is {:.2} of wrk: ahead",
            piped.median
        ));
    }
    let (piped_lo, piped_hi) = range(piped.rounds.iter().copied());
    let hyper = calibration_rounds(&text, "server-hyper");
    let tokio = calibration_rounds(&text, "server-tokio");
    let busy = |rounds: &HashMap<String, Vec<(f64, f64)>>, client: &str| -> Vec<f64> {
        rounds
            .get(client)
            .map(|r| r.iter().map(|x| x.1).collect())
            .unwrap_or_default()
    };
    let (plain_lo, plain_hi) = range(
        [&hyper, &tokio]
            .iter()
            .flat_map(|r| [busy(r, "wrk"), busy(r, "h1")].concat()),
    );
    let (piped_busy_lo, piped_busy_hi) =
        range([busy(&hyper, "wrk-p16"), busy(&hyper, "h1-p16")].concat());
    let spread = [&hyper, &tokio]
        .iter()
        .flat_map(|r| r.values())
        .map(|rounds| {
            let (lo, hi) = range(rounds.iter().map(|x| x.0));
            (hi / lo - 1.0) * 100.0
        })
        .fold(0.0, f64::max);
    Ok(vec![
        format!("the rounds differ by up to {spread:.0} %"),
        format!(
            "is {:.0}–{:.0} % ahead of it",
            (h1_lo - 1.0) * 100.0,
            (h1_hi - 1.0) * 100.0
        ),
        format!("h1 is not ahead: {:.2} of wrk", piped.median),
        format!(
            "The pipelined ratio on tokio, {:.2}, comes from rounds that range from {piped_lo:.2} to {piped_hi:.2}",
            piped.median
        ),
        format!("stays at {reqwest_lo:.2}–{reqwest_hi:.2} of oha"),
        format!("is {hyper_lo:.2}–{hyper_hi:.2}× oha"),
        format!("(both run {plain_lo:.0}–{plain_hi:.0} % busy)"),
        format!("neither client is fully busy ({piped_busy_lo:.0}–{piped_busy_hi:.0} %)"),
    ])
}

fn engines_against_the_calibration() -> Quote {
    let text = read(CALIBRATION)?;
    let both = |ratio: &str| -> Result<String, String> {
        let (lo, hi) = range(
            ["server-hyper", "server-tokio"]
                .iter()
                .map(|s| Ratio::read(&text, s, ratio).map(|r| r.median))
                .collect::<Result<Vec<_>, _>>()?,
        );
        Ok(format!("{lo:.2}–{hi:.2}"))
    };
    Ok(vec![format!(
        "it runs at {}× wrk, the hyper engine at {}× wrk and the reqwest engine at {}× oha",
        both("h1/wrk")?,
        both("hyper/wrk")?,
        both("reqwest/oha")?
    )])
}

/// How long CI took, and its slowest suites, from the seconds each test binary reports.
fn ci_time() -> Quote {
    let text = read(CI_RUN)?;
    let wall = word_after(&text, "Elapsed (wall clock)", "m:ss): ")?;
    let (minutes, seconds) = wall
        .split_once(':')
        .ok_or_else(|| format!("{CI_RUN}: wall clock `{wall}`"))?;
    let seconds = seconds.split('.').next().unwrap_or_default();
    let mut lines = text.lines();
    let mut took: HashMap<String, f64> = HashMap::new();
    while let Some(line) = lines.next() {
        let Some(binary) = line.trim().strip_prefix("Running ") else {
            continue;
        };
        let name = binary
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let result = lines.next().unwrap_or_default();
        let secs = result
            .rsplit("finished in ")
            .next()
            .and_then(|s| s.trim_end_matches('s').parse::<f64>().ok())
            .ok_or_else(|| format!("{CI_RUN}: no time after {name}"))?;
        *took.entry(name).or_default() += secs;
    }
    let of = |name: &str| took.get(name).copied().unwrap_or_default();
    let database = of("tests/database.rs") + of("tests/database_hostile.rs");
    let all: f64 = took.values().sum();
    Ok(vec![
        format!(
            "took {} min {} s",
            minutes.trim(),
            seconds.trim_start_matches('0')
        ),
        format!("(`hostile`, {:.1} min)", of("tests/hostile.rs") / 60.0),
        format!("`database_hostile`: {:.1} min together", database / 60.0),
        format!("ran {:.0} min", all / 60.0),
    ])
}

fn pacing_on_a_quiet_machine() -> Quote {
    let text = read(CALIBRATION)?;
    let sent: u64 = word_after(&text, "20,000 req/s, 64 connections:", "sent ")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    Ok(vec![format!(
        "the same pacing met {} µs at {} req/s",
        word_after(&text, "20,000 req/s, 64 connections:", "p99 ")?,
        group(sent)
    )])
}

fn client_bound_cells(rows: &[HashMap<String, String>]) -> (usize, Vec<String>) {
    let bound = rows.iter().filter(|r| r["client_bound"] == "true").count();
    let free = rows
        .iter()
        .filter(|r| r["client_bound"] != "true")
        .map(|r| format!("{} {}", r["server"], r["scenario"]))
        .collect();
    (bound, free)
}

/// A row of the "Which differences are real" table: the throughput and the CPU column.
fn ranking_row(summary: &str, scenario: &str) -> Result<(String, String), String> {
    let prefix = format!("| {scenario} | ");
    let line = summary
        .lines()
        .find(|l| l.starts_with(&prefix) && (l.contains(" ≈ ") || l.contains(" > ")))
        .ok_or(format!("no ranking row for {scenario}"))?;
    let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
    match &cells[..] {
        [_, throughput, cpu] => Ok(((*throughput).to_owned(), (*cpu).to_owned())),
        _ => Err(format!("`{line}` is not a ranking row")),
    }
}

/// The cells of the "Every pair on throughput" table told apart (not `≈`), and all of them.
fn pairs_told_apart(summary: &str) -> (usize, usize) {
    let mut apart = 0;
    let mut all = 0;
    let mut inside = false;
    for line in summary.lines() {
        if line.starts_with("| pair |") {
            inside = true;
            continue;
        }
        if inside && line.starts_with("|---") {
            continue;
        }
        if inside && line.starts_with("| ") {
            for cell in line.trim_matches('|').split(" | ").skip(1) {
                all += 1;
                if !cell.trim().starts_with('≈') {
                    apart += 1;
                }
            }
        } else if inside {
            break;
        }
    }
    (apart, all)
}

fn engine_table() -> Quote {
    let h1 = csv(ENGINE_H1_CSV)?;
    let reqwest = csv(ENGINE_REQWEST_CSV)?;
    let (h1_bound, h1_free) = client_bound_cells(&h1);
    let (reqwest_bound, reqwest_free) = client_bound_cells(&reqwest);
    let [h1_free_cell] = &h1_free[..] else {
        return Err(format!(
            "h1: not one cell free of the client but {h1_free:?}"
        ));
    };
    if !reqwest_free.is_empty() {
        return Err(format!(
            "reqwest: cells free of the client: {reqwest_free:?}"
        ));
    }
    let medians = |rows: &[HashMap<String, String>]| -> Result<String, String> {
        let mut plain: Vec<(f64, &str)> = rows
            .iter()
            .filter(|r| r["scenario"] == "plaintext")
            .map(|r| Ok((number(r, "rps")?, r["server"].as_str())))
            .collect::<Result<_, String>>()?;
        plain.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(plain
            .iter()
            .map(|(rps, s)| format!("{s} {}", short_rate(*rps)))
            .collect::<Vec<_>>()
            .join(", "))
    };
    let h1_md = read(ENGINE_H1_MD)?;
    let reqwest_md = read(ENGINE_REQWEST_MD)?;
    let (h1_plain, h1_plain_cpu) = ranking_row(&h1_md, "plaintext")?;
    let (h1_piped, _) = ranking_row(&h1_md, "pipelined ×16")?;
    let (h1_json, _) = ranking_row(&h1_md, "json")?;
    let (reqwest_plain, reqwest_plain_cpu) = ranking_row(&reqwest_md, "plaintext")?;
    let (reqwest_json, _) = ranking_row(&reqwest_md, "json")?;
    if reqwest_plain != reqwest_json {
        return Err("reqwest ranks plaintext and json differently".into());
    }
    let (h1_apart, h1_pairs) = pairs_told_apart(&h1_md);
    let (reqwest_apart, reqwest_pairs) = pairs_told_apart(&reqwest_md);
    let ratio = |server: &str| -> Result<String, String> {
        Ok(format!(
            "{server} {:.2}×",
            number(cell(&reqwest, server, "plaintext")?, "rps")?
                / number(cell(&h1, server, "plaintext")?, "rps")?
        ))
    };
    let (lo, hi) = range(h1.iter().chain(&reqwest).map(|r| {
        let (low, high, rps) = (
            number(r, "rps_low"),
            number(r, "rps_high"),
            number(r, "rps"),
        );
        match (low, high, rps) {
            (Ok(low), Ok(high), Ok(rps)) => (high - low) / 2.0 / rps * 100.0,
            _ => f64::NAN,
        }
    }));
    Ok(vec![
        format!("a noisy spell, with cells ±{lo:.0}–{hi:.0} %"),
        format!(
            "| client-bound cells | {h1_bound} of {} (all but {h1_free_cell}) | {reqwest_bound} of {} |",
            h1.len(),
            reqwest.len()
        ),
        format!(
            "| plaintext req/s, medians | {} | {} |",
            medians(&h1)?,
            medians(&reqwest)?
        ),
        format!(
            "| throughput, neighbours (best first) | plaintext `{h1_plain}`; pipelined `{h1_piped}`; json `{h1_json}` | plaintext and json `{reqwest_plain}` |"
        ),
        format!("| throughput, every pair | {h1_apart} of {h1_pairs} pairs told apart"),
        format!("| {reqwest_apart} of {reqwest_pairs}: std below axum on json |"),
        format!("| CPU per answer, plaintext | `{h1_plain_cpu}` | `{reqwest_plain_cpu}` |"),
        format!("({}, {})", ratio("tokio")?, ratio("hyper")?),
    ])
}

fn non_pipelined_client_bound() -> Quote {
    let rows = csv(REFERENCE_CSV)?;
    let plain: Vec<_> = rows.into_iter().filter(|r| r["pipeline"] == "1").collect();
    let (bound, _) = client_bound_cells(&plain);
    Ok(vec![format!(
        "{bound} of the {} non-pipelined cells of the comparison are client-bound",
        plain.len()
    )])
}

/// The per-request figure of each measurement of `count` in `scenario` of `server`.
fn samples(cost: &Value, server: &str, scenario: &str, count: &str) -> Result<Vec<f64>, String> {
    let server_entry = cost["servers"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["server"] == server))
        .ok_or(format!("no server {server}"))?;
    let result = server_entry["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["scenario"] == scenario))
        .ok_or(format!("no {scenario} of {server}"))?;
    let measured = result[count]["measured"]
        .as_array()
        .ok_or(format!("{count} of {server} {scenario} not measured"))?;
    Ok(measured
        .iter()
        .filter_map(|m| m["per_request"].as_f64())
        .collect())
}

fn mean(samples: &[f64]) -> f64 {
    samples.iter().sum::<f64>() / samples.len() as f64
}

/// `(max - min) / mean`, in per cent.
fn spread(samples: &[f64]) -> f64 {
    let (lo, hi) = range(samples.iter().copied());
    (hi - lo) / mean(samples) * 100.0
}

fn names(cost: &Value) -> Vec<String> {
    cost["servers"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|s| s["server"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn is_go(server: &str) -> bool {
    contract::server(server).is_some_and(|s| s.build == contract::Build::Go)
}

fn cost_repeatability() -> Quote {
    let cost = json(COST_SIXTEEN)?;
    let servers = names(&cost);
    let rust: Vec<&str> = servers
        .iter()
        .map(String::as_str)
        .filter(|s| !is_go(s))
        .collect();
    let go: Vec<&str> = servers
        .iter()
        .map(String::as_str)
        .filter(|s| is_go(s))
        .collect();
    // On json: the widest spread of the Rust servers' instructions, and of their bytes; and
    // their allocations, the same in both measurements.
    let mut widest = (0.0, String::new());
    let mut bytes = 0.0_f64;
    for server in &rust {
        if let Ok(s) = samples(&cost, server, "json", "instructions")
            && spread(&s) > widest.0
        {
            widest = (spread(&s), (*server).to_owned());
        }
        if let Ok(s) = samples(&cost, server, "json", "bytes_allocated") {
            bytes = bytes.max(spread(&s));
        }
        if let Ok(s) = samples(&cost, server, "json", "allocations") {
            let each: BTreeSet<String> = s.iter().map(|x| format!("{x:.2}")).collect();
            if each.len() != 1 {
                return Err(format!("{server}'s json allocations differ: {each:?}"));
            }
        }
    }
    let allocations = |server: &str| -> Result<String, String> {
        let s = samples(&cost, server, "json", "allocations")?;
        let each: BTreeSet<String> = s.iter().map(|x| format!("{x:.2}")).collect();
        match &each.into_iter().collect::<Vec<_>>()[..] {
            [one] => Ok(one.clone()),
            more => Err(format!("{server}'s allocations differ: {more:?}")),
        }
    };
    let mut go_spreads: Vec<(f64, &str, Vec<f64>)> = go
        .iter()
        .map(|s| samples(&cost, s, "json", "instructions").map(|x| (spread(&x), *s, x)))
        .collect::<Result<_, _>>()?;
    go_spreads.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (outlier_spread, outlier, outlier_samples) = go_spreads.pop().ok_or("no Go server")?;
    let (lo, hi) = range(go_spreads.iter().map(|g| g.0));
    let gin: Vec<String> = samples(&cost, "go-gin", "pipelined", "allocations")?
        .iter()
        .map(|x| format!("{x:.2}"))
        .collect();
    let grouped: Vec<String> = outlier_samples
        .iter()
        .map(|x| group(x.round() as u64))
        .collect();
    Ok(vec![
        format!(
            "all sixteen release servers, {:.0} s",
            cost["seconds"].as_f64().ok_or("no seconds")?
        ),
        format!(
            "on json: instructions within {:.2} % ({} the widest)",
            widest.0, widest.1
        ),
        format!("bytes within {bytes:.2} %"),
        format!(
            "actix-web shows {}, may-minihttp {}",
            allocations("actix-web")?,
            allocations("may-minihttp")?
        ),
        format!(
            "instructions repeat within {lo:.2}–{hi:.2} % on json but {outlier}'s are {outlier_spread:.1} % apart ({})",
            grouped.join(" and ")
        ),
        format!("go-gin's pipelined allocations are {}", gin.join(" and ")),
    ])
}

/// A row per Go server: how far apart its three measurements of instructions and allocations
/// per request were on json and pipelined, before and after.
fn go_counts_before_after() -> Quote {
    let (before, after) = (json(GO_BEFORE)?, json(GO_AFTER)?);
    let mut rows = Vec::new();
    for server in names(&after) {
        let mut cells = vec![server.clone()];
        for count in ["instructions", "allocations"] {
            for scenario in ["json", "pipelined"] {
                let apart = |cost: &Value| -> Result<String, String> {
                    let s = samples(cost, &server, scenario, count)?;
                    if s.len() != 3 {
                        return Err(format!("{server} {scenario} {count}: {s:?}"));
                    }
                    Ok(format!("{:.2} %", spread(&s)))
                };
                cells.push(format!("{} → {}", apart(&before)?, apart(&after)?));
            }
        }
        rows.push(format!("| {} |", cells.join(" | ")));
    }
    Ok(rows)
}

/// A row per Go server: how far apart its allocations per request were on each scenario of the
/// cost phase, in the three runs of the sitting (one measurement each) and then in three
/// measurements with the allocations read without callgrind's recursion suffix.
fn go_allocations_stale_frame() -> Quote {
    let sitting = SITTING
        .iter()
        .map(|(run, _)| Ok(json(run)?["cost"].clone()))
        .collect::<Result<Vec<Value>, String>>()?;
    let fixed = json(GO_FIXED)?;
    let mut rows = Vec::new();
    for server in names(&fixed) {
        let mut cells = vec![server.clone()];
        for scenario in ["json", "pipelined", "db", "fortunes"] {
            let mut before = Vec::new();
            for cost in &sitting {
                before.extend(samples(cost, &server, scenario, "allocations")?);
            }
            let after = samples(&fixed, &server, scenario, "allocations")?;
            if before.len() != 3 || after.len() != 3 {
                return Err(format!("{server} {scenario}: {before:?} and {after:?}"));
            }
            cells.push(format!(
                "{:.2} % → {:.2} %",
                spread(&before),
                spread(&after)
            ));
        }
        rows.push(format!("| {} |", cells.join(" | ")));
    }
    let mut gin = Vec::new();
    for cost in &sitting {
        gin.extend(samples(cost, "go-gin", "fortunes", "allocations")?);
    }
    let gin: Vec<String> = gin.iter().map(|a| format!("{a:.1}")).collect();
    if gin.len() != 3 {
        return Err(format!("go-gin fortunes in the sitting: {gin:?}"));
    }
    rows.push(format!(
        "go-gin's fortunes: {}, {} and {} a request",
        gin[0], gin[1], gin[2]
    ));
    Ok(rows)
}

/// A row per Go server: how far apart its instructions per request were on each scenario,
/// before and after the heap's fresh pages, the assertion caches' misses and the race with
/// the database left the count, and its allocations after; then the widest of each.
fn go_instructions_left_out() -> Quote {
    let before = json(GO_FIXED)?;
    let after = json(GO_DAY1)?;
    let scenarios = ["json", "pipelined", "db", "fortunes"];
    let mut rows = Vec::new();
    let (mut widest, mut widest_allocations) = (0.0_f64, 0.0_f64);
    for server in names(&after) {
        let mut cells = vec![server.clone()];
        for scenario in scenarios {
            let then = samples(&before, &server, scenario, "instructions")?;
            let now = samples(&after, &server, scenario, "instructions")?;
            let allocations = samples(&after, &server, scenario, "allocations")?;
            if then.len() != 3 || now.len() != 3 || allocations.len() != 3 {
                return Err(format!(
                    "{server} {scenario}: {then:?}, {now:?}, {allocations:?}"
                ));
            }
            widest = widest.max(spread(&now));
            widest_allocations = widest_allocations.max(spread(&allocations));
            cells.push(format!(
                "{:.2} % → {:.2} % | {:.2} %",
                spread(&then),
                spread(&now),
                spread(&allocations)
            ));
        }
        rows.push(format!("| {} |", cells.join(" | ")));
    }
    rows.push(format!(
        "instructions within {widest:.2} % in every cell, allocations within {widest_allocations:.2} %"
    ));
    let quiet = json(GO_EXACT)?;
    let mut widest_quiet = 0.0_f64;
    for server in names(&quiet) {
        for scenario in scenarios {
            widest_quiet =
                widest_quiet.max(spread(&samples(&quiet, &server, scenario, "instructions")?));
        }
    }
    rows.push(format!(
        "on a quiet machine, its instructions were within {widest_quiet:.2} % in every cell"
    ));
    Ok(rows)
}

/// A row per Go server: on each scenario, how far apart the instructions of the two quiet runs
/// of two days were (six measurements; the second day's mean against the first's in
/// brackets), and the allocations of the two runs with the same rules; then the widest.
fn go_across_days() -> Quote {
    let quiet = json(GO_EXACT)?;
    let first = json(GO_DAY1)?;
    let second = json(GO_DAY2)?;
    let mut rows = Vec::new();
    let (mut widest, mut widest_allocations, mut days_apart) = (0.0_f64, 0.0_f64, 0.0_f64);
    for server in names(&second) {
        let mut cells = vec![server.clone()];
        for scenario in ["json", "pipelined", "db", "fortunes"] {
            let then = samples(&quiet, &server, scenario, "instructions")?;
            let now = samples(&second, &server, scenario, "instructions")?;
            let mut allocations = samples(&first, &server, scenario, "allocations")?;
            allocations.extend(samples(&second, &server, scenario, "allocations")?);
            if then.len() != 3 || now.len() != 3 || allocations.len() != 6 {
                return Err(format!(
                    "{server} {scenario}: {then:?}, {now:?}, {allocations:?}"
                ));
            }
            let both: Vec<f64> = then.iter().chain(&now).copied().collect();
            widest = widest.max(spread(&both));
            days_apart = days_apart.max(((mean(&now) - mean(&then)) / mean(&then) * 100.0).abs());
            widest_allocations = widest_allocations.max(spread(&allocations));
            cells.push(format!(
                "{:.2} % ({:+.2} %) | {:.2} %",
                spread(&both),
                (mean(&now) - mean(&then)) / mean(&then) * 100.0,
                spread(&allocations)
            ));
        }
        rows.push(format!("| {} |", cells.join(" | ")));
    }
    rows.push(format!(
        "instructions within {widest:.2} % over the two days in every cell, allocations within {widest_allocations:.2} %"
    ));
    rows.push(format!("means are at most {days_apart:.2} % apart"));
    Ok(rows)
}

/// How far apart the cost phases of the two default runs after the budget's trade counted each
/// server and scenario (one measurement each): cells within 1 %, and the widest.
fn traded_cost_agreement() -> Quote {
    let first = json(TRADED[0].0)?["cost"].clone();
    let second = json(TRADED[1].0)?["cost"].clone();
    let mut lines = Vec::new();
    for count in ["instructions", "allocations"] {
        let (mut within, mut cells, mut go_within, mut go_cells) = (0, 0, 0, 0);
        let mut widest = (0.0_f64, String::new());
        for server in names(&first) {
            for scenario in ["json", "pipelined", "db", "fortunes"] {
                let (Ok(a), Ok(b)) = (
                    samples(&first, &server, scenario, count),
                    samples(&second, &server, scenario, count),
                ) else {
                    continue;
                };
                let both: Vec<f64> = a.iter().chain(&b).copied().collect();
                if both.len() != 2 {
                    continue;
                }
                // Two zeros (a server that does not allocate) are not apart.
                let apart = if both[0] == both[1] {
                    0.0
                } else {
                    spread(&both)
                };
                cells += 1;
                within += usize::from(apart <= 1.0);
                if is_go(&server) {
                    go_cells += 1;
                    go_within += usize::from(apart <= 1.0);
                }
                if apart > widest.0 {
                    widest = (apart, format!("{server} {scenario}"));
                }
            }
        }
        lines.push(format!(
            "{count} within 1 % in {within} of {cells} cells (the Go servers' {go_within} of {go_cells}; the widest {}, {:.2} %)",
            widest.1, widest.0
        ));
    }
    Ok(lines)
}

/// A row per server of the db cells measured with the database's backends left as they are
/// and then made to wait: instructions per request (mean of three) and how far apart.
fn db_backends_yield() -> Quote {
    let race = json(DB_RACE)?;
    let yielded = json(DB_YIELD)?;
    let mut rows = Vec::new();
    for server in names(&yielded) {
        let then = samples(&race, &server, "db", "instructions")?;
        let now = samples(&yielded, &server, "db", "instructions")?;
        if then.len() != 3 || now.len() != 3 {
            return Err(format!("{server}: {then:?} and {now:?}"));
        }
        rows.push(format!(
            "| {server} | {} ({:.2} %) | {} ({:.2} %) |",
            group(mean(&then).round() as u64),
            spread(&then),
            group(mean(&now).round() as u64),
            spread(&now)
        ));
    }
    Ok(rows)
}

fn cost_syscalls() -> Quote {
    let cost = json(COST_SIXTEEN)?;
    let servers = names(&cost);
    let all = |list: &[&str], scenario: &str| -> Result<Vec<f64>, String> {
        let mut out = Vec::new();
        for s in list {
            out.extend(samples(&cost, s, scenario, "syscalls")?);
        }
        Ok(out)
    };
    let epoll: Vec<&str> = servers
        .iter()
        .map(String::as_str)
        .filter(|s| !is_go(s) && !["ntex", "may-minihttp"].contains(s))
        .collect();
    let second_read: Vec<&str> = servers
        .iter()
        .map(String::as_str)
        .filter(|s| is_go(s) || *s == "may-minihttp")
        .collect();
    let batching: Vec<&str> = servers
        .iter()
        .map(String::as_str)
        .filter(|s| !NET_HTTP.contains(s) && !["rocket", "ntex"].contains(s))
        .collect();
    let (epoll_lo, epoll_hi) = range(all(&epoll, "json")?);
    let (read_lo, read_hi) = range(all(&second_read, "json")?);
    let ntex = samples(&cost, "ntex", "json", "syscalls")?;
    let ntex: BTreeSet<String> = ntex.iter().map(|x| format!("{x:.2}")).collect();
    let rocket = samples(&cost, "rocket", "pipelined", "syscalls")?;
    let rocket = rocket.iter().sum::<f64>() / rocket.len() as f64;
    let (net_lo, net_hi) = range(all(&NET_HTTP, "pipelined")?);
    let (batch_lo, batch_hi) = range(all(&batching, "pipelined")?);
    let json_spread = servers
        .iter()
        .filter_map(|s| samples(&cost, s, "json", "syscalls").ok())
        .map(|s| spread(&s))
        .fold(0.0, f64::max);
    let mut piped: Vec<(f64, &str, Vec<f64>)> = servers
        .iter()
        .filter(|s| s.as_str() != "ntex")
        .filter_map(|s| {
            samples(&cost, s, "pipelined", "syscalls")
                .ok()
                .map(|x| (spread(&x), s.as_str(), x))
        })
        .collect();
    piped.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (widest, widest_server, widest_samples) = piped.pop().ok_or("no pipelined syscalls")?;
    let ntex_piped: Vec<String> = samples(&cost, "ntex", "pipelined", "syscalls")?
        .iter()
        .map(|x| format!("{x:.3}"))
        .collect();
    let ntex: Vec<String> = ntex.into_iter().collect();
    let [ntex_json] = &ntex[..] else {
        return Err("ntex's json syscalls differ at two decimals".into());
    };
    let widest_samples: Vec<String> = widest_samples.iter().map(|x| format!("{x:.3}")).collect();
    Ok(vec![
        format!("json {epoll_lo:.1}–{epoll_hi:.1} per request for the Rust servers on epoll"),
        format!(
            "{read_lo:.1}–{read_hi:.1} for the Go ones (a second read that finds the socket empty) and may-minihttp, {ntex_json} for ntex"
        ),
        format!(
            "(Rocket {rocket:.2} syscalls per request, the net/http ones {net_lo:.2}–{net_hi:.2}) against {batch_lo:.2}–{batch_hi:.2} for the others but ntex"
        ),
        format!("They repeat within {json_spread:.0} % on json"),
        format!(
            "{widest_server}'s two measurements are {widest:.1} % apart ({}), and ntex's, near zero, are {}",
            widest_samples.join(" and "),
            ntex_piped.join(" and ")
        ),
    ])
}

fn seconds(source: &str, pointer: &str) -> Result<String, String> {
    let value = json(source)?;
    let s = value
        .pointer(pointer)
        .and_then(Value::as_f64)
        .ok_or(format!("{source}: no {pointer}"))?;
    Ok(format!("{s:.0} s"))
}

fn cost_phase_timings() -> Quote {
    Ok(vec![
        format!("took **{}**", seconds(REFERENCE_RUN, "/cost/seconds")?),
        format!(
            "took {}\n([cost-phase-timing-2026-11-25T16-22Z-vm]",
            seconds(TIMING_1, "/seconds")?
        ),
        format!(
            "and {}\n([cost-phase-timing-2026-11-25T16-24Z-vm]",
            seconds(TIMING_2, "/seconds")?
        ),
    ])
}

/// Seconds from `started_at` to `finished_at` of a run.
fn run_length(source: &str) -> Result<u64, String> {
    let run = json(source)?;
    let field = |name: &str| run[name].as_str().ok_or(format!("{source}: no {name}"));
    loadgen::docs::seconds_between(field("started_at")?, field("finished_at")?).ok_or(format!(
        "{source}: started_at and finished_at are not two RFC 3339 times in order"
    ))
}

fn minutes(seconds: u64) -> String {
    format!("{} min {} s", seconds / 60, seconds % 60)
}

fn reference_length() -> Quote {
    let length = Length::of(REFERENCE_RUN, REFERENCE_LOG)?;
    Ok(vec![
        format!(
            "It took **{}** from its start to its end",
            minutes(length.total)
        ),
        format!(
            "the build took {} of it, so **{}** after the build: {}",
            minutes(length.build),
            minutes(length.after),
            budget(length.after, 15 * 60, "the 15-minute budget")
        ),
        format!(
            "of which {} were the cost phase",
            seconds(REFERENCE_RUN, "/cost/seconds")?
        ),
    ])
}

/// Seconds since midnight of a timed log line's `12:27:59.387` prefix.
fn printed_at(line: &str) -> Option<f64> {
    let stamp = line.split_whitespace().next()?;
    let mut parts = stamp.split(':').map(str::parse::<f64>);
    let (h, m, s) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    Some(h * 3600.0 + m * 60.0 + s)
}

/// The reference run's phases from its timed console: the closed-loop rounds (first round to
/// first sweep line), the sweep (to the idle phase) and the idle phase (to the cost phase).
fn reference_phases() -> Quote {
    let text = read(REFERENCE_TIMED_LOG)?;
    let first = |marker: &str| {
        text.lines()
            .find(|l| l.contains(marker))
            .and_then(printed_at)
            .ok_or(format!("{REFERENCE_TIMED_LOG}: no line with `{marker}`"))
    };
    let rounds = first("closed loop round 1/")?;
    let sweep = first("sweep round 1/")?;
    let idle = first("idle phase:")?;
    let cost = first("cost phase:")?;
    let span = |from: f64, to: f64| minutes((to - from).round() as u64);
    Ok(vec![
        format!(
            "the closed-loop rounds took {}, the sweep {}, the idle phase {} s",
            span(rounds, sweep),
            span(sweep, idle),
            (cost - idle).round()
        ),
        format!("a round of sixteen took {} in", span(sweep, idle)),
    ])
}

fn earlier_references() -> Quote {
    let previous = Length::of(PREVIOUS_RUN, PREVIOUS_LOG)?;
    let summary = read(PREVIOUS_MD)?;
    Ok(vec![
        format!(
            "took {} from start to end, the build already done, {} of it the cost phase",
            minutes(run_length(OLD_REFERENCE_RUN)?),
            seconds(OLD_REFERENCE_RUN, "/cost/seconds")?
        ),
        format!(
            "the default with twelve scenarios, took {}",
            minutes(run_length(TWELVE_RUN)?)
        ),
        format!(
            "took {} from start to end, {} of it a build",
            minutes(previous.total),
            minutes(previous.build)
        ),
        format!(
            "so {} after the build, {}",
            minutes(previous.after),
            budget(previous.after, 15 * 60, "the budget")
        ),
        {
            let (average, most) = steal_of(&summary)?;
            format!(
                "(steal {average} %, up to {most} %) and measured {} loads again",
                measured_again(&summary).ok_or(format!("{PREVIOUS_MD}: no `{REPEATED}`"))?
            )
        },
    ])
}

/// Seconds of the build, from the cargo line `Finished … in 2m 37s` (or `in 41.20s`) of a log.
fn build_seconds(source: &str) -> Result<u64, String> {
    loadgen::docs::build_seconds(&read(source)?).ok_or(format!(
        "{source}: no cargo `Finished … in` line that reads as a time"
    ))
}

/// A run's length from start to end, its build's and what is left after the build.
struct Length {
    total: u64,
    build: u64,
    after: u64,
}

impl Length {
    fn of(run: &str, log: &str) -> Result<Length, String> {
        let total = run_length(run)?;
        let build = build_seconds(log)?;
        let after = total
            .checked_sub(build)
            .ok_or(format!("{log}: the build took longer than the run {run}"))?;
        Ok(Length {
            total,
            build,
            after,
        })
    }
}

/// `over the 15-minute budget` or `within the 15-minute budget`.
fn budget(seconds: u64, budget: u64, name: &str) -> String {
    let side = if seconds > budget { "over" } else { "within" };
    format!("{side} {name}")
}

/// How many of the sitting's runs took longer than the 15-minute budget after the build, and
/// the longest of them after the build, in seconds.
fn sitting_over_budget() -> Result<(usize, u64), String> {
    let mut over = 0;
    let mut longest = 0;
    for (run, log) in SITTING {
        let length = Length::of(run, log)?;
        over += usize::from(length.after > 15 * 60);
        longest = longest.max(length.after);
    }
    Ok((over, longest))
}

/// The README's word on the sitting beside the reference run's length.
fn readme_sitting() -> Quote {
    let (over, longest) = sitting_over_budget()?;
    Ok(vec![format!(
        "of three more default runs in one sitting, {over} went over, at {}",
        minutes(longest)
    )])
}

/// How many of the sitting's runs passed the budget after the build, and their cost phases
/// against the reference run's.
fn sitting_lengths() -> Quote {
    let (over, longest) = sitting_over_budget()?;
    let mut cost = Vec::new();
    for (run, _) in SITTING {
        let phase = seconds(run, "/cost/seconds")?;
        cost.push(
            phase
                .trim_end_matches(" s")
                .parse::<u64>()
                .map_err(|e| format!("{run}: {phase}: {e}"))?,
        );
    }
    let (low, high) = (cost.iter().min(), cost.iter().max());
    let (Some(low), Some(high)) = (low, high) else {
        return Err("no run in the sitting".into());
    };
    Ok(vec![
        format!(
            "{over} of the three took longer than the 15-minute budget after the build (the longest {})",
            minutes(longest)
        ),
        format!(
            "Their cost phases took {low}–{high} s, against {}",
            seconds(REFERENCE_RUN, "/cost/seconds")?
        ),
    ])
}

/// Seconds the cost phase's native counters took in the run of console `log`: from the cost
/// phase's first line to its first DHAT job, in the timed console beside it.
fn counters_seconds(log: &str) -> Result<u64, String> {
    let timed = log.replace("compare.log", "compare.timed.log");
    let text = read(&timed)?;
    let first = |marker: &str| {
        text.lines()
            .find(|l| l.contains(marker))
            .and_then(printed_at)
            .ok_or(format!("{timed}: no line with `{marker}`"))
    };
    Ok((first(": dhat")? - first("cost phase: counts")?).round() as u64)
}

/// The trade for the budget: how long the native counters took in the sitting and after the
/// trade, and how long the runs after it took after their builds.
fn budget_trade() -> Quote {
    let mut before = Vec::new();
    for (_, log) in SITTING {
        before.push(counters_seconds(log)?);
    }
    let (low, high) = (before.iter().min(), before.iter().max());
    let (Some(low), Some(high)) = (low, high) else {
        return Err("no run in the sitting".into());
    };
    let mut after = Vec::new();
    let mut after_seconds = Vec::new();
    let mut lengths = Vec::new();
    for (run, log) in TRADED {
        let seconds = counters_seconds(log)?;
        after_seconds.push(seconds);
        after.push(format!("{seconds} s"));
        let length = Length::of(run, log)?;
        lengths.push(format!(
            "{} ({})",
            minutes(length.after),
            budget(length.after, 15 * 60, "the budget")
        ));
    }
    let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len() as f64;
    let saved = (mean(&before) - mean(&after_seconds)).round() as u64;
    let (_, longest) = sitting_over_budget()?;
    let traded = longest.saturating_sub(saved);
    let side = if traded > 15 * 60 {
        format!("{} s over the budget", traded - 15 * 60)
    } else {
        format!("{} s within the budget", 15 * 60 - traded)
    };
    Ok(vec![
        format!(
            "The native counters took {low}–{high} s in the sitting, and {} in the two runs after the trade",
            after.join(" and ")
        ),
        format!(
            "the trade saves about {saved} s; after their builds: {}",
            lengths.join(" and ")
        ),
        format!(
            "brought its {} to about {}, {side}",
            minutes(longest),
            minutes(traded)
        ),
    ])
}

/// The README's word on the runs after the budget's trade.
fn readme_traded() -> Quote {
    let mut lengths = Vec::new();
    for (run, log) in TRADED {
        lengths.push(minutes(Length::of(run, log)?.after));
    }
    Ok(vec![format!(
        "two more runs took {} after the build",
        lengths.join(" and ")
    )])
}

fn readme_lengths() -> Quote {
    let full = Length::of(REFERENCE_RUN, REFERENCE_LOG)?;
    let quick = Length::of(QUICK_RUN, QUICK_LOG)?;
    Ok(vec![
        format!(
            "The comparison of all sixteen took {} on 2 cores, of which {} was the build: {} after it, {}",
            minutes(full.total),
            minutes(full.build),
            minutes(full.after),
            budget(full.after, 15 * 60, "the 15-minute budget")
        ),
        format!(
            "took {}, of which {} was the build: {} s after it, {}",
            minutes(quick.total),
            minutes(quick.build),
            quick.after,
            budget(quick.after, 90, "`--quick`'s 90 s")
        ),
    ])
}

fn round_spread(summary: &str) -> Result<String, String> {
    Ok(format!(
        "{} %",
        word_after(summary, "scenario varied by", "scenario varied by ")?
    ))
}

fn noise_first() -> Quote {
    let reference = read(REFERENCE_MD)?;
    let ten = read(TEN_MD)?;
    let now = number(cell(&csv(REFERENCE_CSV)?, "tokio", "plaintext")?, "rps")?;
    let then = number(cell(&csv(TEN_CSV)?, "tokio", "plaintext")?, "rps")?;
    Ok(vec![
        format!(
            "varied by {} (p90 over p10, the median cell), against {} in",
            round_spread(&reference)?,
            round_spread(&ten)?
        ),
        format!(
            "(tokio plaintext {} against {} req/s)",
            short_rate(now),
            short_rate(then)
        ),
        {
            let (apart, all) = pairs_told_apart(&reference);
            format!("{apart} of the {all} pairs of servers and scenarios are told apart")
        },
    ])
}

/// The steal of the summary's "Noisy machine" line: on average and at most, in one load.
fn steal() -> Result<String, String> {
    let (average, most) = steal_of(&read(REFERENCE_MD)?)?;
    Ok(format!(
        "the hypervisor stole {average} % of the CPU time, up to {most} % during one load"
    ))
}

/// The steal of a summary's "Noisy machine" line: on average, and at most in one load.
fn steal_of(summary: &str) -> Result<(String, String), String> {
    Ok((
        word_after(summary, "**Noisy machine**", "stole ")?,
        word_after(summary, "**Noisy machine**", "(up to ")?,
    ))
}

const REPEATED: &str = " closed-loop loads were measured again";

/// How many closed-loop loads a summary says were measured again (the word before
/// [`REPEATED`]).
fn measured_again(summary: &str) -> Option<&str> {
    let line = summary.lines().find(|l| l.contains(REPEATED))?;
    line[..line.find(REPEATED)?].split_whitespace().last()
}

fn reference_noise() -> Quote {
    let summary = read(REFERENCE_MD)?;
    Ok(vec![
        steal()?,
        format!(
            "{}{REPEATED}",
            measured_again(&summary).ok_or(format!("{REFERENCE_MD}: no `{REPEATED}`"))?
        ),
    ])
}

fn swings() -> Quote {
    Ok(vec![format!(
        "varied by {} in [the reference run]",
        round_spread(&read(REFERENCE_MD)?)?
    )])
}

/// `ties everything` for a ranking without a `>`, else `splits them into three groups`.
fn split(ranking: &str) -> String {
    const WORDS: [&str; 9] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    match ranking.matches(" > ").count() {
        0 => "ties everything".to_owned(),
        n => format!(
            "splits them into {} groups",
            WORDS.get(n).unwrap_or(&"many")
        ),
    }
}

fn what_still_separates() -> Quote {
    let summary = read(REFERENCE_MD)?;
    let (plain_rps, plain) = ranking_row(&summary, "plaintext")?;
    let (_, piped) = ranking_row(&summary, "pipelined ×16")?;
    let (_, json) = ranking_row(&summary, "json")?;
    let (queries_rps, queries) = ranking_row(&summary, "queries")?;
    Ok(vec![
        format!(
            "By server CPU per answer, pipelined ×16 {}, plaintext {}, json {}",
            split(&piped),
            split(&plain),
            split(&json)
        ),
        format!("pipelined `{piped}`; plaintext `{plain}`; json `{json}`."),
        format!(
            "twenty queries a request {}: queries `{queries}`.",
            split(&queries)
        ),
        format!(
            "By throughput, plaintext {} and queries {}",
            split(&plain_rps),
            split(&queries_rps)
        ),
    ])
}

/// `1` for a whole count, `1.02` otherwise.
fn count_text(x: f64) -> String {
    if (x - x.round()).abs() < 0.005 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

fn reference_counts() -> Quote {
    let run = json(REFERENCE_RUN)?;
    let cost = &run["cost"];
    let one = |server: &str, scenario: &str, count: &str| -> Result<f64, String> {
        samples(cost, server, scenario, count)?
            .first()
            .copied()
            .ok_or(format!("no {count} of {server}"))
    };
    let shown = |server: &str| {
        if server == "rocket" {
            "Rocket".to_owned()
        } else {
            server.to_owned()
        }
    };
    let mut quotes = Vec::new();
    for server in [
        "std",
        "may-minihttp",
        "tokio",
        "hyper",
        "go-fasthttp",
        "go-fasthttprouter",
        "warp",
        "actix-web",
        "axum",
        "salvo",
        "ntex",
        "rocket",
    ] {
        quotes.push(format!(
            "{} {}",
            shown(server),
            group(one(server, "json", "instructions")?.round() as u64)
        ));
    }
    let net = NET_HTTP
        .iter()
        .map(|s| one(s, "json", "instructions"))
        .collect::<Result<Vec<_>, _>>()?;
    let (lo, hi) = range(net);
    quotes.push(format!(
        "the four net/http-based Go servers {}–{}",
        group(lo.round() as u64),
        group(hi.round() as u64)
    ));
    for server in [
        "tokio",
        "may-minihttp",
        "std",
        "hyper",
        "warp",
        "actix-web",
        "salvo",
        "axum",
        "ntex",
        "rocket",
    ] {
        quotes.push(format!(
            "{} {}",
            shown(server),
            count_text(one(server, "json", "allocations")?)
        ));
    }
    for server in ["go-fasthttp", "go-fasthttprouter"] {
        quotes.push(format!(
            "{server} {}",
            count_text(one(server, "json", "allocations")?)
        ));
    }
    let net = NET_HTTP
        .iter()
        .map(|s| one(s, "json", "allocations"))
        .collect::<Result<Vec<_>, _>>()?;
    let (lo, hi) = range(net);
    quotes.push(format!("the net/http-based Go servers {lo:.0}–{hi:.0}"));
    let piped = |list: &[&str]| -> Result<(f64, f64), String> {
        Ok(range(
            list.iter()
                .map(|s| one(s, "pipelined", "syscalls"))
                .collect::<Result<Vec<_>, _>>()?,
        ))
    };
    let (net_lo, net_hi) = piped(&NET_HTTP)?;
    let others: Vec<String> = names(cost)
        .into_iter()
        .filter(|s| !NET_HTTP.contains(&s.as_str()) && s != "rocket")
        .collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    let (lo, hi) = piped(&others)?;
    quotes.push(format!(
        "Rocket still makes a syscall per answer ({:.2}) and the net/http-based Go servers too ({net_lo:.2}–{net_hi:.2}: net/http flushes each answer), where the others batch ({lo:.2}–{hi:.2})",
        one("rocket", "pipelined", "syscalls")?
    ));
    Ok(quotes)
}

fn side_by_side() -> Quote {
    let rows = csv(REFERENCE_CSV)?;
    let cpu = |server: &str| -> Result<String, String> {
        Ok(format!(
            "{server} {:.1}",
            number(cell(&rows, server, "plaintext")?, "server_cpu_us_per_req")?
        ))
    };
    // Each Go server and the Rust servers it is set beside.
    let mut quotes = Vec::new();
    for go in contract::SERVERS.iter().filter(|s| is_go(s.name)) {
        quotes.push(cpu(go.name)?);
        for rust in go.rust_counterparts {
            quotes.push(cpu(rust)?);
        }
    }
    // How many times its Rust counterparts' CPU per plaintext answer each Go server takes.
    let ratios = |family: &dyn Fn(&str) -> bool| -> Result<(f64, f64), String> {
        let per = |server: &str| number(cell(&rows, server, "plaintext")?, "server_cpu_us_per_req");
        let mut ratios = Vec::new();
        for go in contract::SERVERS
            .iter()
            .filter(|s| is_go(s.name) && family(s.name))
        {
            for rust in go.rust_counterparts {
                ratios.push(per(go.name)? / per(rust)?);
            }
        }
        Ok(range(ratios))
    };
    let (net_lo, net_hi) = ratios(&|name| NET_HTTP.contains(&name))?;
    let (_, fast_hi) = ratios(&|name| !NET_HTTP.contains(&name))?;
    quotes.push(format!(
        "up to {fast_hi:.1} times the CPU\nof their Rust counterparts; the four net/http-based ones take {net_lo:.1} to {net_hi:.1} times theirs"
    ));
    let mib = |server: &str| -> Result<f64, String> {
        Ok((number(cell(&rows, server, "plaintext")?, "rss_peak_kib")? as u64 / 1024) as f64)
    };
    let go: Vec<f64> = contract::SERVERS
        .iter()
        .filter(|s| is_go(s.name))
        .map(|s| mib(s.name))
        .collect::<Result<_, _>>()?;
    let rust: Vec<f64> = contract::SERVERS
        .iter()
        .filter(|s| !is_go(s.name) && s.name != "may-minihttp")
        .map(|s| mib(s.name))
        .collect::<Result<_, _>>()?;
    let (go_lo, go_hi) = range(go);
    let (rust_lo, rust_hi) = range(rust);
    quotes.push(format!(
        "Peak memory {go_lo:.0}–{go_hi:.0} MiB for the Go servers, {rust_lo:.0}–{rust_hi:.0} MiB for the Rust ones but may-minihttp ({:.0})",
        mib("may-minihttp")?
    ));
    Ok(quotes)
}

fn latency_spread() -> Quote {
    let run = reference()?;
    let rate = |scenario: &str| -> Result<String, String> {
        run.record
            .sweep(scenario)
            .and_then(|w| w.headline_rate())
            .map(|r| short_rate(r.rate))
            .ok_or(format!("no common rate for {scenario}"))
    };
    let p99: Vec<f64> = run
        .cells()
        .filter_map(|c| run.headline_point(c))
        .map(|p| p.latency_us.p99 as f64)
        .collect();
    let (lo, hi) = range(p99);
    Ok(vec![format!(
        "({} req/s plaintext, {} json) runs from {} to {}",
        rate("plaintext")?,
        rate("json")?,
        format_latency(lo as u64),
        format_latency(hi as u64)
    )])
}

fn framing_corpus() -> Quote {
    let cases = contract::framing_cases().len();
    Ok(vec![
        format!(
            "(`contract::framing_cases` in [servers/contract/src/framing.rs](../servers/contract/src/framing.rs): {cases} requests"
        ),
        format!("| server | framing cases refused (of {cases}) |"),
    ])
}

/// One placement of the database: the lowest and highest of the sixteen servers' median `db`
/// req/s, how many medians fall within 12,000 … 15,600, and the loads flagged client-bound.
fn placement(source: &str) -> Result<(String, String, usize, usize), String> {
    let run = json(source)?;
    let closed = run["measurements"]["closed"]
        .as_array()
        .ok_or(format!("{source}: no closed loads"))?;
    let servers = run["settings"]["contenders"]
        .as_array()
        .ok_or(format!("{source}: no contenders"))?;
    let mut medians = Vec::new();
    for server in servers.iter().filter_map(Value::as_str) {
        let mut rps: Vec<f64> = closed
            .iter()
            .filter(|m| m["contender"] == server && m["scenario"] == "db")
            .filter_map(|m| m["rps"].as_f64())
            .collect();
        rps.sort_by(f64::total_cmp);
        let median = match rps.len() {
            0 => return Err(format!("{source}: no db load of {server}")),
            n if n % 2 == 1 => rps[n / 2],
            n => (rps[n / 2 - 1] + rps[n / 2]) / 2.0,
        };
        medians.push((median, server));
    }
    medians.sort_by(|a, b| a.0.total_cmp(&b.0));
    let text = |(rps, server): &(f64, &str)| format!("{} ({server})", group(rps.round() as u64));
    let within = medians
        .iter()
        .filter(|(rps, _)| (12_000.0..=15_600.0).contains(rps))
        .count();
    let client_bound = closed.iter().filter(|m| m["client_bound"] == true).count();
    Ok((
        text(&medians[0]),
        text(&medians[medians.len() - 1]),
        within,
        client_bound,
    ))
}

fn database_placement() -> Quote {
    let (low_0, high_0, within_0, bound_0) = placement(DB_ON_SERVER_CPU)?;
    let (low_1, high_1, within_1, bound_1) = placement(DB_ON_CLIENT_CPU)?;
    let noise = |source: &str, key: &str, marker: &str| {
        word_after(
            &read(&source.replace("run.json", "summary.md"))?,
            key,
            marker,
        )
    };
    let steal = |source| noise(source, "Noisy machine", "stole ");
    let swing = |source| noise(source, "Noisy machine", "scenario varied by ");
    Ok(vec![
        format!(
            "(steal {} % and {} %, rounds of one server swinging {} % and {} %)",
            steal(DB_ON_SERVER_CPU)?,
            steal(DB_ON_CLIENT_CPU)?,
            swing(DB_ON_SERVER_CPU)?,
            swing(DB_ON_CLIENT_CPU)?
        ),
        format!("| lowest … highest | {low_0} … {high_0} | {low_1} … {high_1} |"),
        format!("| servers within 12,000 … 15,600 | {within_0} | {within_1} |"),
        format!("| loads flagged client-bound (all four scenarios) | {bound_0} | {bound_1} |"),
    ])
}

/// Every figure quoted outside a generated block, with its source.
const FIGURES: &[Figure] = &[
    Figure {
        doc: "docs/results.md",
        sources: &[REFERENCE_TIMED_LOG],
        what: "how long each phase of the reference run took",
        quote: || Ok(reference_phases()?[..1].to_vec()),
    },
    Figure {
        doc: "docs/method.md",
        sources: &[REFERENCE_TIMED_LOG],
        what: "how long a round of the sweep took",
        quote: || Ok(reference_phases()?[1..].to_vec()),
    },
    Figure {
        doc: "docs/method.md",
        sources: &[TWELVE_RUN],
        what: "how long the default with twelve scenarios took",
        quote: || {
            Ok(vec![format!(
                "the default took {} for sixteen",
                minutes(run_length(TWELVE_RUN)?)
            )])
        },
    },
    Figure {
        doc: "docs/method.md",
        sources: &[DB_ON_SERVER_CPU, DB_ON_CLIENT_CPU],
        what: "the database on the servers' CPU and on the load generator's",
        quote: database_placement,
    },
    Figure {
        doc: "docs/results.md",
        sources: &[DATABASE_RUN],
        what: "how long the first run with the database took",
        quote: || {
            Ok(vec![format!(
                "from start to end {}",
                minutes(run_length(DATABASE_RUN)?)
            )])
        },
    },
    Figure {
        doc: "docs/testing.md",
        sources: &[CI_RUN],
        what: "how long CI took",
        quote: ci_time,
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[REFERENCE_MD],
        what: "how throughput swings",
        quote: swings,
    },
    Figure {
        doc: "docs/safety.md",
        sources: &["servers/contract/src/framing.rs"],
        what: "the size of the framing corpus",
        quote: framing_corpus,
    },
    Figure {
        doc: "README.md",
        sources: &[REFERENCE_MD],
        what: "how noisy the reference run was",
        quote: || Ok(vec![steal()?]),
    },
    Figure {
        doc: "docs/results.md",
        sources: &[REFERENCE_MD],
        what: "how noisy the reference run was",
        quote: reference_noise,
    },
    Figure {
        doc: "README.md",
        sources: &[REFERENCE_RUN, REFERENCE_LOG, QUICK_RUN, QUICK_LOG],
        what: "how long the reference run and the quick run took",
        quote: readme_lengths,
    },
    Figure {
        doc: "README.md",
        sources: &[
            SITTING[0].0,
            SITTING[0].1,
            SITTING[1].0,
            SITTING[1].1,
            SITTING[2].0,
            SITTING[2].1,
        ],
        what: "how many default runs of the sitting went over the budget",
        quote: readme_sitting,
    },
    Figure {
        doc: "docs/load-generator.md",
        sources: &[CALIBRATION],
        what: "the calibration's ratios",
        quote: calibration_ratio_table,
    },
    Figure {
        doc: "docs/load-generator.md",
        sources: &[CALIBRATION],
        what: "the calibration's pacing",
        quote: calibration_pacing,
    },
    Figure {
        doc: "docs/load-generator.md",
        sources: &[CALIBRATION],
        what: "what the calibration says",
        quote: calibration_prose,
    },
    Figure {
        doc: "docs/method.md",
        sources: &[CALIBRATION],
        what: "each engine against wrk and oha",
        quote: engines_against_the_calibration,
    },
    Figure {
        doc: "docs/method.md",
        sources: &[
            ENGINE_H1_CSV,
            ENGINE_H1_MD,
            ENGINE_REQWEST_CSV,
            ENGINE_REQWEST_MD,
        ],
        what: "the engines side by side",
        quote: engine_table,
    },
    Figure {
        doc: "docs/shards.md",
        sources: &[REFERENCE_CSV],
        what: "client-bound cells of the reference run",
        quote: non_pipelined_client_bound,
    },
    Figure {
        doc: "docs/shards.md",
        sources: &[CALIBRATION],
        what: "the send lag on a quiet machine",
        quote: pacing_on_a_quiet_machine,
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[COST_SIXTEEN],
        what: "how the counts of sixteen repeat",
        quote: cost_repeatability,
    },
    Figure {
        doc: "docs/results.md",
        sources: &[
            SITTING[0].0,
            SITTING[0].1,
            SITTING[1].0,
            SITTING[1].1,
            SITTING[2].0,
            SITTING[2].1,
            REFERENCE_RUN,
        ],
        what: "the sitting's lengths against the budget",
        quote: sitting_lengths,
    },
    Figure {
        doc: "docs/results.md",
        sources: &[
            SITTING[0].1,
            SITTING[1].1,
            SITTING[2].1,
            TRADED[0].0,
            TRADED[0].1,
            TRADED[1].0,
            TRADED[1].1,
        ],
        what: "the budget's trade",
        quote: budget_trade,
    },
    Figure {
        doc: "README.md",
        sources: &[TRADED[0].0, TRADED[0].1, TRADED[1].0, TRADED[1].1],
        what: "the runs after the budget's trade",
        quote: readme_traded,
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[GO_BEFORE, GO_AFTER],
        what: "how the Go servers' counts repeat, before and after",
        quote: go_counts_before_after,
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[SITTING[0].0, SITTING[1].0, SITTING[2].0, GO_FIXED],
        what: "the Go servers' allocations before and after the stale frame",
        quote: go_allocations_stale_frame,
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[GO_FIXED, GO_DAY1, GO_EXACT],
        what: "the Go servers' instructions before and after the left-out work",
        quote: go_instructions_left_out,
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[TRADED[0].0, TRADED[1].0],
        what: "the cost phases of the two runs after the trade",
        quote: traded_cost_agreement,
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[GO_EXACT, GO_DAY1, GO_DAY2],
        what: "the Go servers' counts across two days",
        quote: go_across_days,
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[DB_RACE, DB_YIELD],
        what: "the db cells before and after the backends wait",
        quote: db_backends_yield,
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[COST_SIXTEEN],
        what: "the syscalls of sixteen",
        quote: cost_syscalls,
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[OLD_REFERENCE_RUN],
        what: "how long the cost phase took before the database",
        quote: || {
            Ok(vec![format!(
                "it took {} in the reference run of\n2026-11-25",
                seconds(OLD_REFERENCE_RUN, "/cost/seconds")?
            )])
        },
    },
    Figure {
        doc: "docs/cost.md",
        sources: &[REFERENCE_RUN, TIMING_1, TIMING_2],
        what: "how long the cost phase took",
        quote: cost_phase_timings,
    },
    Figure {
        doc: "docs/results.md",
        sources: &[
            OLD_REFERENCE_RUN,
            TWELVE_RUN,
            PREVIOUS_RUN,
            PREVIOUS_LOG,
            PREVIOUS_MD,
        ],
        what: "how long the earlier reference and the run of twelve took",
        quote: earlier_references,
    },
    Figure {
        doc: "docs/results.md",
        sources: &[REFERENCE_RUN, REFERENCE_LOG],
        what: "how long the reference run took",
        quote: reference_length,
    },
    Figure {
        doc: "docs/results.md",
        sources: &[REFERENCE_MD, TEN_MD, REFERENCE_CSV, TEN_CSV],
        what: "noise first",
        quote: noise_first,
    },
    Figure {
        doc: "docs/results.md",
        sources: &[REFERENCE_MD],
        what: "what still separates",
        quote: what_still_separates,
    },
    Figure {
        doc: "docs/results.md",
        sources: &[REFERENCE_RUN],
        what: "the exact counts of the reference run",
        quote: reference_counts,
    },
    Figure {
        doc: "docs/results.md",
        sources: &[REFERENCE_CSV],
        what: "Rust and Go side by side",
        quote: side_by_side,
    },
    Figure {
        doc: "docs/results.md",
        sources: &[REFERENCE_RUN],
        what: "the latency at the common rate",
        quote: latency_spread,
    },
];

/// Runs of white space as one space, so that a quote may break across lines.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A source is named when the document mentions its path, or the results folder it sits in.
fn names_source(doc: &str, source: &str) -> bool {
    let folder = Path::new(source).parent().map(|p| p.display().to_string());
    doc.contains(source) || folder.is_some_and(|f| f != "results" && doc.contains(&f))
}

#[test]
fn every_quoted_figure_is_what_its_source_says() {
    let docs: HashMap<String, String> = documents().into_iter().collect();
    let mut wrong = Vec::new();
    for figure in FIGURES {
        let text = docs
            .get(figure.doc)
            .unwrap_or_else(|| panic!("{} is not among the documents", figure.doc));
        for source in figure.sources {
            if !names_source(text, source) {
                wrong.push(format!(
                    "{}: {}: does not name its source {source}",
                    figure.doc, figure.what
                ));
            }
        }
        match (figure.quote)() {
            Err(e) => wrong.push(format!("{}: {}: {e}", figure.doc, figure.what)),
            Ok(quotes) => {
                let squeezed = squeeze(text);
                for quote in quotes {
                    if !squeezed.contains(&squeeze(&quote)) {
                        wrong.push(format!(
                            "{}: {}: the source says `{}`, which the text does not quote",
                            figure.doc,
                            figure.what,
                            squeeze(&quote)
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "figures their sources do not back:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn a_figure_that_its_source_does_not_back_fails() {
    // The check itself: a text that quotes 12 µs where the calibration says otherwise.
    let quotes = pacing_on_a_quiet_machine().unwrap();
    let text = squeeze("the same pacing met 12 µs at 20,000 req/s on a quiet machine");
    assert!(
        quotes.iter().any(|q| !text.contains(&squeeze(q))),
        "{quotes:?} would accept a wrong figure"
    );
}
