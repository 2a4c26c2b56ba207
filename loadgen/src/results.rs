//! A comparison as data: what `run.json` holds. The plan's facts (settings, contenders, the
//! sweep's rates) and every raw measurement, keyed by contender label and scenario name. Every
//! figure of a report (medians, intervals, verdicts, noise, status) is derived from this by
//! [`crate::analysis::analyze`], so a report made again from an old run uses today's analysis.
//!
//! `compare` makes these values and `report` renders them; neither is imported here.

use serde::{Deserialize, Serialize};

use crate::cgroup::CpuMethod;
use crate::engine::EngineKind;
use crate::machine::{CpuSplit, Environment};
use crate::stats::LatencySummary;
use crate::strays::StrayServer;

pub mod cost;
pub mod legacy;
pub mod marginal;

/// Version of the layout of `run.json`. Layout 3 keeps the raw measurements keyed by contender;
/// layout 2 kept figures computed at run time, one entry per server, and is read by
/// [`legacy::from_v2`].
pub const COMPARE_SCHEMA_VERSION: u32 = 3;

/// A whole comparison: `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Layout version ([`COMPARE_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When it started, UTC (RFC 3339).
    pub started_at: String,
    /// When it ended, UTC (RFC 3339).
    pub finished_at: String,
    /// Stopped early (Ctrl-C): what was measured so far.
    pub partial: bool,
    /// The command line that made it.
    pub command: String,
    /// The machine and the build.
    pub environment: Environment,
    /// Every setting.
    pub settings: CompareSettings,
    /// What was measured, in the order asked for.
    pub contenders: Vec<ContenderRecord>,
    /// The open-loop sweep of each swept scenario: the same rates for every contender, fixed
    /// once from the closed-loop maxima.
    pub sweeps: Vec<ScenarioSweep>,
    /// Every measurement, as it came.
    pub measurements: Measurements,
    /// Servers of this workspace that the run did not start, found on the servers' CPUs before
    /// it measured (left alone; see [`crate::strays`]).
    #[serde(default)]
    pub stray_servers: Vec<StrayServer>,
    /// The cost phase's counts per request (absent with `--no-cost`, and in older runs).
    #[serde(default)]
    pub cost: Option<cost::CostTable>,
    /// The idle phase: what holding many idle keep-alive connections costs each server
    /// (absent with `--idle-connections 0`, and in older runs).
    #[serde(default)]
    pub idle: Option<IdleTable>,
}

impl RunRecord {
    /// The sweep of `scenario`, if it was swept.
    pub fn sweep(&self, scenario: &str) -> Option<&ScenarioSweep> {
        self.sweeps.iter().find(|s| s.scenario == scenario)
    }

    /// The contender labelled `label`.
    pub fn contender(&self, label: &str) -> Option<&ContenderRecord> {
        self.contenders.iter().find(|c| c.label == label)
    }

    /// Requests written together in `scenario` (1: not pipelined).
    pub fn pipeline_of(&self, scenario: &str) -> u32 {
        if scenario == PIPELINED {
            self.settings.pipeline_depth
        } else {
            1
        }
    }

    /// How tables and charts name `scenario` ([`scenario_label`]).
    pub fn scenario_label(&self, scenario: &str) -> String {
        scenario_label(scenario, self.pipeline_of(scenario))
    }

    /// How tables and charts name each of `scenarios`.
    pub fn scenario_labels(&self, scenarios: &[String]) -> Vec<String> {
        scenarios.iter().map(|s| self.scenario_label(s)).collect()
    }
}

/// The name of the pipelined scenario (the plaintext route, requests written together).
pub const PIPELINED: &str = "pipelined";
/// Requests per write in the pipelined scenario, as in TechEmpower's plaintext test.
pub const PIPELINE_DEPTH: u32 = 16;

/// A scenario's name as tables and charts show it: a pipelined one carries its depth
/// (`pipelined ×16`).
pub fn scenario_label(name: &str, pipeline: u32) -> String {
    if pipeline > 1 {
        format!("{name} ×{pipeline}")
    } else {
        name.to_owned()
    }
}

/// One contender: a server at one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContenderRecord {
    /// How tables, charts and CSVs name it: `hyper`, or `hyper@HEAD~1`.
    pub label: String,
    /// The server whose contract and code it serves.
    pub server: String,
    /// The git revision it was built at, as given (`HEAD~1`); `None` for the working tree.
    #[serde(default)]
    pub revision: Option<String>,
    /// That revision's commit id.
    #[serde(default)]
    pub commit: Option<String>,
    /// The binary that ran.
    pub binary: String,
    /// The server's stderr, relative to the results folder (`servers/hyper.stderr.log`).
    #[serde(default)]
    pub stderr_log: Option<String>,
    /// The URL of a server that runs elsewhere (`compare --targets`): not started, not
    /// restarted between rounds, its CPU time and memory not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_url: Option<String>,
}

/// Which part of a comparison a measurement comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The closed-loop rounds: every scenario at its maximum.
    Closed,
    /// The open-loop sweep: the swept scenarios at common rates.
    Sweep,
}

impl Phase {
    /// How progress and failure lines name a round of it.
    pub fn round_name(self) -> &'static str {
        match self {
            Self::Closed => "round",
            Self::Sweep => "sweep round",
        }
    }
}

/// Every measurement of a comparison, as the rounds returned them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// One per contender visit: did it start, how did it stop, how much memory.
    pub visits: Vec<VisitRecord>,
    /// One per closed-loop load measured.
    pub closed: Vec<ClosedSample>,
    /// One per open-loop load measured.
    pub open: Vec<OpenSample>,
    /// Exact costs per request (instructions, allocations, …), one per count measured. Empty
    /// unless a cost phase ran; every count found here is compared like throughput.
    #[serde(default)]
    pub costs: Vec<CostSample>,
    /// What went wrong, one entry each.
    pub failures: Vec<FailureRecord>,
    /// Closed-loop loads measured again because the machine was disturbed during them (the
    /// discarded measurement's steal and probe, and why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<RepeatRecord>,
}

/// One visit to one contender: started afresh, loaded, stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRecord {
    /// The contender's label.
    pub contender: String,
    /// Closed loop or sweep.
    pub phase: Phase,
    /// Round number, from 1.
    pub round: u32,
    /// It started and printed its ready line.
    pub started: bool,
    /// SIGTERM ended it with exit code 0.
    pub clean_exit: bool,
    /// Its peak resident memory, KiB; `None` for a remote server, which cannot be read.
    pub rss_peak_kib: Option<u64>,
    /// How its CPU time was counted; `None` for a remote server, and in older runs (which
    /// counted clock ticks of `/proc/PID/stat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_method: Option<CpuMethod>,
    /// Its cgroup's peak memory (`memory.peak`), KiB, where the kernel keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_peak_kib: Option<u64>,
}

/// Something that went wrong, with where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// The contender's label.
    pub contender: String,
    /// Closed loop or sweep.
    pub phase: Phase,
    /// Round number, from 1.
    pub round: u32,
    /// The scenario, when it concerned one; `None` for the server itself.
    pub scenario: Option<String>,
    /// What happened, one line.
    pub message: String,
}

impl FailureRecord {
    /// `round 2: …` (the contender and scenario are said by whoever lists it).
    pub fn line(&self) -> String {
        format!(
            "{} {}: {}",
            self.phase.round_name(),
            self.round,
            self.message
        )
    }
}

/// One closed-loop load of one scenario on one contender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosedSample {
    /// The contender's label.
    pub contender: String,
    /// The scenario's name.
    pub scenario: String,
    /// What it measured.
    #[serde(flatten)]
    pub measure: RoundResult,
}

/// One open-loop load of one scenario on one contender at one rate of its sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenSample {
    /// The contender's label.
    pub contender: String,
    /// The scenario's name.
    pub scenario: String,
    /// Sweep round, from 1.
    pub round: u32,
    /// The rate's label (see [`PlannedRate::label`]).
    pub label: String,
    /// Requests per second asked for.
    pub target_rate: f64,
    /// Requests per second sent.
    pub achieved_rate: f64,
    /// Latency from each request's due time (HdrHistogram V2, base64).
    pub latency: String,
    /// Latency from each request's send (HdrHistogram V2, base64); `None` where it was not
    /// kept (a run converted from layout 2).
    #[serde(default)]
    pub latency_uncorrected: Option<String>,
    /// Send minus due time (HdrHistogram V2, base64); `None` where it was not kept.
    #[serde(default)]
    pub send_lag: Option<String>,
    /// The load generator fell behind its schedule.
    pub client_lagged: bool,
    /// How many loads the sample holds: 1, or the rounds that layout 2 merged into one point.
    #[serde(default = "one")]
    pub loads: u32,
}

fn one() -> u32 {
    1
}

/// One exact count per request of one scenario on one contender (from the cost phase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostSample {
    /// The contender's label.
    pub contender: String,
    /// The scenario's name.
    pub scenario: String,
    /// Round number, from 1 (counts repeat, so one round is usual).
    pub round: u32,
    /// What was counted: `instructions`, `allocations`, `syscalls`, …
    pub count: cost::Count,
    /// The count per request (lower is better).
    pub per_request: f64,
}

/// One round of one scenario on one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundResult {
    /// Round number, from 1.
    pub round: u32,
    /// Answers per second.
    pub rps: f64,
    /// Answers.
    pub responses: u64,
    /// Answers with another status than expected, plus failed requests.
    pub unexpected: u64,
    /// Measured seconds.
    pub duration_s: f64,
    /// Latency, µs.
    pub latency_us: LatencySummary,
    /// Server CPU time during the load, µs; `None` for a remote server, which cannot be read.
    pub server_cpu_us: Option<f64>,
    /// Load generator CPU time during the load, µs (sum over load threads).
    pub client_cpu_us: f64,
    /// How busy each load thread was.
    pub client_cpu: Vec<f64>,
    /// A load thread was saturated.
    pub client_bound: bool,
    /// Share of the machine's CPU time the hypervisor stole during the load.
    pub steal: f64,
    /// CPUs' worth of work by other processes during the load.
    pub other_cpus: f64,
    /// CPU time of the database during the load, µs, when it ran on this machine (the
    /// database scenarios with a throwaway cluster); `None` otherwise.
    #[serde(default)]
    pub database_cpu_us: Option<f64>,
    /// µs a fixed piece of work took on the server CPU just before the load (0: not probed).
    #[serde(default)]
    pub probe_us: f64,
    /// Latencies (HdrHistogram V2, base64).
    pub histogram: String,
}

impl RoundResult {
    /// Server CPU time per answer, µs; `None` when it was not measured (a remote server).
    pub fn server_cpu_per_answer(&self) -> Option<f64> {
        let cpu = self.server_cpu_us?;
        Some(if self.responses > 0 {
            cpu / self.responses as f64
        } else {
            0.0
        })
    }
}

/// The sweep of one scenario: rates fixed once from every contender's closed-loop maximum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSweep {
    /// Scenario name.
    pub scenario: String,
    /// The contender with the lowest maximum in the first closed-loop round, which fixes the
    /// rates (the median of all rounds in runs made before the common rate was measured in
    /// every round).
    pub slowest_server: String,
    /// That maximum, req/s.
    pub slowest_rps: f64,
    /// The rates, lowest first.
    pub rates: Vec<PlannedRate>,
    /// Index into `rates` of the common rate whose p99 is the headline latency.
    pub headline: usize,
}

impl ScenarioSweep {
    /// The common rate of the headline latency.
    pub fn headline_rate(&self) -> Option<&PlannedRate> {
        self.rates.get(self.headline)
    }
}

/// One rate of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRate {
    /// As given: `50%` or `5000`.
    pub label: String,
    /// Requests per second, rounded to two significant digits.
    pub rate: f64,
}

/// The settings of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareSettings {
    /// The contenders' labels, in the order asked for (each round shuffles them).
    #[serde(alias = "servers")]
    pub contenders: Vec<String>,
    /// Scenarios, in order.
    pub scenarios: Vec<String>,
    /// Requests written together on a connection in the pipelined scenario.
    pub pipeline_depth: u32,
    /// Connections of each load.
    pub connections: u32,
    /// Measured seconds of each closed-loop load.
    pub duration_s: f64,
    /// Seconds of load on each freshly started server before its first scenario.
    pub warmup_s: f64,
    /// Seconds of unrecorded load before each scenario.
    pub scenario_warmup_s: f64,
    /// Closed-loop rounds.
    pub rounds: u32,
    /// The sweep's open-loop rates, as given: shares of the slowest server's maximum (`50%`)
    /// or requests per second (`5000`).
    pub rates: Vec<String>,
    /// The scenarios swept.
    pub sweep_scenarios: Vec<String>,
    /// Rounds of the sweep.
    pub sweep_rounds: u32,
    /// Measured seconds of each open-loop load.
    pub sweep_duration_s: f64,
    /// Which CPUs served and which loaded.
    pub cpus: CpuSplit,
    /// `--threads` of every server.
    pub server_threads: usize,
    /// Load threads.
    pub client_threads: u32,
    /// The load generator's engine.
    pub engine: EngineKind,
    /// Per-request timeout, seconds.
    pub timeout_s: f64,
    /// Whether this was a `--quick` run.
    pub quick: bool,
    /// Scenarios asked for but left out, with why (the pipelined one with an engine that
    /// cannot pipeline, the database ones without a database).
    #[serde(default)]
    pub left_out: Vec<LeftOut>,
    /// The database of the database scenarios, when they ran (runs before 2026-12-03 had none).
    #[serde(default)]
    pub database: Option<DatabaseSettings>,
    /// When a closed-loop load that the hypervisor disturbed is measured again; `None` in runs
    /// made before loads were repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RepeatSettings>,
}

/// When a closed-loop load is measured again: the machine was disturbed during it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RepeatSettings {
    /// The hypervisor stole more than this share of the CPU time during the load.
    pub steal: f64,
    /// The CPU speed probe before the load took more than this share longer than the run's
    /// fastest probe so far.
    pub slowdown: f64,
    /// Repeats of one load at most; the last measurement counts whatever it saw.
    pub limit: u32,
}

/// A closed-loop load measured again, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatRecord {
    /// The contender's label.
    pub contender: String,
    /// The scenario's name.
    pub scenario: String,
    /// Round number, from 1.
    pub round: u32,
    /// Which repeat: 1 or 2.
    pub attempt: u32,
    /// Steal during the discarded load (share of CPU time).
    pub steal: f64,
    /// How much longer its speed probe took than the fastest so far (0.25: 25 % longer).
    pub slowdown: f64,
    /// What passed its threshold, one line: `steal 31 % > 15 %`.
    pub reason: String,
}

/// What a run records of the database behind its database scenarios.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSettings {
    /// Where it came from: `throwaway PostgreSQL 15.x …`, or `existing, at URL` (password
    /// hidden).
    pub source: String,
    /// The CPUs it was pinned to, if any.
    pub cpus: Option<String>,
}

/// A scenario the plan left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// The scenario.
    pub scenario: String,
    /// Why, one line.
    pub why: String,
}

/// The idle phase: each local server started once more, made to hold many idle keep-alive
/// connections, each of which has had one request answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleTable {
    /// Connections each server was asked to hold.
    pub connections: u32,
    /// How soon a request on a fresh connection must be answered while they are held, ms.
    pub fresh_limit_ms: f64,
    /// One entry per local contender, in the order asked for.
    pub servers: Vec<IdleRecord>,
    /// How long the phase took, seconds.
    pub seconds: f64,
}

/// One server holding idle keep-alive connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleRecord {
    /// The contender's label.
    pub contender: String,
    /// Connections opened and answered once, then held idle.
    pub held: u32,
    /// Resident memory (VmRSS) before they were opened, KiB.
    pub rss_before_kib: u64,
    /// Resident memory (VmRSS) once every one of them had its answer, KiB.
    pub rss_after_kib: u64,
    /// Connect, request and whole answer on one more, fresh connection while they were held,
    /// µs; `None` when it was not answered.
    pub fresh_answer_us: Option<f64>,
    /// What went wrong, if anything: fewer connections held than asked, no fresh answer.
    pub error: Option<String>,
}

impl IdleRecord {
    /// The memory growth per held connection, KiB (never negative: a server that gave memory
    /// back meanwhile costs zero); `None` when none was held.
    pub fn kib_per_connection(&self) -> Option<f64> {
        (self.held > 0).then(|| {
            self.rss_after_kib.saturating_sub(self.rss_before_kib) as f64 / f64::from(self.held)
        })
    }

    /// Whether the fresh request was answered within `limit_ms`.
    pub fn answered_within(&self, limit_ms: f64) -> bool {
        self.fresh_answer_us
            .is_some_and(|us| us <= limit_ms * 1000.0)
    }
}

/// Percentiles of a latency distribution, µs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th.
    pub p90: u64,
    /// 99th.
    pub p99: u64,
    /// 99.9th.
    pub p999: u64,
    /// Slowest.
    pub max: u64,
}

impl From<LatencySummary> for Percentiles {
    fn from(s: LatencySummary) -> Self {
        Self {
            p50: s.p50,
            p90: s.p90,
            p99: s.p99,
            p999: s.p999,
            max: s.max,
        }
    }
}

/// Made-up runs for the tests of the analysis and the report.
#[cfg(test)]
pub(crate) mod sample {
    use super::*;
    use crate::stats::LatencyHistogram;

    /// A latency histogram of four answers, 80 µs to 2 ms.
    pub fn histogram() -> LatencyHistogram {
        let mut histogram = LatencyHistogram::default();
        for us in [80, 120, 300, 2_000] {
            histogram.record(us);
        }
        histogram
    }

    /// A closed-loop round at `rps` over 1 s, with `cpu_us` of server CPU per answer and its
    /// load thread `busy`.
    pub fn round(n: u32, rps: f64, cpu_us: f64, busy: f64) -> RoundResult {
        let h = histogram();
        let responses = rps.round() as u64;
        RoundResult {
            round: n,
            rps,
            responses,
            unexpected: 0,
            duration_s: 1.0,
            latency_us: h.summary(),
            server_cpu_us: Some(cpu_us * responses as f64),
            client_cpu_us: 1000.0,
            client_cpu: vec![busy],
            client_bound: busy >= 0.9,
            steal: 0.0,
            other_cpus: 0.0,
            database_cpu_us: None,
            probe_us: 2000.0,
            histogram: h.to_base64(),
        }
    }

    /// An open-loop load of `contender` on `scenario` at the rate `label`, p99 `p99_us`.
    pub fn open(
        contender: &str,
        scenario: &str,
        round: u32,
        rate: &PlannedRate,
        p99_us: u64,
    ) -> OpenSample {
        let mut h = LatencyHistogram::default();
        for _ in 0..99 {
            h.record(p99_us / 2);
        }
        h.record(p99_us);
        OpenSample {
            contender: contender.into(),
            scenario: scenario.into(),
            round,
            label: rate.label.clone(),
            target_rate: rate.rate,
            achieved_rate: rate.rate,
            latency: h.to_base64(),
            latency_uncorrected: Some(h.to_base64()),
            send_lag: Some(h.to_base64()),
            client_lagged: false,
            loads: 1,
        }
    }

    /// The sweep of plaintext at 25 % and 50 % of 50,000 req/s.
    pub fn sweep() -> ScenarioSweep {
        let rate = |label: &str, rate: f64| PlannedRate {
            label: label.into(),
            rate,
        };
        ScenarioSweep {
            scenario: "plaintext".into(),
            slowest_server: "std".into(),
            slowest_rps: 50_000.0,
            rates: vec![rate("25%", 12_000.0), rate("50%", 25_000.0)],
            headline: 1,
        }
    }

    /// A run of `contenders` (`label`, `server`) on `scenarios` over `rounds` rounds, with no
    /// measurements yet.
    pub fn record(contenders: &[(&str, &str)], scenarios: &[&str], rounds: u32) -> RunRecord {
        RunRecord {
            schema_version: COMPARE_SCHEMA_VERSION,
            started_at: "2026-11-21T22:00:00Z".into(),
            finished_at: "2026-11-21T22:06:00Z".into(),
            partial: false,
            command: "loadgen compare".into(),
            environment: Environment {
                cpu_model: "Test CPU".into(),
                cores: 2,
                kernel: "6.1".into(),
                hostname: "testhost".into(),
                rustc: "rustc 1.95.0".into(),
                crates: [("hyper".to_owned(), "1.7.0".to_owned())].into(),
                git_commit: "abc123".into(),
                loadgen_release_build: true,
                server_binaries: "target/release".into(),
            },
            settings: CompareSettings {
                contenders: contenders.iter().map(|c| c.0.to_owned()).collect(),
                scenarios: scenarios.iter().map(|s| (*s).to_owned()).collect(),
                pipeline_depth: 16,
                connections: 64,
                duration_s: 2.0,
                warmup_s: 1.0,
                scenario_warmup_s: 0.25,
                rounds,
                rates: vec!["25%".into(), "50%".into()],
                sweep_scenarios: vec!["plaintext".into()],
                sweep_rounds: 1,
                sweep_duration_s: 1.0,
                cpus: CpuSplit {
                    server: vec![0],
                    client: vec![1],
                    pinned: true,
                },
                server_threads: 1,
                client_threads: 1,
                engine: EngineKind::H1,
                timeout_s: 5.0,
                repeat: None,
                quick: false,
                left_out: Vec::new(),
                database: None,
            },
            contenders: contenders
                .iter()
                .map(|(label, server)| ContenderRecord {
                    label: (*label).into(),
                    server: (*server).into(),
                    revision: label.split_once('@').map(|(_, r)| r.to_owned()),
                    commit: None,
                    binary: format!("target/release/server-{server}"),
                    stderr_log: Some(format!("servers/{label}.stderr.log")),
                    remote_url: None,
                })
                .collect(),
            sweeps: vec![sweep()],
            measurements: Measurements::default(),
            stray_servers: Vec::new(),
            cost: None,
            idle: None,
        }
    }

    /// Adds a closed-loop sample and a visit that started and ended cleanly.
    pub fn add_round(
        record: &mut RunRecord,
        contender: &str,
        scenario: &str,
        measure: RoundResult,
    ) {
        record.measurements.visits.push(VisitRecord {
            contender: contender.into(),
            phase: Phase::Closed,
            round: measure.round,
            started: true,
            clean_exit: true,
            rss_peak_kib: Some(4096),
            cpu_method: None,
            memory_peak_kib: None,
        });
        record.measurements.closed.push(ClosedSample {
            contender: contender.into(),
            scenario: scenario.into(),
            measure,
        });
    }
}
