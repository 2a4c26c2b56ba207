//! The http-rosetta load generator.
//!
//! `loadgen run` loads one URL, closed loop (C connections, one request in flight on each) or
//! open loop (`--rate`, latency measured from each request's due time, as wrk2 does), with the
//! general-purpose reqwest engine or the fast hyper engine, and reports throughput, latency
//! percentiles from HdrHistograms, status and error counts, and how busy the client itself was.
//!
//! # Layout
//! - [`cli`]: the command line;
//! - [`target`]: what to send; [`engine`]: the clients that send it;
//! - [`schedule`]: open-loop due times; [`load`]: the measuring core (threads, loops, stop);
//! - [`stats`]: histograms and counts; [`summary`]: the report of `run` as data;
//! - [`compare`]: the comparison's plan, contenders and rounds; [`cost`]: counts per request;
//!   [`machine`]: CPUs, /proc, the environment; [`strays`]: servers already running on the
//!   servers' CPUs before a comparison;
//! - [`results`]: a comparison as data (`run.json`); [`analysis`]: every figure derived from
//!   it: medians, intervals, verdicts, noise;
//! - [`report`]: every text and file made from results, behind one `Export` trait (the text of
//!   `run` too); [`format`]: numbers as people read them;
//! - [`output`]: result files; [`progress`]: the live bar; [`verify`]: the contract check;
//! - [`shard`]: one run over several machines; [`interval_log`]: latency per interval;
//!   [`merge`]: shards checked, cut to a window and added up; [`remote`]: servers that run
//!   elsewhere, for `compare --targets`.
//!
//! Data flows one way: measuring returns values, analysis turns them into figures, reports
//! render them. The measuring core never prints and the printers never measure.

pub mod analysis;
pub mod cgroup;
pub mod cli;
pub mod compare;
pub mod cost;
pub mod docs;
pub mod engine;
pub mod format;
pub mod interval_log;
pub mod load;
pub mod machine;
pub mod merge;
pub mod output;
pub mod progress;
pub mod remote;
pub mod report;
pub mod results;
pub mod schedule;
pub mod shard;
pub mod stats;
pub mod strays;
pub mod summary;
pub mod target;
pub mod verify;
pub mod workspace;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use bytes::Bytes;

use crate::analysis::Status;
use crate::cli::{
    Cli, Command, CompareArgs, CostArgs, DocsArgs, MergeArgs, ReportArgs, RunArgs, VerifyArgs,
};
use crate::load::{LoadSpec, Stop};
use crate::output::OutputFile;
use crate::progress::{CompareBar, LoadBar};
use crate::report::{CostMarkdown, CostSvg, Export as _, RunText};
use crate::shard::{ShardReport, ShardSetup};
use crate::summary::{RunReport, RunSettings};
use crate::target::Target;

/// How long `run` measures when neither `-d` nor `-n` is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Exit code of a run stopped early by a signal (its results are still written).
pub const EXIT_PARTIAL: u8 = 130;

/// Runs a parsed command line; the exit code says how it went.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run_command(&args),
        Command::Merge(args) => merge_command(&args),
        Command::Verify(args) => verify_command(&args),
        Command::Compare(args) => compare_command(&args),
        Command::Report(args) => report_command(&args),
        Command::Cost(args) => cost_command(&args),
        Command::Docs(args) => docs_command(&args),
    }
}

/// A flag that SIGINT and SIGTERM set, so that a run stops early and still reports. With
/// `exit_on_second`, a second signal ends the process at once; without it (when servers must be
/// stopped first), later signals only set the flag again.
pub fn stop_on_signals(exit_on_second: bool) -> Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        if exit_on_second {
            // Registered first, so it sees the flag before the second registration sets it.
            flag::register_conditional_shutdown(signal, i32::from(EXIT_PARTIAL), Arc::clone(&stop))
                .context("cannot install a signal handler")?;
        }
        flag::register(signal, Arc::clone(&stop)).context("cannot install a signal handler")?;
    }
    Ok(stop)
}

/// The load `args` describe, checked.
pub fn load_spec(args: &RunArgs) -> Result<LoadSpec> {
    let body = match (&args.body, &args.body_file) {
        (Some(body), _) => Bytes::from(body.clone()),
        (None, Some(path)) => Target::read_body(path)?,
        (None, None) => Bytes::new(),
    };
    Ok(LoadSpec {
        target: Target::new(&args.url, &args.method, &args.headers, body)?,
        engine: args.engine,
        connections: args.connections,
        threads: args.threads,
        stop: match args.requests {
            Some(n) => Stop::Requests(n),
            None => Stop::After(args.duration.unwrap_or(DEFAULT_DURATION)),
        },
        rate: args.rate,
        pipeline: args.pipeline,
        warmup: args.warmup,
        timeout: args.timeout,
        http2: args.http2,
        use_proxy: args.use_proxy,
    })
}

fn run_command(args: &RunArgs) -> Result<ExitCode> {
    // Every check that can fail comes before the load: a long run is never lost at the end.
    let json = args
        .json
        .as_deref()
        .map(|path| OutputFile::check(path, args.force))
        .transpose()?;
    let whole = load_spec(args)?;
    let setup = ShardSetup::new(
        &args.shard,
        &whole,
        (&args.url, &args.headers),
        args.json.as_deref(),
        &|name| std::env::var(name).ok(),
    )?;
    let interval_log = setup
        .as_ref()
        .and_then(|s| s.interval_log.as_deref())
        .map(|path| OutputFile::check(path, args.force))
        .transpose()?;
    let (spec, placement) = match &setup {
        Some(setup) => (setup.shard.part_of(&whole)?, setup.placement(&whole)),
        None => (whole.clone(), load::Placement::default()),
    };
    let stop = stop_on_signals(true)?;
    let mut bar = LoadBar::new(&spec, !args.no_progress);
    // Without a start time, the interval log's start is about when the warmup ends.
    let measure_start = SystemTime::now() + spec.warmup;
    let placed = load::run_placed(&spec, &placement, &stop, &mut |progress| {
        bar.update(progress);
    });
    bar.finish();
    let placed = placed?;
    let report = RunReport::new(RunSettings::of(&spec, &args.url), &placed.outcome);
    print!("{}", RunText.text(&report));
    let record = setup.as_ref().map(|setup| setup.record(&placed));
    if let Some(record) = &record {
        println!("  shard         {}", record.shard);
        if let Some(late) = record.lateness() {
            eprintln!("warning: this shard was {late}");
        }
    }
    if let (Some(log), Some(intervals), Some(setup)) = (interval_log, &placed.intervals, &setup) {
        let start = setup.start_at.unwrap_or(measure_start);
        let comment = format!(
            "loadgen {} shard {} of {}: latency in µs",
            env!("CARGO_PKG_VERSION"),
            setup.shard,
            args.url
        );
        log.write(&interval_log::write_log(
            intervals,
            start,
            spec.rate.is_some(),
            &comment,
        )?)?;
        eprintln!("wrote {}", log.path().display());
    }
    if let Some(json) = json {
        let written = ShardReport {
            report: report.clone(),
            shard: record,
        };
        json.write(&serde_json::to_vec_pretty(&written)?)?;
        eprintln!("wrote {}", json.path().display());
    }
    Ok(if report.partial {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    })
}

fn compare_command(args: &CompareArgs) -> Result<ExitCode> {
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let mut plan = compare::plan::make_plan(args, &started_at)?;
    // Every check that can fail comes before the first load.
    verify_remote(&plan, args.timeout)?;
    output::create_run_dir(&plan.out, args.force)?;
    if plan.contenders.iter().any(|c| c.remote_url().is_none()) {
        eprintln!("building the contenders' release binaries…");
    }
    compare::contender::build_all(&plan.contenders, &plan.site)?;
    announce(&plan);
    // Read the machine before pinning, which narrows what this process sees.
    let environment = machine::Environment::read(&plan.site.workspace, &plan.site.bin_dir);
    let split = &plan.settings.cpus;
    // Servers this run did not start, already on the servers' CPUs: named, never killed.
    let stray_servers = strays::in_the_way_of(split, &[&plan.site.workspace, &plan.site.bin_dir]);
    for stray in &stray_servers {
        eprintln!("warning: {}", stray.advice());
    }
    if split.pinned {
        machine::pin_self(&split.client).context("cannot pin the load generator to its CPUs")?;
    }
    // The database last, just before the loads: a throwaway cluster lives as long as `database`.
    let database = open_database(&mut plan)?;
    let stop = stop_on_signals(false)?;
    let mut bar = CompareBar::new(&plan, !args.no_progress);
    let measured = compare::run(&plan, database.as_ref(), &stop, &mut |event| {
        bar.observe(event)
    });
    bar.finish();
    let idle = idle_phase(&plan, &stop);
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    if plan.cost.is_some() && !stop.load(Ordering::Relaxed) {
        eprintln!("cost phase: counts per request (--no-cost skips it)…");
    }
    let cost = if stop.load(Ordering::Relaxed) {
        None
    } else {
        compare::cost_phase(&plan, &stop, &command, &mut |step| {
            eprintln!("  {}: {}", step.server, step.tool);
        })
    };
    if let Some(cost) = &cost {
        eprintln!("cost phase took {:.0} s", cost.seconds);
    }
    let measured = measured.with_cost(cost).with_idle(idle);
    let provenance = compare::Provenance {
        started_at,
        command,
        environment,
        stray_servers,
    };
    let record = measured.into_record(&plan, provenance, stop.load(Ordering::Relaxed));
    let comparison = analysis::analyze(record);
    report::write_run(&plan.out, &comparison)?;
    print!("{}", report::markdown_headline(&comparison));
    point_to_logs(&comparison, &plan.out);
    eprintln!("results in {}", plan.out.display());
    Ok(if comparison.record.partial {
        ExitCode::from(EXIT_PARTIAL)
    } else if comparison
        .contenders
        .iter()
        .all(|c| c.status == Status::Failed)
    {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Opens the database of the plan's database scenarios, if any, and gives its URL to the
/// servers' and the cost phase's command lines.
fn open_database(plan: &mut compare::plan::Plan) -> Result<Option<compare::database::Database>> {
    let database = compare::database::Database::open(&plan.database)?;
    if let Some(database) = &database {
        eprintln!("database: {}", database.settings.source);
        plan.database_url = Some(database.url().to_owned());
        plan.settings.database = Some(database.settings.clone());
        if let Some(cost) = &mut plan.cost {
            cost.database_url = Some(database.url().to_owned());
        }
    } else if let Some(why) = plan.database.off() {
        eprintln!("no database scenarios: {why}");
    }
    Ok(database)
}

/// The idle-connections phase, unless the run was stopped or `--idle-connections 0`.
fn idle_phase(plan: &compare::plan::Plan, stop: &Arc<AtomicBool>) -> Option<results::IdleTable> {
    if stop.load(Ordering::Relaxed) || plan.idle_connections == 0 {
        return None;
    }
    eprintln!(
        "idle phase: {} keep-alive connections held on each server (--idle-connections 0 skips it)…",
        plan.idle_connections
    );
    compare::idle::run(plan, plan.idle_connections, stop, &mut |server| {
        eprintln!("  {}", report::idle::line(server));
    })
}

/// Verifies every `--targets` server against the contract before anything is measured: one
/// that cannot be reached or does not conform stops the comparison, each named with why.
fn verify_remote(plan: &compare::plan::Plan, timeout: Duration) -> Result<()> {
    let targets: Vec<remote::RemoteTarget> = plan
        .contenders
        .iter()
        .filter_map(|c| {
            Some(remote::RemoteTarget {
                name: c.label.clone(),
                url: c.remote_url()?.to_owned(),
            })
        })
        .collect();
    let mut problems = Vec::new();
    for (target, verdict) in remote::verify_all(&targets, timeout) {
        match verdict {
            Ok(v) if v.mismatches.is_empty() => {
                eprintln!("{} at {}: answers the contract", target.name, target.url);
            }
            Ok(v) => problems.push(format!(
                "{} at {} does not answer the contract ({} mismatches: {})",
                target.name,
                target.url,
                v.mismatches.len(),
                v.mismatches
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            Err(err) => problems.push(format!(
                "{} at {} cannot be verified: {err}",
                target.name, target.url
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("--targets: {}", problems.join("; "))
    }
}

/// Names the stderr log of every contender that did not run cleanly.
fn point_to_logs(comparison: &analysis::Comparison, out: &Path) {
    for contender in comparison
        .contenders
        .iter()
        .filter(|c| c.status != Status::Ok)
    {
        if let Some(log) = comparison
            .record
            .contender(&contender.label)
            .and_then(|c| c.stderr_log.as_deref())
        {
            eprintln!(
                "{} did not run cleanly: see summary.md, and its stderr in {}",
                contender.label,
                out.join(log).display()
            );
        }
    }
}

/// Says how the comparison will run: the CPU split, the engine and what it leaves out.
fn announce(plan: &compare::plan::Plan) {
    let settings = &plan.settings;
    let split = &settings.cpus;
    eprintln!(
        "CPU split: servers on {:?} (--threads {}), load generator on {:?} ({} load threads, {} engine){}",
        split.server,
        settings.server_threads,
        split.client,
        settings.client_threads,
        settings.engine.name(),
        if split.pinned {
            ""
        } else {
            "; only one CPU, so they share it and the figures are rough"
        }
    );
    for left_out in &settings.left_out {
        eprintln!("{} left out: {}", left_out.scenario, left_out.why);
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this load generator is a debug build; run `cargo run --release -- compare` for figures that mean anything"
        );
    }
}

fn cost_command(args: &CostArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let work = tempfile::tempdir().context("cannot create a folder for the tools' files")?;
    let tools = cost::ToolPaths::detect(std::env::var_os("PATH").as_deref());
    let mut plan = cost::make_plan(args, tools, work.path())?;
    let _database = cost_database(&mut plan)?;
    let out = args.out.clone().unwrap_or_else(|| {
        workspace::workspace_root().join("results").join(format!(
            "cost-{}-{}",
            started_at.replace(':', "-"),
            machine::hostname()
        ))
    });
    // Every check that can fail comes before the first measurement.
    output::create_run_dir(&out, args.force)?;
    let json = OutputFile::check(&out.join("cost.json"), args.force)?;
    let markdown = OutputFile::check(&out.join(CostMarkdown.file_name()), args.force)?;
    let chart = OutputFile::check(&out.join(CostSvg.file_name()), args.force)?;
    let status = plan.tools.status();
    for reason in [&status.valgrind, &status.perf_events]
        .into_iter()
        .filter_map(|s| s.missing())
    {
        eprintln!("warning: {reason}; those figures will be n/a, the rest goes on");
    }
    if plan.settings.cpus.pinned {
        machine::pin_self(&plan.settings.cpus.client)
            .context("cannot pin the load generator to its CPUs")?;
    }
    let stop = stop_on_signals(false)?;
    let servers = cost::run(&plan, &stop, &mut |step| {
        eprintln!(
            "{}: {} ({}/{})",
            step.server, step.tool, step.measurement, plan.settings.repeat
        );
    });
    let table = results::cost::CostTable {
        started_at,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        settings: plan.settings.clone(),
        tools: status,
        partial: stop.load(Ordering::Relaxed),
        servers,
        seconds: started.elapsed().as_secs_f64(),
    };
    let text = CostMarkdown.render(&table)?;
    json.write(&serde_json::to_vec_pretty(&table)?)?;
    markdown.write(&text)?;
    match CostSvg.render(&table) {
        Ok(svg) => chart.write(&svg)?,
        Err(report::ReportError::Render { reason, .. }) => {
            eprintln!("warning: no chart: {reason}");
        }
        Err(e) => return Err(e.into()),
    }
    print!("{}", String::from_utf8_lossy(&text));
    eprintln!("results in {}", out.display());
    Ok(if table.partial {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    })
}

/// The database scenarios of a cost run get a throwaway PostgreSQL (kept running while the
/// returned value lives), or are left out without one.
fn cost_database(plan: &mut cost::CostPlan) -> Result<Option<harness::postgres::Postgres>> {
    if !plan.needs_database() {
        return Ok(None);
    }
    match harness::postgres::Postgres::start() {
        Ok(cluster) => {
            plan.database_url = Some(cluster.url());
            Ok(Some(cluster))
        }
        Err(harness::postgres::PostgresError::NotInstalled) => {
            eprintln!(
                "db and fortunes left out: {}",
                harness::postgres::PostgresError::NotInstalled
            );
            plan.scenarios.retain(|s| !s.reads_database());
            Ok(None)
        }
        Err(err) => Err(err).context("cannot start a throwaway PostgreSQL"),
    }
}

fn merge_command(args: &MergeArgs) -> Result<ExitCode> {
    let json = args
        .json
        .as_deref()
        .map(|path| OutputFile::check(path, args.force))
        .transpose()?;
    let files = args
        .files
        .iter()
        .map(|path| merge::ShardFile::read(path, args.window.is_some()))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = merge::merge(&files, args.window)?;
    print!("{}", RunText.text(&merged.report));
    if let Some(shards) = &merged.shards {
        let window = shards
            .window_s
            .map(|(from, to)| format!(", window {from}..{to} s"))
            .unwrap_or_default();
        println!(
            "  shards        all {} of one run, started {}{window}",
            shards.count,
            shards.start_at.as_deref().unwrap_or("without --start-at")
        );
        for warning in &shards.warnings {
            eprintln!("warning: {warning}");
        }
    }
    if let Some(json) = json {
        json.write(&serde_json::to_vec_pretty(&merged)?)?;
        eprintln!("wrote {}", json.path().display());
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_command(args: &VerifyArgs) -> Result<ExitCode> {
    let verdict = verify::verify(&args.url, args.server.as_deref(), args.timeout)?;
    for mismatch in &verdict.mismatches {
        println!("MISMATCH {mismatch}");
    }
    for deviation in &verdict.known_deviations {
        println!("KNOWN DEVIATION {deviation}");
    }
    println!(
        "{}: {} cases, {} mismatches (server: {:?})",
        args.url,
        verdict.cases,
        verdict.mismatches.len(),
        verdict.server
    );
    Ok(if verdict.mismatches.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn docs_command(args: &DocsArgs) -> Result<ExitCode> {
    let differ = docs::update(&args.root, args.check)?;
    for path in &differ {
        let verb = if args.check { "differs" } else { "updated" };
        eprintln!("{verb}: {}", path.display());
    }
    Ok(if args.check && !differ.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn report_command(args: &ReportArgs) -> Result<ExitCode> {
    // Every figure is derived from the measurements, so a report made again uses today's
    // analysis; run.json itself is left as it was measured.
    let run = analysis::analyze(report::read_run(&args.dir)?);
    let written = report::write(&args.dir, &run, &report::derived_exports(&run))?;
    eprintln!("wrote {} in {}", written.join(", "), args.dir.display());
    if let Some(readme) = &args.update_readme {
        let text = std::fs::read_to_string(readme)
            .with_context(|| format!("cannot read {}", readme.display()))?;
        let section = format!(
            "{}\n{}\n{}",
            report::machine_paragraph(&run),
            report::markdown_headline(&run),
            report::cpu_table(&run)
        );
        let Some(updated) = report::replace_readme_section(&text, &section) else {
            anyhow::bail!(
                "{} has no `<!-- results:begin -->` … `<!-- results:end -->` section",
                readme.display()
            );
        };
        OutputFile::check(readme, true)?.write(updated.as_bytes())?;
        eprintln!("updated the results section of {}", readme.display());
    }
    Ok(ExitCode::SUCCESS)
}
