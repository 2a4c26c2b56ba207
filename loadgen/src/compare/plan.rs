//! The plan of a comparison, checked before any server starts: which contenders and scenarios,
//! with which engine, how long each load lasts (said once, in the settings), where the
//! binaries come from, and, once the closed-loop maxima are known, the open-loop rates every
//! contender is given ([`Plan::sweeps`], derived once).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use thiserror::Error;

use super::contender::{self, BuildSite, Contender};
use super::database::DatabasePlan;
use super::scenario::{
    self, DEFAULT_SCENARIOS, DEFAULT_SWEEP, QUICK_SCENARIOS, QUICK_SWEEP, Scenario,
};
use crate::analysis::median;
use crate::cli::CompareArgs;
use crate::cost::{CostPlan, ServerBinary, ToolPaths};
use crate::engine::EngineKind;
use crate::machine::{self, CpuSplit, available_cpus, parse_cpu_list};
use crate::results::cost::CostSettings;
use crate::results::{
    ClosedSample, CompareSettings, LeftOut, Phase, PlannedRate, RepeatSettings, ScenarioSweep,
};
use crate::workspace::{cargo_target_dir, workspace_root};

/// The sweep's rates when `--rates` is not given: shares of the slowest server's maximum.
pub const DEFAULT_RATES: &[&str] = &["10%", "25%", "50%", "75%", "90%"];
/// The sweep's rates with `--quick`: none. Sixteen servers' sweep visits take about 20 s even at
/// three short rates, more than a 90-second first look can give; `--rates` brings it back.
pub const QUICK_RATES: &[&str] = &[];

/// The idle phase's connections with `--quick`: 1,000 rather than 5,000 opens sixteen servers'
/// connections in about a fifth of the time, and the memory per connection is still the
/// growth over a thousand of them.
pub const QUICK_IDLE_CONNECTIONS: u32 = 1000;

/// The idle phase's connections of a default comparison: the hardening suite's 5,000.
pub const DEFAULT_IDLE_CONNECTIONS: u32 = 5000;

/// An open-loop rate of the sweep: absolute, or a share of the slowest server's closed-loop
/// maximum, so that every server is given the same rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Requests per second.
    PerSecond(f64),
    /// A fraction (0 to 1) of the lowest median closed-loop maximum of the servers.
    OfSlowest(f64),
}

impl Rate {
    /// Parses `5000` or `50%`.
    pub fn parse(text: &str) -> Result<Self, NotARate> {
        let text = text.trim();
        let bad = || NotARate(text.to_owned());
        match text.strip_suffix('%') {
            Some(share) => {
                let share: f64 = share.trim().parse().map_err(|_| bad())?;
                if share > 0.0 && share <= 100.0 {
                    Ok(Self::OfSlowest(share / 100.0))
                } else {
                    Err(bad())
                }
            }
            None => {
                let rate: f64 = text.parse().map_err(|_| bad())?;
                if rate > 0.0 && rate.is_finite() {
                    Ok(Self::PerSecond(rate))
                } else {
                    Err(bad())
                }
            }
        }
    }
}

/// A `--rates` entry that is neither requests per second nor a share.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "{0:?} is not a rate: give requests per second (5000) or a share of the slowest server's maximum (50%)"
)]
pub struct NotARate(pub String);

/// Everything a comparison needs, checked before any server starts. Each fact is kept once:
/// the durations and the engine in [`Self::settings`] (as `run.json` records them), the
/// scenarios and rates here.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The settings as recorded.
    pub settings: CompareSettings,
    /// The contenders, in the order asked for.
    pub contenders: Vec<Contender>,
    /// The scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// The sweep's rates, with their labels.
    pub rates: Vec<(String, Rate)>,
    /// The scenarios swept, in order.
    pub swept: Vec<Scenario>,
    /// Where the contenders are built.
    pub site: BuildSite,
    /// The results folder.
    pub out: PathBuf,
    /// The cost phase after the sweep (`None` with `--no-cost`): the contenders' binaries,
    /// the scenarios and counts, the tools found.
    pub cost: Option<CostPlan>,
    /// Where the database scenarios' database comes from.
    pub database: DatabasePlan,
    /// The URL every local server gets (`--database-url`), once the database is open.
    pub database_url: Option<String>,
    /// Idle connections each local server holds in the idle phase (0: no idle phase).
    pub idle_connections: u32,
}

impl Plan {
    /// The command line of a local server, on port 0 with the run's threads and database.
    pub fn server_args(&self) -> Vec<String> {
        let mut args = vec![
            "--addr".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--threads".to_owned(),
            self.settings.server_threads.to_string(),
        ];
        if let Some(url) = &self.database_url {
            args.extend(["--database-url".to_owned(), url.clone()]);
        }
        args
    }
}

/// The unrecorded start of every open-loop load, in which its connections open. Without it
/// the first request of each connection carried a connect: at 9k req/s on 64 connections,
/// that raised the p99 from about 70 to about 130 µs (median of six 0.6 s loads each way).
pub const OPEN_LOOP_WARMUP: Duration = Duration::from_millis(50);

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or_default()
}

impl Plan {
    /// Measured time of each closed-loop load.
    pub fn duration(&self) -> Duration {
        seconds(self.settings.duration_s)
    }

    /// Load on a freshly started contender before its first scenario.
    pub fn warmup(&self) -> Duration {
        seconds(self.settings.warmup_s)
    }

    /// Unrecorded load before each scenario.
    pub fn scenario_warmup(&self) -> Duration {
        seconds(self.settings.scenario_warmup_s)
    }

    /// Measured time of each open-loop load.
    pub fn sweep_duration(&self) -> Duration {
        seconds(self.settings.sweep_duration_s)
    }

    /// Per-request timeout.
    pub fn timeout(&self) -> Duration {
        seconds(self.settings.timeout_s)
    }

    /// The load generator's engine.
    pub fn engine(&self) -> EngineKind {
        self.settings.engine
    }

    /// Whether sweep round `round` measures the common rate: its first round does (the
    /// closed-loop rounds after the first measure it too, numbered as theirs), and rounds past
    /// the closed loop's count.
    pub fn common_rate_in_sweep(&self, round: u32) -> bool {
        round == 1 || round > self.settings.rounds
    }

    /// Seconds of the loads at the common rates in a closed-loop visit after the first round.
    fn common_rate_seconds(&self) -> f64 {
        if self.rates.is_empty() {
            return 0.0;
        }
        (self.sweep_duration() + OPEN_LOOP_WARMUP).as_secs_f64() * self.swept.len() as f64
    }

    /// Seconds of load in one visit to one contender in `phase`, for the progress bar.
    pub fn visit_seconds(&self, phase: Phase) -> f64 {
        let warmup = self.warmup().as_secs_f64();
        let scenario_warmup = self.scenario_warmup().as_secs_f64();
        match phase {
            Phase::Closed => {
                warmup
                    + (scenario_warmup + self.duration().as_secs_f64())
                        * self.scenarios.len() as f64
            }
            Phase::Sweep if self.swept.is_empty() || self.rates.is_empty() => 0.0,
            Phase::Sweep => {
                let rate_load = (self.sweep_duration() + OPEN_LOOP_WARMUP).as_secs_f64();
                warmup
                    + (scenario_warmup + rate_load * self.rates.len() as f64)
                        * self.swept.len() as f64
            }
        }
    }

    /// Seconds of load in the whole run, for the progress bar.
    pub fn total_seconds(&self) -> f64 {
        let later_rounds = f64::from(self.settings.rounds.saturating_sub(1));
        self.contenders.len() as f64
            * (self.visit_seconds(Phase::Closed) * f64::from(self.settings.rounds)
                + self.common_rate_seconds() * later_rounds
                + self.visit_seconds(Phase::Sweep) * f64::from(self.settings.sweep_rounds))
    }

    /// The sweep of each swept scenario, from the contenders' median closed-loop maxima in
    /// `closed`: the rates every contender is given. A scenario no contender was measured on
    /// is not swept.
    pub fn sweeps(&self, closed: &[ClosedSample]) -> Vec<ScenarioSweep> {
        self.swept
            .iter()
            .filter_map(|scenario| {
                let maxima: Vec<(&str, Option<f64>)> = self
                    .contenders
                    .iter()
                    .map(|c| {
                        let rps: Vec<f64> = closed
                            .iter()
                            .filter(|s| s.contender == c.label && s.scenario == scenario.name)
                            .map(|s| s.measure.rps)
                            .collect();
                        (c.label.as_str(), (!rps.is_empty()).then(|| median(&rps)))
                    })
                    .collect();
                plan_sweep(scenario.name, &self.rates, &maxima)
            })
            .collect()
    }
}

/// Rounds `rate` to two significant digits: 43,217 → 43,000; 987 → 990.
pub fn round_rate(rate: f64) -> f64 {
    if rate <= 0.0 || !rate.is_finite() {
        return 0.0;
    }
    let step = 10f64.powf(rate.log10().floor() - 1.0);
    ((rate / step).round() * step).max(1.0)
}

/// The sweep of `scenario` from each contender's median closed-loop maximum (`None` for one
/// that was not measured): every rate the same for all contenders, lowest first, shares taken
/// of the slowest one's maximum; the headline rate is the middle one. `None` when no server
/// was measured.
pub fn plan_sweep(
    scenario: &str,
    rates: &[(String, Rate)],
    maxima: &[(&str, Option<f64>)],
) -> Option<ScenarioSweep> {
    let (slowest, slowest_rps) = maxima
        .iter()
        .filter_map(|(name, max)| max.filter(|m| *m > 0.0).map(|m| (*name, m)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let mut planned: Vec<PlannedRate> = rates
        .iter()
        .map(|(label, rate)| PlannedRate {
            label: label.clone(),
            rate: round_rate(match rate {
                Rate::PerSecond(r) => *r,
                Rate::OfSlowest(share) => share * slowest_rps,
            }),
        })
        .collect();
    planned.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    if planned.is_empty() {
        return None;
    }
    Some(ScenarioSweep {
        scenario: scenario.to_owned(),
        slowest_server: slowest.to_owned(),
        slowest_rps,
        headline: planned.len() / 2,
        rates: planned,
    })
}

/// When a closed-loop load is measured again. Steal averaged 8.6 % over the run of 2026-12-03
/// and reached 52 % in one load: 20 % catches such loads without repeating the ordinary ones.
/// The speed probe (2 ms of fixed work) varies by about 5 % between loads on a quiet machine.
pub const REPEAT: RepeatSettings = RepeatSettings {
    steal: 0.20,
    slowdown: 0.30,
    limit: 2,
};

/// The closed-loop rounds of a default comparison: 6, not 10 as for the ten Rust servers, and
/// the fewest in which the signed-rank test can tell two servers apart. A visit of one server
/// (start, verify, warmup, seven scenarios, the common rates, stop) takes about 5 s here, so
/// sixteen servers take about 8 minutes of rounds.
const DEFAULT_ROUNDS: u32 = QUICK_BUILD_ROUNDS;
const _: () = assert!(
    DEFAULT_ROUNDS >= QUICK_BUILD_ROUNDS,
    "the signed-rank test needs six"
);

/// The sweep's rounds of a default comparison: one. Sixteen servers take about 2 minutes per
/// round of the sweep (two scenarios at five rates each, after a fresh start), and a second one
/// would take the default comparison past 12 minutes with the cost phase; the p99 it quotes is
/// set by the VM's 3–5 ms stalls either way.
const DEFAULT_SWEEP_ROUNDS: u32 = 1;

/// The fewest rounds in which the signed-rank test can call a pair of builds significant
/// (p = 2/64 when all six rounds agree): with `--quick`'s 2 every pair ties, so a comparison of
/// builds could never catch a change.
const QUICK_BUILD_ROUNDS: u32 = 6;

/// The closed-loop rounds: as given, else [`DEFAULT_ROUNDS`], or with `--quick` 2 (for a look
/// at the servers) or [`QUICK_BUILD_ROUNDS`] when a contender is a git revision (a question
/// about a change).
fn closed_loop_rounds(given: Option<u32>, quick: bool, comparing_builds: bool) -> u32 {
    match (given, quick, comparing_builds) {
        (Some(rounds), ..) => rounds,
        (None, false, _) => DEFAULT_ROUNDS,
        (None, true, false) => 2,
        (None, true, true) => QUICK_BUILD_ROUNDS,
    }
}

/// Checks `args` and makes the plan; `started_at` names the default results folder. Nothing
/// is built yet ([`contender::build_all`] does that).
pub fn make_plan(args: &CompareArgs, started_at: &str) -> Result<Plan> {
    let engine = args.engine;
    let cpus = cpu_split(args)?;
    let database = DatabasePlan::of(args, &cpus);
    let (scenarios, left_out) = scenarios(args, engine, &database)?;
    let rates = rates(args)?;
    let swept = swept_scenarios(args, &scenarios)?;
    let client_threads = u32::try_from(cpus.client.len()).unwrap_or(1).max(1);
    if args.connections < client_threads {
        bail!(
            "{} connections cannot be spread over {client_threads} load threads: give -c {client_threads} or more",
            args.connections
        );
    }
    let site = build_site(args);
    let contenders = match &args.targets {
        Some(targets) => contender::remote(&crate::remote::parse_targets(targets)?)?,
        None => contender::contenders(&contender_names(args), &site)?,
    };
    let durations = Durations::of(args);
    let sweep_rounds = if rates.is_empty() || swept.is_empty() {
        0
    } else {
        args.sweep_rounds.unwrap_or(DEFAULT_SWEEP_ROUNDS)
    };
    let settings = CompareSettings {
        contenders: contenders.iter().map(|c| c.label.clone()).collect(),
        scenarios: scenarios.iter().map(|s| s.name.to_owned()).collect(),
        pipeline_depth: scenario::PIPELINE_DEPTH,
        connections: args.connections,
        duration_s: durations.duration.as_secs_f64(),
        warmup_s: durations.warmup.as_secs_f64(),
        scenario_warmup_s: durations.scenario_warmup.as_secs_f64(),
        rounds: closed_loop_rounds(
            args.rounds,
            args.quick,
            contenders
                .iter()
                .any(|c| c.checkout != contender::Checkout::WorkingTree),
        ),
        rates: rates.iter().map(|(label, _)| label.clone()).collect(),
        sweep_scenarios: swept.iter().map(|s| s.name.to_owned()).collect(),
        sweep_rounds,
        sweep_duration_s: durations.sweep_duration.as_secs_f64(),
        server_threads: cpus.server.len().max(1),
        client_threads,
        cpus,
        engine,
        timeout_s: args.timeout.as_secs_f64(),
        quick: args.quick,
        left_out,
        // Filled in once the database is open ([`super::database::Database::open`]).
        database: None,
        repeat: Some(REPEAT),
    };
    let out = out_dir(args, started_at);
    let cost = cost_phase(args, &contenders, &settings.cpus, &out, &database)?;
    Ok(Plan {
        settings,
        contenders,
        scenarios,
        rates,
        swept,
        site,
        out,
        cost,
        database,
        database_url: None,
        idle_connections: args.idle_connections.unwrap_or(if args.quick {
            QUICK_IDLE_CONNECTIONS
        } else {
            DEFAULT_IDLE_CONNECTIONS
        }),
    })
}

/// The cost phase's plan, unless `--no-cost` or `--quick` leaves it out or no contender runs
/// here: a remote server's process is not here to run under valgrind or to count syscalls of.
/// `--quick` has none because sixteen servers under valgrind take over two minutes, past its
/// 90 seconds; `loadgen cost` counts any server on its own.
fn cost_phase(
    args: &CompareArgs,
    contenders: &[Contender],
    cpus: &CpuSplit,
    out: &Path,
    database: &DatabasePlan,
) -> Result<Option<CostPlan>> {
    let local = |c: &Contender| !matches!(c.checkout, contender::Checkout::Remote { .. });
    if !wants_cost_phase(args) || !contenders.iter().any(local) {
        return Ok(None);
    }
    let tools = ToolPaths::detect(std::env::var_os("PATH").as_deref());
    Ok(Some(cost_plan(
        args, contenders, cpus, tools, out, database,
    )?))
}

/// Whether `args` leave the cost phase in: not with `--no-cost` or `--quick`.
fn wants_cost_phase(args: &CompareArgs) -> bool {
    !args.no_cost && !args.quick
}

/// The cost phase of a comparison: every contender's binary, the few scenarios and small
/// counts that keep sixteen servers within about two minutes (`loadgen cost` measures every
/// scenario with larger counts, twice), measured once each.
pub fn cost_plan(
    args: &CompareArgs,
    contenders: &[Contender],
    cpus: &CpuSplit,
    tools: ToolPaths,
    out: &Path,
    database: &DatabasePlan,
) -> Result<CostPlan> {
    let mut scenarios = crate::cost::scenarios(&args.cost_scenarios)?;
    if database.off().is_some() {
        scenarios.retain(|s| !s.reads_database());
    }
    Ok(CostPlan {
        servers: contenders
            .iter()
            .filter(|c| !matches!(c.checkout, contender::Checkout::Remote { .. }))
            .map(|c| ServerBinary {
                name: c.label.clone(),
                path: c.binary.clone(),
            })
            .collect(),
        scenarios,
        settings: CostSettings {
            callgrind_requests: args.cost_requests,
            dhat_requests: args.cost_requests,
            load_requests: args.cost_load_requests,
            connections: args.connections,
            warmup_requests: COST_WARMUP_REQUESTS,
            // Counts repeat to within a fraction of a per cent: one measurement each here,
            // two in `loadgen cost`.
            repeat: 1,
            // One server thread, as `loadgen cost`: the counts of one thread's work.
            server_threads: 1,
            cpus: cpus.clone(),
        },
        tools,
        work_dir: out.join(COST_WORK_DIR),
        database_url: None,
    })
}

/// Unmeasured requests before each cost scenario's first sample.
pub const COST_WARMUP_REQUESTS: u64 = 50;
/// The folder, inside the results folder, where the tools' files are read; removed after.
pub const COST_WORK_DIR: &str = "cost-work";

/// The loads' durations: as given, else the defaults (shorter with `--quick`).
struct Durations {
    duration: Duration,
    warmup: Duration,
    scenario_warmup: Duration,
    sweep_duration: Duration,
}

impl Durations {
    fn of(args: &CompareArgs) -> Self {
        let pick = |given: Option<Duration>, normal: u64, quick: u64| {
            given.unwrap_or(Duration::from_millis(if args.quick {
                quick
            } else {
                normal
            }))
        };
        // Many short rounds rather than a few long ones: on the shared VM the slow spells last
        // seconds, longer than one load, so more rounds help the median more than longer loads
        // do. 300 ms rather than the 350 ms of the eight hello-world scenarios: the four
        // database scenarios added 16 × 6 × 4 loads, and 50 ms off each of the 1,152 loads
        // gives back about a minute of the 15-minute budget. --quick's 250 ms keeps sixteen
        // servers' two rounds of four scenarios within its 90 seconds.
        Self {
            duration: pick(args.duration, 300, 250),
            warmup: pick(args.warmup, 200, 150),
            scenario_warmup: pick(args.scenario_warmup, 100, 100),
            sweep_duration: pick(args.sweep_duration, 400, 300),
        }
    }
}

/// The contenders named (positional and `--servers`; `rust` or `go` names every server of that
/// side), or every server that can be built here (the Go ones need Go: without it they are left
/// out, with one line that says so).
fn contender_names(args: &CompareArgs) -> Vec<String> {
    let named: Vec<String> = args
        .contenders
        .iter()
        .chain(&args.servers)
        .flat_map(|name| {
            let side: Vec<String> = contract::SERVERS
                .iter()
                .filter(|s| s.build.language().eq_ignore_ascii_case(name))
                .map(|s| s.name.to_owned())
                .collect();
            if side.is_empty() {
                vec![name.clone()]
            } else {
                side
            }
        })
        .collect();
    if named.is_empty() {
        harness::runnable_servers()
            .iter()
            .map(|s| s.name.to_owned())
            .collect()
    } else {
        named
    }
}

/// `given`, or `default` when nothing was given.
fn or_default(given: &[String], default: &[&str]) -> Vec<String> {
    if given.is_empty() {
        default.iter().map(|s| (*s).to_owned()).collect()
    } else {
        given.to_vec()
    }
}

/// The scenarios asked for, less those `engine` cannot run (with why).
fn scenarios(
    args: &CompareArgs,
    engine: EngineKind,
    database: &DatabasePlan,
) -> Result<(Vec<Scenario>, Vec<LeftOut>)> {
    let default = if args.quick {
        QUICK_SCENARIOS
    } else {
        DEFAULT_SCENARIOS
    };
    let asked = Scenario::select(&or_default(&args.scenarios, default))?;
    let (kept, dropped): (Vec<Scenario>, Vec<Scenario>) = asked
        .into_iter()
        .partition(|s| s.pipeline == 1 || engine.pipelines());
    let mut left_out: Vec<LeftOut> = dropped
        .iter()
        .map(|s| LeftOut {
            scenario: s.name.to_owned(),
            why: format!(
                "the {} engine cannot pipeline: it keeps one request in flight per connection",
                engine.name()
            ),
        })
        .collect();
    let (kept, no_database): (Vec<Scenario>, Vec<Scenario>) = kept
        .into_iter()
        .partition(|s| !s.needs_database() || database.off().is_none());
    left_out.extend(no_database.iter().map(|s| LeftOut {
        scenario: s.name.to_owned(),
        why: format!("no database: {}", database.off().unwrap_or_default()),
    }));
    if kept.is_empty() {
        bail!(
            "nothing to measure: the {} engine cannot pipeline, and only pipelined scenarios were asked for",
            engine.name()
        );
    }
    Ok((kept, left_out))
}

/// The sweep's rates, parsed (none with `--no-sweep`).
fn rates(args: &CompareArgs) -> Result<Vec<(String, Rate)>> {
    if args.no_sweep {
        return Ok(Vec::new());
    }
    let default = if args.quick {
        QUICK_RATES
    } else {
        DEFAULT_RATES
    };
    or_default(&args.rates, default)
        .iter()
        .map(|text| {
            let rate = Rate::parse(text)?;
            Ok((text.trim().to_owned(), rate))
        })
        .collect()
}

/// Which CPUs serve and which load.
fn cpu_split(args: &CompareArgs) -> Result<CpuSplit> {
    Ok(match (&args.server_cpus, &args.client_cpus) {
        (Some(server), Some(client)) => {
            CpuSplit::given(parse_cpu_list(server)?, parse_cpu_list(client)?)?
        }
        _ => CpuSplit::halves(&available_cpus()),
    })
}

/// Where the working tree's binaries are built (or found, with `--server-bin-dir`), and where
/// revisions get their worktrees.
fn build_site(args: &CompareArgs) -> BuildSite {
    let workspace = workspace_root();
    let target = cargo_target_dir();
    let revisions = target.join("contenders");
    let (bin_dir, target_dir) = match &args.server_bin_dir {
        Some(dir) => (dir.clone(), None),
        None => (target.join("release"), Some(target)),
    };
    BuildSite {
        workspace,
        bin_dir,
        target_dir,
        revisions,
        cargo: std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from),
    }
}

/// `--out`, or `results/<started_at>-<host>` in the workspace.
fn out_dir(args: &CompareArgs, started_at: &str) -> PathBuf {
    if let Some(out) = &args.out {
        return out.clone();
    }
    let workspace = workspace_root();
    let results = if workspace.join("results").is_dir() {
        workspace.join("results")
    } else {
        PathBuf::from("results")
    };
    results.join(format!(
        "{}-{}",
        started_at.replace(':', "-"),
        machine::hostname()
    ))
}

/// The scenarios to sweep: `--sweep-scenarios`, or those of [`DEFAULT_SWEEP`] (with
/// `--quick`, [`QUICK_SWEEP`]) that run, or else the first scenario that is not pipelined.
fn swept_scenarios(args: &CompareArgs, scenarios: &[Scenario]) -> Result<Vec<Scenario>> {
    if args.no_sweep {
        return Ok(Vec::new());
    }
    let find = |name: &str| scenarios.iter().find(|s| s.name == name).copied();
    if !args.sweep_scenarios.is_empty() {
        return args
            .sweep_scenarios
            .iter()
            .map(|name| {
                let Some(scenario) = find(name) else {
                    bail!("--sweep-scenarios names {name:?}, which is not among the scenarios run");
                };
                if scenario.pipeline > 1 {
                    bail!(
                        "the {name} scenario cannot be swept: the open loop times single requests, and a pipelined batch is not one"
                    );
                }
                Ok(scenario)
            })
            .collect();
    }
    let wanted = if args.quick {
        QUICK_SWEEP
    } else {
        DEFAULT_SWEEP
    };
    let default: Vec<Scenario> = wanted.iter().filter_map(|n| find(n)).collect();
    Ok(if default.is_empty() {
        scenarios
            .iter()
            .find(|s| s.pipeline == 1)
            .copied()
            .into_iter()
            .collect()
    } else {
        default
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_comparison_of_builds_has_enough_rounds_to_find_a_difference() {
        assert_eq!(closed_loop_rounds(None, false, true), DEFAULT_ROUNDS);
        assert_eq!(closed_loop_rounds(None, true, false), 2);
        assert_eq!(closed_loop_rounds(None, true, true), QUICK_BUILD_ROUNDS);
        assert_eq!(closed_loop_rounds(Some(3), true, true), 3, "as given");
    }

    fn compare_args(args: &[&str]) -> CompareArgs {
        use clap::Parser as _;
        let cli = crate::cli::Cli::try_parse_from([&["loadgen", "compare"], args].concat());
        match cli.unwrap().command {
            crate::cli::Command::Compare(args) => args,
            _ => unreachable!("compare parses as compare"),
        }
    }

    #[test]
    fn quick_is_short_loads_without_sweep_or_cost_and_a_smaller_idle_phase() {
        let quick = compare_args(&["--quick"]);
        assert!(rates(&quick).unwrap().is_empty(), "no sweep");
        assert_eq!(Durations::of(&quick).duration, Duration::from_millis(250));
        assert!(!wants_cost_phase(&quick));
        assert!(wants_cost_phase(&compare_args(&[])));
        assert!(!wants_cost_phase(&compare_args(&["--no-cost"])));
        assert!(QUICK_SCENARIOS.contains(&"db"));
        let default = compare_args(&[]);
        assert_eq!(rates(&default).unwrap().len(), DEFAULT_RATES.len());
        assert_eq!(Durations::of(&default).duration, Duration::from_millis(300));
        let rates_given = compare_args(&["--quick", "--rates", "50%"]);
        assert_eq!(
            rates(&rates_given).unwrap().len(),
            1,
            "a sweep when asked for"
        );
    }

    #[test]
    fn rates_parse_as_absolute_or_share() {
        assert_eq!(Rate::parse("5000"), Ok(Rate::PerSecond(5000.0)));
        assert_eq!(Rate::parse(" 50% "), Ok(Rate::OfSlowest(0.5)));
        assert!(Rate::parse("0").is_err());
        assert!(Rate::parse("150%").is_err());
        assert!(Rate::parse("fast").is_err());
    }

    #[test]
    fn rates_round_to_two_significant_digits() {
        assert_eq!(round_rate(43_217.0), 43_000.0);
        assert_eq!(round_rate(987.0), 990.0);
        assert_eq!(round_rate(15.4), 15.0);
        assert_eq!(round_rate(0.0), 0.0);
    }

    #[test]
    fn the_sweep_gives_every_server_the_same_rates_from_the_slowest_maximum() {
        let rates: Vec<(String, Rate)> = ["50%", "10%", "90%", "2000"]
            .iter()
            .map(|t| (t.to_string(), Rate::parse(t).unwrap()))
            .collect();
        let maxima = [
            ("hyper", Some(171_000.0)),
            ("std", Some(86_400.0)),
            ("warp", None),
            ("axum", Some(0.0)),
        ];
        let sweep = plan_sweep("json", &rates, &maxima).unwrap();
        assert_eq!(sweep.slowest_server, "std");
        assert_eq!(sweep.slowest_rps, 86_400.0);
        let planned: Vec<(&str, f64)> = sweep
            .rates
            .iter()
            .map(|r| (r.label.as_str(), r.rate))
            .collect();
        assert_eq!(
            planned,
            [
                ("2000", 2_000.0),
                ("10%", 8_600.0),
                ("50%", 43_000.0),
                ("90%", 78_000.0)
            ]
        );
        assert_eq!(sweep.headline_rate().unwrap().label, "50%");
        assert!(plan_sweep("json", &rates, &[("std", None)]).is_none());
        assert!(plan_sweep("json", &[], &maxima).is_none());
    }
}
