//! Everything rendered from results: from a comparison (its figures derived by
//! [`crate::analysis`] from `run.json`), the JSON itself, CSVs, a Markdown summary, SVG charts
//! and a page; from `loadgen run`, the text it prints. Each format is one type behind the
//! [`Export`] trait; all of them read data only ([`crate::results`], [`crate::analysis`],
//! [`crate::summary`]), so an old run can be rendered again (`loadgen report DIR`), and none of
//! them knows how the run was measured: nothing here imports `compare` or `load`.

pub(crate) mod charts;
pub mod code;
pub mod cost;
mod cost_run;
mod counting;
mod csv;
pub mod database;
pub mod hgrm;
pub mod idle;
mod json;
mod markdown;
mod page;
mod pairs;
mod run_text;
pub mod side_by_side;
mod spectrum;

use std::path::Path;

use thiserror::Error;

pub use self::charts::{
    CostChart, CpuChart, MemoryChart, SpectrumChart, SweepChart, ThroughputChart, all_charts,
};
pub use self::cost_run::{CostMarkdown, CostSvg};
pub use self::counting::cpu_methods;
pub use self::csv::{Csv, SweepCsv};
pub use self::json::Json;
pub use self::markdown::{
    Markdown, cpu_table, headline_table as markdown_headline, machine_paragraph, noise_note,
    ranking_line,
};
pub use self::page::Page;
pub use self::pairs::PairsCsv;
pub use self::run_text::RunText;
use crate::analysis::Comparison;
use crate::output::{OutputError, OutputFile};
use crate::results::{COMPARE_SCHEMA_VERSION, RunRecord};

/// A file that cannot be made.
#[derive(Debug, Error)]
pub enum ReportError {
    /// Serializing failed.
    #[error("cannot serialize {file}: {reason}")]
    Render {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// Writing failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// `run.json` cannot be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// One output made from results: a comparison's files, or the text of `loadgen run`.
pub trait Export<T: ?Sized = Comparison> {
    /// Its name in the results folder.
    fn file_name(&self) -> String;
    /// Its bytes.
    fn render(&self, data: &T) -> Result<Vec<u8>, ReportError>;
}

/// Server CPU per answer as the tables show it: `1.23 µs CPU ±2.0 %`, or
/// [`NOT_MEASURED_REMOTE`](crate::remote::NOT_MEASURED_REMOTE) for a server that runs
/// elsewhere (never zero).
pub fn cpu_text(cpu: Option<&crate::analysis::Estimate>) -> String {
    cpu.map_or_else(
        || crate::remote::NOT_MEASURED_REMOTE.to_owned(),
        |cpu| {
            format!(
                "{:.2} µs CPU {}",
                cpu.median,
                crate::format::plus_minus(cpu.relative_half_width())
            )
        },
    )
}

/// Peak memory as the tables show it: `12 MiB`, or
/// [`NOT_MEASURED_REMOTE`](crate::remote::NOT_MEASURED_REMOTE) (never zero).
pub fn memory_text(rss_peak_kib: Option<u64>) -> String {
    rss_peak_kib.map_or_else(
        || crate::remote::NOT_MEASURED_REMOTE.to_owned(),
        |kib| format!("{} MiB", kib / 1024),
    )
}

/// Every file made from a run except `run.json`, which only `compare` writes: the CSVs, the
/// Markdown summary, every chart and the page.
pub fn derived_exports(run: &Comparison) -> Vec<Box<dyn Export>> {
    let mut exports: Vec<Box<dyn Export>> = vec![
        Box::new(Csv),
        Box::new(SweepCsv),
        Box::new(PairsCsv),
        Box::new(Markdown),
    ];
    exports.extend(all_charts(run));
    exports.push(Box::new(Page));
    exports.extend(hgrm::exports(run));
    exports
}

/// Writes `exports` for `run` into `dir`, replacing files made from an earlier rendering.
pub fn write(
    dir: &Path,
    run: &Comparison,
    exports: &[Box<dyn Export>],
) -> Result<Vec<String>, ReportError> {
    let mut written = Vec::new();
    for export in exports {
        let name = export.file_name();
        let bytes = export.render(run)?;
        let path = dir.join(&name);
        // A file in a folder of its own (`latency/…hgrm`): make the folder.
        if let Some(folder) = path.parent().filter(|folder| !folder.is_dir()) {
            std::fs::create_dir_all(folder).map_err(|e| OutputError::Unwritable {
                path: folder.to_owned(),
                reason: e.to_string(),
            })?;
        }
        OutputFile::check(&path, true)?.write(&bytes)?;
        written.push(name);
    }
    Ok(written)
}

/// Writes a new run: `run.json`, every file made from it, then the index of the results folder
/// when `dir` is in one.
pub fn write_run(dir: &Path, run: &Comparison) -> Result<(), ReportError> {
    write(dir, run, &[Box::new(Json) as Box<dyn Export>])?;
    write(dir, run, &derived_exports(run))?;
    if let Some(parent) = dir
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == "results"))
    {
        update_results_index(parent)?;
    }
    Ok(())
}

/// Reads a run back from `dir/run.json`: today's layout, or layout 2 (read by
/// [`crate::results::legacy`]); any other is refused by name.
pub fn read_run(dir: &Path) -> Result<RunRecord, ReportError> {
    let path = dir.join("run.json");
    let read_error = |reason: String| ReportError::Read {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| read_error(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| read_error(e.to_string()))?;
    match value["schema_version"].as_u64().unwrap_or(0) {
        v if v == u64::from(COMPARE_SCHEMA_VERSION) => {
            serde_json::from_value(value).map_err(|e| read_error(e.to_string()))
        }
        2 => crate::results::legacy::from_v2(value)
            .map_err(|e| read_error(format!("layout (schema_version) 2: {e}"))),
        version => Err(read_error(format!(
            "it is in layout (schema_version) {version}, and this loadgen renders layouts 2 and {COMPARE_SCHEMA_VERSION}; render it with the loadgen of its commit ({})",
            value["environment"]["git_commit"]
                .as_str()
                .unwrap_or("unknown")
        ))),
    }
}

/// A contender's colour, the same in every chart: its server's colour, and for a second build
/// of the same server that colour lighter, so that two builds sit side by side in one family.
pub fn contender_colour(run: &Comparison, label: &str) -> (u8, u8, u8) {
    let contenders = &run.record.contenders;
    let Some(contender) = contenders.iter().find(|c| c.label == label) else {
        return server_colour(label);
    };
    lightened(server_colour(&contender.server), earlier_builds(run, label))
}

/// How many builds of the same server come before `label` in the run.
fn earlier_builds(run: &Comparison, label: &str) -> usize {
    let contenders = &run.record.contenders;
    let Some(contender) = contenders.iter().find(|c| c.label == label) else {
        return 0;
    };
    contenders
        .iter()
        .take_while(|c| c.label != label)
        .filter(|c| c.server == contender.server)
        .count()
}

/// `colour`, each earlier build of its server moving it 40 % of the way to white.
fn lightened((r, g, b): (u8, u8, u8), earlier: usize) -> (u8, u8, u8) {
    let share = 1.0 - 0.6_f64.powi(i32::try_from(earlier).unwrap_or(i32::MAX));
    let lighten = |c: u8| -> u8 { (f64::from(c) + (255.0 - f64::from(c)) * share).round() as u8 };
    (lighten(r), lighten(g), lighten(b))
}

/// A contender's line on the line charts, where sixteen servers share ten colours: a Rust
/// server's solid line in [`contender_colour`], a Go server's dashed in the colour its first
/// Rust counterpart has in the same place (go-nethttp as std, go-gin as actix-web), so that
/// every server has a style of its own.
pub fn line_style(run: &Comparison, label: &str) -> ((u8, u8, u8), bool) {
    let server = run
        .record
        .contender(label)
        .map_or(label, |c| c.server.as_str());
    let counterpart = contract::server(server)
        .filter(|s| s.build == contract::Build::Go)
        .and_then(|s| s.rust_counterparts.first());
    match counterpart {
        Some(rust) => (
            lightened(server_colour(rust), earlier_builds(run, label)),
            true,
        ),
        None => (contender_colour(run, label), false),
    }
}

/// The colour of a server, the same in every chart: its place in the contract's table, in the
/// ten colours of the "tab10" palette (its grey made near-black, so that grey stays for a server
/// the table does not know).
pub fn server_colour(name: &str) -> (u8, u8, u8) {
    const PALETTE: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (188, 189, 34),
        (23, 190, 207),
        (31, 31, 31),
    ];
    contract::SERVERS
        .iter()
        .position(|s| s.name == name)
        .map_or((127, 127, 127), |index| PALETTE[index % PALETTE.len()])
}

/// Rewrites `results/README.md`: one row per run folder in `results`, newest first, with its
/// machine and links to its summary and page.
pub fn update_results_index(results: &Path) -> Result<(), ReportError> {
    // Read loosely, field by field, so that runs written in every layout stay listed.
    let mut runs: Vec<(String, serde_json::Value)> = std::fs::read_dir(results)
        .map_err(|e| ReportError::Read {
            path: results.display().to_string(),
            reason: e.to_string(),
        })?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path().join("run.json")).ok()?;
            Some((
                entry.file_name().to_string_lossy().into_owned(),
                serde_json::from_str(&text).ok()?,
            ))
        })
        .collect();
    runs.sort_by(|a, b| b.0.cmp(&a.0));
    let mut out = String::from(
        "# Results\n\nEach folder is one `loadgen compare` run: `run.json` holds every figure, histogram and \
         setting; `summary.md`, the CSVs, the SVG charts and `index.html` are made from it \
         (`loadgen report DIR` makes them again). Folders are never overwritten.\n\n\
         | run | machine | contenders | scenarios | rounds | state |\n|---|---|---|---|---|---|\n",
    );
    for (name, run) in &runs {
        let env = &run["environment"];
        let settings = &run["settings"];
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_owned();
        // Layout 3 names contenders; earlier layouts, servers.
        let named = if settings["contenders"].is_array() {
            &settings["contenders"]
        } else {
            &settings["servers"]
        };
        let servers: Vec<String> = named
            .as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default();
        let state = if run["partial"].as_bool().unwrap_or(false) {
            "partial"
        } else if settings["quick"].as_bool().unwrap_or(false) {
            "quick"
        } else {
            "complete"
        };
        out.push_str(&format!(
            "| [{name}]({name}/summary.md) ([page]({name}/index.html)) | {}, {} CPUs, Linux {} | {} | {} | {} | {state} |\n",
            text(&env["cpu_model"]),
            env["cores"].as_u64().unwrap_or(0),
            text(&env["kernel"]),
            servers.join(", "),
            settings["scenarios"].as_array().map_or(0, Vec::len),
            settings["rounds"].as_u64().unwrap_or(0),
        ));
    }
    OutputFile::check(&results.join("README.md"), true)?.write(out.as_bytes())?;
    Ok(())
}

/// Replaces what stands between `<!-- results:begin -->` and `<!-- results:end -->` in `readme`
/// with `section`.
pub fn replace_readme_section(readme: &str, section: &str) -> Option<String> {
    const BEGIN: &str = "<!-- results:begin -->";
    const END: &str = "<!-- results:end -->";
    let start = readme.find(BEGIN)? + BEGIN.len();
    let end = readme[start..].find(END)? + start;
    Some(format!(
        "{}\n{}\n{}",
        &readme[..start],
        section.trim_end(),
        &readme[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_an_older_layout_stay_listed_and_are_refused_by_name() {
        let results = tempfile::tempdir().unwrap();
        let old = results.path().join("2026-11-21T23-02-32Z-vm");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(
            old.join("run.json"),
            r#"{"schema_version": 1, "partial": false, "environment": {"cpu_model": "Old CPU", "cores": 2, "kernel": "6.1", "git_commit": "a7b656b"}, "settings": {"servers": ["std", "hyper"], "scenarios": ["plaintext"], "rounds": 3, "quick": false}}"#,
        )
        .unwrap();
        update_results_index(results.path()).unwrap();
        let index = std::fs::read_to_string(results.path().join("README.md")).unwrap();
        assert!(
            index.contains("[2026-11-21T23-02-32Z-vm]") && index.contains("Old CPU, 2 CPUs"),
            "{index}"
        );
        let err = read_run(&old).unwrap_err().to_string();
        assert!(
            err.contains("layout (schema_version) 1") && err.contains("a7b656b"),
            "{err}"
        );
    }

    #[test]
    fn the_committed_reference_runs_of_layout_2_still_render() {
        let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
        let dir = results.join("2026-11-22T06-35-35Z-vm");
        let run = crate::analysis::analyze(read_run(&dir).unwrap());
        assert_eq!(run.record.schema_version, 2);
        assert_eq!(run.contenders.len(), 10);
        assert!(
            run.contenders
                .iter()
                .all(|c| c.status == crate::analysis::Status::Ok)
        );
        let hyper = run.contenders.iter().find(|c| c.label == "hyper").unwrap();
        let plaintext = hyper.scenario("plaintext").unwrap();
        assert_eq!(plaintext.rounds.len(), 10);
        assert!(
            plaintext.rps.median > 0.0 && plaintext.sweep.len() == 5,
            "{plaintext:?}"
        );
        assert!(
            plaintext
                .sweep
                .iter()
                .all(|p| p.rounds == 2 && p.send_lag_us.is_none())
        );
        assert!(run.rankings.len() >= 16);
        for export in derived_exports(&run) {
            let bytes = export.render(&run).unwrap();
            assert!(!bytes.is_empty(), "{}", export.file_name());
        }
        let summary = String::from_utf8(Markdown.render(&run).unwrap()).unwrap();
        assert!(summary.contains("| may-minihttp |"), "{summary}");
    }
}
