//! One measurement of one server by one tool: the native counters under the closed-loop load,
//! a callgrind run that dumps mid-run, a DHAT run per sample. Each starts a fresh server and
//! returns its marginal counts, or the reason it could not.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use harness::RawClient;
use thiserror::Error;

use super::counters::{CounterSnapshot, ProcessCounters};
use super::plan::{CostPlan, CostScenario, NotStarted, PlanError, ServerBinary, scenarios};
use super::{backends, callgrind, dhat};
use crate::engine::EngineKind;
use crate::load::{self, LoadSpec, Stop};
use crate::results::cost::RequestPair;
use crate::results::marginal::{Marginal, MarginalError, Sample};

/// How long a server may take to print its ready line.
pub const NATIVE_START: Duration = Duration::from_secs(10);

/// How long a server under valgrind may take to print its ready line.
pub const VALGRIND_START: Duration = Duration::from_secs(60);

/// How long a server under valgrind may take to answer: a server valgrind cannot follow
/// (io_uring) hangs, and this ends the wait.
pub const VALGRIND_ANSWER: Duration = Duration::from_secs(30);

/// How long a server under valgrind may take to exit after SIGTERM (DHAT writes its file then).
pub const VALGRIND_EXIT: Duration = Duration::from_secs(60);

/// How long a server may take to fall quiet after its ready line before the counts begin.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// The interval over which a quiet server uses at most one clock tick of CPU (4 %).
const SETTLE_STEP: Duration = Duration::from_millis(250);

/// What a Go program needs to run under callgrind: without it, the signal the Go runtime
/// preempts goroutines with (SIGURG) trips an assertion of callgrind 3.19
/// (`vgCallgrind_post_signal`). Goroutines then yield only at function calls, which a server
/// that answers requests does all the time.
pub const GO_UNDER_VALGRIND: &str = "asyncpreemptoff=1";

/// Why one measurement gave no figures. The reasons of foreign errors (the tools', the
/// kernel's, the server's start) are kept as their text: a reason is shown to a reader and
/// stands in the results for every figure it cost.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RunError {
    /// The server did not start.
    #[error(transparent)]
    Start(#[from] NotStarted),
    /// A scenario that is not one.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// No connection to the server.
    #[error("{0}")]
    Connect(String),
    /// A request could not be written.
    #[error("{scenario}: cannot send: {reason}")]
    Send {
        /// The scenario.
        scenario: &'static str,
        /// What the socket said.
        reason: String,
    },
    /// No whole answer came.
    #[error("{scenario}: no answer: {reason}")]
    NoAnswer {
        /// The scenario.
        scenario: &'static str,
        /// What the socket or the parser said.
        reason: String,
    },
    /// An answer with another status than the contract's.
    #[error("{scenario}: status {status} where the contract says {expected}")]
    Status {
        /// The scenario.
        scenario: &'static str,
        /// The status answered.
        status: u16,
        /// The contract's.
        expected: u16,
    },
    /// The kernel's counters cannot be opened or read.
    #[error("{0}")]
    Counters(String),
    /// The scenario's request cannot be made into a load.
    #[error("{0}")]
    Target(String),
    /// The load did not run.
    #[error("{0}")]
    Load(String),
    /// The load ran, but not every request was answered as the contract says.
    #[error(
        "{scenario}: {failures} failures, {wrong} answers with another status than {expected}{}",
        if *stopped { ", stopped early" } else { "" }
    )]
    Answers {
        /// The scenario.
        scenario: &'static str,
        /// Requests that failed.
        failures: u64,
        /// Answers with another status.
        wrong: u64,
        /// The contract's status.
        expected: u16,
        /// The load was stopped early.
        stopped: bool,
    },
    /// Two samples that give no count per request.
    #[error("{scenario}: {source}")]
    Marginal {
        /// The scenario.
        scenario: &'static str,
        /// Why.
        source: MarginalError,
    },
    /// The database's backends behind the server cannot be made to wait for it.
    #[error("{scenario}: cannot make the database's backends yield to the server: {reason}")]
    Backends {
        /// The scenario.
        scenario: &'static str,
        /// Why.
        reason: String,
    },
    /// The tool's work folder cannot be made.
    #[error("cannot create {}: {reason}", dir.display())]
    CreateDir {
        /// The folder.
        dir: PathBuf,
        /// What the file system said.
        reason: String,
    },
    /// A tool's file cannot be read.
    #[error("cannot read {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        reason: String,
    },
    /// A tool's file cannot be understood.
    #[error("{}: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// callgrind was not made to dump its counters.
    #[error("{0}")]
    Dump(String),
    /// Something went wrong with the server under a valgrind tool.
    #[error("under {tool}: {source}")]
    Under {
        /// `callgrind` or `DHAT`.
        tool: &'static str,
        /// What.
        source: Box<RunError>,
    },
    /// The server under a valgrind tool did not answer in time (one valgrind cannot follow
    /// hangs).
    #[error("under {tool}: {source} (within {VALGRIND_ANSWER:?})")]
    Hang {
        /// `callgrind` or `DHAT`.
        tool: &'static str,
        /// What.
        source: Box<RunError>,
    },
    /// The server under DHAT did not exit cleanly, so there is no profile: how it ended.
    #[error("under DHAT, SIGTERM did not end the server cleanly ({0}), so DHAT wrote no profile")]
    NoProfile(String),
}

impl RunError {
    /// This error, met under valgrind's `tool`.
    fn under(self, tool: &'static str) -> Self {
        Self::Under {
            tool,
            source: Box::new(self),
        }
    }

    /// This error, met while waiting on a server under valgrind's `tool`.
    fn hang(self, tool: &'static str) -> Self {
        Self::Hang {
            tool,
            source: Box::new(self),
        }
    }
}

/// A connection to the server at `addr`.
fn connect(addr: std::net::SocketAddr, timeout: Duration) -> Result<RawClient, RunError> {
    RawClient::connect(addr, timeout).map_err(|e| RunError::Connect(e.to_string()))
}

/// Waits until the process `pid` falls quiet: at most one clock tick of CPU over a
/// [`SETTLE_STEP`]. A server may go on working after its ready line: std's r2d2 pool, for one,
/// opens its connections in the background, and under callgrind their SCRAM authentication
/// costs hundreds of millions of instructions. Without the wait, that work lands in the first
/// scenario's smaller sample. Gives up after `limit` (a disturbed sample is then refused by
/// [`Marginal::disturbance`]); returns whether the process fell quiet.
fn settle(pid: u32, limit: Duration) -> bool {
    let cpu = || crate::machine::sample_process(pid).map(|s| s.cpu).ok();
    let tick = Duration::from_secs(1)
        / u32::try_from(crate::machine::clock_ticks_per_second())
            .unwrap_or(100)
            .max(1);
    let deadline = std::time::Instant::now() + limit;
    let Some(mut before) = cpu() else {
        return false;
    };
    while std::time::Instant::now() < deadline {
        std::thread::sleep(SETTLE_STEP);
        let Some(now) = cpu() else {
            return false;
        };
        if now.saturating_sub(before) <= tick {
            return true;
        }
        before = now;
    }
    false
}

/// The count per request of `scenario` between two samples.
fn marginal(scenario: &CostScenario, low: Sample, high: Sample) -> Result<Marginal, RunError> {
    Marginal::new(low, high).map_err(|source| RunError::Marginal {
        scenario: scenario.name,
        source,
    })
}

/// `dir`, made if it is not there.
fn create_dir(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|e| RunError::CreateDir {
        dir: dir.to_owned(),
        reason: e.to_string(),
    })
}

/// The text of a tool's file.
fn read_text(path: &Path) -> Result<String, RunError> {
    std::fs::read_to_string(path).map_err(|e| RunError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Whether a binary is a Go program: Go's linker writes its build information after this
/// magic.
pub fn is_go_binary(path: &Path) -> bool {
    const GO_BUILDINFO: &[u8] = b"\xff Go buildinf:";
    std::fs::read(path)
        .is_ok_and(|bytes| bytes.windows(GO_BUILDINFO.len()).any(|w| w == GO_BUILDINFO))
}

/// Whether process `pid` holds an io_uring instance (an `anon_inode:[io_uring]` descriptor).
pub fn holds_io_uring(pid: u32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            std::fs::read_link(entry.path())
                .is_ok_and(|link| link.to_string_lossy().contains("io_uring"))
        })
    })
}

/// Starts the server natively, has it answer one request, and says whether it holds an
/// io_uring instance then.
pub(super) fn probe_io_uring(plan: &CostPlan, server: &ServerBinary) -> Result<bool, RunError> {
    let mut process = plan.start(server, plan.settings.cpus.server_launcher(), NATIVE_START)?;
    let scenario = scenarios(&["plaintext".to_owned()])?;
    let mut client = connect(process.addr(), Duration::from_secs(5))?;
    drive(&mut client, &scenario[0], 1, None)?;
    let uses = holds_io_uring(process.pid());
    let _ = process.stop(contract::SHUTDOWN_GRACE);
    Ok(uses)
}

/// How long [`wait_idle`] waits at most for a server to fall idle before the next request: a
/// server that never does (a busy background thread) is then sent it anyway.
const IDLE_LIMIT: Duration = Duration::from_millis(200);

/// How often [`wait_idle`] looks at the server's threads.
const IDLE_STEP: Duration = Duration::from_micros(50);

/// Waits until no thread of process `pid` is running or runnable (state `R` in
/// `/proc/PID/task/*/stat`), twice in a row [`IDLE_STEP`] apart, at most `limit`: until the
/// server has finished with the last answer and waits for the next request. Returns whether
/// it fell idle.
fn wait_idle(pid: u32, limit: Duration) -> bool {
    let running = || -> Option<bool> {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        Some(tasks.flatten().any(|task| {
            std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
                // The state follows the command name, which is in brackets and may hold any.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    == Some("R")
            })
        }))
    };
    let deadline = std::time::Instant::now() + limit;
    let mut quiet = 0;
    while std::time::Instant::now() < deadline {
        match running() {
            None => return false,
            Some(false) => quiet += 1,
            Some(true) => quiet = 0,
        }
        if quiet == 2 {
            return true;
        }
        std::thread::sleep(IDLE_STEP);
    }
    false
}

/// Sends `requests` of `scenario` on `client` (rounded up to whole pipelined batches), checks
/// every answer's status, and returns how many were answered. With `idle_first`, each request
/// (or pipelined batch) waits until that process is idle ([`wait_idle`]): a server then always
/// meets it waiting for it, and does the same work for it whether or not it was quick to
/// finish the last answer. Without, a server under valgrind, some 50 times slower than the
/// client, sometimes finds the next request already there and sometimes parks for it first,
/// and a Go server's instructions moved by several per cent with that race.
fn drive(
    client: &mut RawClient,
    scenario: &CostScenario,
    requests: u64,
    idle_first: Option<u32>,
) -> Result<u64, RunError> {
    let one = harness::request_bytes(&scenario.case, &[]);
    let batch = one.repeat(scenario.pipeline as usize);
    let batches = requests.div_ceil(u64::from(scenario.pipeline));
    for _ in 0..batches {
        if let Some(pid) = idle_first {
            wait_idle(pid, IDLE_LIMIT);
        }
        client.send(&batch).map_err(|e| RunError::Send {
            scenario: scenario.name,
            reason: e.to_string(),
        })?;
        for _ in 0..scenario.pipeline {
            let response = client
                .read_response(false)
                .map_err(|e| RunError::NoAnswer {
                    scenario: scenario.name,
                    reason: e.to_string(),
                })?;
            if response.status != scenario.case.status {
                return Err(RunError::Status {
                    scenario: scenario.name,
                    status: response.status,
                    expected: scenario.case.status,
                });
            }
        }
    }
    Ok(batches * u64::from(scenario.pipeline))
}

/// Syscalls of one kind per request, one measurement.
#[derive(Debug, Clone)]
pub(super) struct KindSample {
    /// The kind: `read`, `write`, `poll`… or `other`.
    pub(super) kind: String,
    /// The syscalls it groups.
    pub(super) syscalls: Vec<String>,
    /// How many per request.
    pub(super) per_request: Marginal,
}

/// A scenario's counts per request under the native load, one measurement.
#[derive(Debug, Clone)]
pub(super) struct NativeSample {
    pub(super) syscalls: Marginal,
    pub(super) context_switches: Marginal,
    pub(super) kinds: Vec<KindSample>,
}

/// One measurement of the native counters: a fresh server, then for each scenario a warmup
/// load, a load of the low and one of the high request count, the counters read between.
/// Also says whether the server held an io_uring instance after the first warmup.
pub(super) fn native_run(
    plan: &CostPlan,
    server: &ServerBinary,
    stop: &Arc<AtomicBool>,
) -> Result<(Vec<NativeSample>, bool), RunError> {
    let mut process = plan.start(server, plan.settings.cpus.server_launcher(), NATIVE_START)?;
    settle(process.pid(), SETTLE_LIMIT);
    let mut counters =
        ProcessCounters::open(process.pid()).map_err(|e| RunError::Counters(e.to_string()))?;
    let mut samples = Vec::new();
    let mut io_uring = false;
    for scenario in &plan.scenarios {
        let target = scenario
            .target(process.addr())
            .map_err(|e| RunError::Target(e.to_string()))?;
        let load = |requests: u64| native_load(plan, scenario, &target, requests, stop);
        let read = |counters: &mut ProcessCounters| {
            counters
                .read()
                .map_err(|e| RunError::Counters(e.to_string()))
        };
        // The same warmup per connection as on valgrind's one connection.
        load((plan.settings.warmup_requests * u64::from(plan.settings.connections)).max(1))?;
        io_uring = io_uring || holds_io_uring(process.pid());
        let start = read(&mut counters)?;
        let low_requests = load(plan.settings.load_requests.low)?;
        let low = read(&mut counters)?;
        let high_requests = load(plan.settings.load_requests.high)?;
        let high = read(&mut counters)?;
        samples.push(native_sample(
            scenario,
            [low_requests, high_requests],
            [&start, &low, &high],
        )?);
    }
    let _ = process.stop(contract::SHUTDOWN_GRACE);
    Ok((samples, io_uring))
}

/// The closed-loop load of `requests` of `scenario`, every one answered with the contract's
/// status; returns how many were answered.
fn native_load(
    plan: &CostPlan,
    scenario: &CostScenario,
    target: &crate::target::Target,
    requests: u64,
    stop: &Arc<AtomicBool>,
) -> Result<u64, RunError> {
    let spec = LoadSpec {
        target: target.clone(),
        engine: EngineKind::H1,
        connections: plan.settings.connections,
        threads: u32::try_from(plan.settings.cpus.client.len().max(1)).unwrap_or(1),
        stop: Stop::Requests(requests),
        rate: None,
        pipeline: scenario.pipeline,
        warmup: Duration::ZERO,
        timeout: Duration::from_secs(5),
        http2: false,
        use_proxy: false,
    };
    let outcome = load::run(&spec, stop, &mut |_| {}).map_err(|e| RunError::Load(e.to_string()))?;
    let wrong: u64 = outcome
        .tally
        .status
        .iter()
        .filter(|(status, _)| **status != scenario.case.status)
        .map(|(_, n)| n)
        .sum();
    if outcome.partial || outcome.tally.failures() > 0 || wrong > 0 {
        return Err(RunError::Answers {
            scenario: scenario.name,
            failures: outcome.tally.failures(),
            wrong,
            expected: scenario.case.status,
            stopped: outcome.partial,
        });
    }
    Ok(outcome.tally.responses())
}

/// A scenario's counts per request from the counters read before, between and after its two
/// loads (`[low, high]` requests answered): each count's growth over a load is its sample.
fn native_sample(
    scenario: &CostScenario,
    [low_requests, high_requests]: [u64; 2],
    [start, low, high]: [&CounterSnapshot; 3],
) -> Result<NativeSample, RunError> {
    let per_request = |a: u64, b: u64, c: u64| {
        marginal(
            scenario,
            Sample {
                requests: low_requests,
                count: b.saturating_sub(a),
            },
            Sample {
                requests: high_requests,
                count: c.saturating_sub(b),
            },
        )
    };
    let (k0, k1, k2) = (start.by_kind(), low.by_kind(), high.by_kind());
    Ok(NativeSample {
        syscalls: per_request(start.syscalls, low.syscalls, high.syscalls)?,
        context_switches: per_request(
            start.context_switches,
            low.context_switches,
            high.context_switches,
        )?,
        kinds: k0
            .iter()
            .zip(&k1)
            .zip(&k2)
            .map(|((a, b), c)| {
                Ok(KindSample {
                    kind: a.0.clone(),
                    syscalls: a.1.clone(),
                    per_request: per_request(a.2, b.2, c.2)?,
                })
            })
            .collect::<Result<_, RunError>>()?,
    })
}

/// What callgrind counts of one request of one scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct CallCounts {
    /// User-space instructions per request.
    pub(super) instructions: Marginal,
    /// Calls into the allocator per request.
    pub(super) allocations: Marginal,
}

/// What a callgrind run counts of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counted {
    /// Everything the process does (a Rust server, or any but Go).
    Process,
    /// A Go server as it runs, its runtime's background work included: the garbage collector
    /// on, every thread counted.
    GoWhole,
    /// What a Go server does for its requests: the collector off for the run (`GOGC=off`, so
    /// no collection lands in one sample and not the other, and no `sync.Pool` is emptied and
    /// refilled), a file per thread, `sysmon`'s thread and the scheduler's search left out
    /// ([`callgrind::go_serving_counts`]).
    GoServing,
}

/// The `GOGC` of [`Counted::GoServing`]: no collection during the run. The heap grows by what
/// the samples allocate (a few MB for a few thousand requests).
pub const GO_SERVING_GOGC: &str = "off";

/// One callgrind measurement: the server under callgrind, and for each scenario on a
/// connection of its own a warmup, a dump, the low count, a dump, the high count, a dump.
/// Returns the counts per scenario. A Go server runs with [`GO_UNDER_VALGRIND`] added to its
/// `GODEBUG`.
pub(super) fn callgrind_run(
    plan: &CostPlan,
    server: &ServerBinary,
    launcher: Vec<String>,
    valgrind: &Path,
    vgdb: &Path,
    dir: &Path,
    counted: Counted,
) -> Result<Vec<CallCounts>, RunError> {
    const TOOL: &str = "callgrind";
    create_dir(dir)?;
    let out = dir.join("callgrind.out");
    let mut tool = launcher;
    if counted != Counted::Process {
        let godebug = std::env::var("GODEBUG").unwrap_or_default();
        let godebug = if godebug.is_empty() {
            GO_UNDER_VALGRIND.to_owned()
        } else {
            format!("{godebug},{GO_UNDER_VALGRIND}")
        };
        tool.extend(["env".to_owned(), format!("GODEBUG={godebug}")]);
    }
    if counted == Counted::GoServing {
        tool.push(format!("GOGC={GO_SERVING_GOGC}"));
    }
    let per_thread = counted == Counted::GoServing;
    tool.extend(callgrind::launcher(
        valgrind,
        &out,
        &dir.join("valgrind.log"),
        per_thread,
    ));
    let mut process = plan
        .start(server, tool, VALGRIND_START)
        .map_err(|e| RunError::from(e).under(TOOL))?;
    let pid = process.pid();
    settle(pid, SETTLE_LIMIT);
    let mut dumps = 0;
    let mut dump = |hint: &str| -> Result<callgrind::DumpCounts, RunError> {
        callgrind::dump(vgdb, pid, hint).map_err(|e| RunError::Dump(e.to_string()))?;
        dumps += 1;
        if !per_thread {
            let path = callgrind::dump_path(&out, dumps);
            return callgrind::counts(&read_text(&path)?).map_err(|e| RunError::Parse {
                path,
                reason: e.to_string(),
            });
        }
        let paths = callgrind::thread_dump_paths(&out, dumps).map_err(|e| RunError::Read {
            path: dir.to_owned(),
            reason: e.to_string(),
        })?;
        if paths.is_empty() {
            return Err(RunError::Read {
                path: callgrind::dump_path(&out, dumps),
                reason: "callgrind wrote no file per thread for this dump".to_owned(),
            });
        }
        let texts = paths
            .iter()
            .map(|p| read_text(p))
            .collect::<Result<Vec<_>, _>>()?;
        callgrind::go_serving_counts(&texts).map_err(|e| RunError::Parse {
            path: paths[0].clone(),
            reason: e.to_string(),
        })
    };
    let RequestPair { low, high } = plan.settings.callgrind_requests;
    let hang = |e: RunError| e.hang(TOOL);
    let mut counts = Vec::new();
    for scenario in &plan.scenarios {
        // A connection per scenario, opened just before it: a keep-alive connection left idle
        // while another scenario crawls under valgrind would meet the server's header timeout.
        let mut client = connect(process.addr(), VALGRIND_ANSWER).map_err(hang)?;
        drive(&mut client, scenario, plan.settings.warmup_requests, None).map_err(hang)?;
        // A pool that opens connections on demand (rocket's sqlx pool) goes on connecting in
        // the background after the warmup's first query: that too ends before the count.
        settle(pid, SETTLE_LIMIT);
        // The database answers only once the server waits for it, as it does natively.
        if let Some(port) = plan
            .local_database_port()
            .filter(|_| scenario.reads_database())
        {
            backends::yield_to(pid, &backends::behind(pid, port)).map_err(|e| {
                RunError::Backends {
                    scenario: scenario.name,
                    reason: e.to_string(),
                }
            })?;
        }
        dump(&format!("{}-warmup", scenario.name))?;
        let low_requests = drive(&mut client, scenario, low, Some(pid)).map_err(hang)?;
        let low_count = dump(&format!("{}-low", scenario.name))?;
        let high_requests = drive(&mut client, scenario, high, Some(pid)).map_err(hang)?;
        let high_count = dump(&format!("{}-high", scenario.name))?;
        let per_request = |count: fn(&callgrind::DumpCounts) -> u64| {
            marginal(
                scenario,
                Sample {
                    requests: low_requests,
                    count: count(&low_count),
                },
                Sample {
                    requests: high_requests,
                    count: count(&high_count),
                },
            )
        };
        counts.push(CallCounts {
            instructions: per_request(|c| c.instructions)?,
            allocations: per_request(|c| c.allocations)?,
        });
    }
    let _ = process.stop(VALGRIND_EXIT);
    let _ = std::fs::remove_dir_all(dir);
    Ok(counts)
}

/// One DHAT measurement: a run with the low count in every scenario, then one run per
/// scenario with the high count in it alone; each scenario's marginal is its run against the
/// first. Returns the bytes allocated per scenario (callgrind counts the allocations exactly,
/// in one process).
pub(super) fn dhat_run(
    plan: &CostPlan,
    server: &ServerBinary,
    launcher: &[String],
    valgrind: &Path,
    dir: &Path,
) -> Result<Vec<Marginal>, RunError> {
    create_dir(dir)?;
    let run = DhatRun {
        plan,
        server,
        launcher,
        valgrind,
        dir,
    };
    let (base, base_answered) = run.once(0, None)?;
    let mut marginals = Vec::new();
    for (i, scenario) in plan.scenarios.iter().enumerate() {
        let (totals, answered) = run.once(i + 1, Some(i))?;
        marginals.push(marginal(
            scenario,
            Sample {
                requests: base_answered[i],
                count: base.bytes,
            },
            Sample {
                requests: answered[i],
                count: totals.bytes,
            },
        )?);
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(marginals)
}

/// What every run of one DHAT measurement shares.
struct DhatRun<'a> {
    plan: &'a CostPlan,
    server: &'a ServerBinary,
    launcher: &'a [String],
    valgrind: &'a Path,
    dir: &'a Path,
}

impl DhatRun<'_> {
    /// The `index`-th run: the server under DHAT, every scenario loaded with the low count
    /// but the one `high_in`, loaded with the high count; then the server stopped so that DHAT
    /// writes its profile. Returns the heap's totals and the requests answered per scenario.
    fn once(
        &self,
        index: usize,
        high_in: Option<usize>,
    ) -> Result<(dhat::HeapTotals, Vec<u64>), RunError> {
        const TOOL: &str = "DHAT";
        let RequestPair { low, high } = self.plan.settings.dhat_requests;
        let out = self.dir.join(format!("dhat.{index}.json"));
        let mut tool = self.launcher.to_vec();
        tool.extend(dhat::launcher(
            self.valgrind,
            &out,
            &self.dir.join(format!("valgrind.{index}.log")),
        ));
        let mut process = self
            .plan
            .start(self.server, tool, VALGRIND_START)
            .map_err(|e| RunError::from(e).under(TOOL))?;
        let mut answered = Vec::new();
        for (i, scenario) in self.plan.scenarios.iter().enumerate() {
            let mut client = connect(process.addr(), VALGRIND_ANSWER)?;
            let hang = |e: RunError| e.hang(TOOL);
            drive(
                &mut client,
                scenario,
                self.plan.settings.warmup_requests,
                None,
            )
            .map_err(hang)?;
            let requests = if high_in == Some(i) { high } else { low };
            answered.push(drive(&mut client, scenario, requests, None).map_err(hang)?);
        }
        match process.stop(VALGRIND_EXIT) {
            Ok(Some(status)) if status.success() => {}
            other => return Err(RunError::NoProfile(format!("{other:?}"))),
        }
        let totals = dhat::totals(&read_text(&out)?).map_err(|e| RunError::Parse {
            path: out.clone(),
            reason: e.to_string(),
        })?;
        Ok((totals, answered))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_binaries_are_told_apart_by_their_build_information() {
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("go");
        std::fs::write(&go, b"\x7fELF...\xff Go buildinf:\x08\x02...").unwrap();
        assert!(is_go_binary(&go));
        // (Not this test's own binary: the magic is among its constants.)
        let rust = dir.path().join("rust");
        std::fs::write(&rust, b"\x7fELF... .note.rustc").unwrap();
        assert!(!is_go_binary(&rust));
        assert!(!holds_io_uring(std::process::id()));
    }

    #[test]
    fn a_sleeping_process_is_quiet_and_idle_and_a_spinning_one_is_neither() {
        let mut sleeping = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .unwrap();
        let mut spinning = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let quiet = settle(sleeping.id(), Duration::from_secs(2));
        let busy = settle(spinning.id(), Duration::from_secs(1));
        // The wait before each counted request: a sleeping process is idle at once, one whose
        // thread runs never is.
        let idle = wait_idle(sleeping.id(), Duration::from_secs(2));
        let spins = wait_idle(spinning.id(), Duration::from_millis(300));
        let gone = wait_idle(u32::MAX, Duration::from_millis(300));
        for child in [&mut sleeping, &mut spinning] {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(quiet, "sleep did not fall quiet");
        assert!(idle, "sleep was not idle");
        assert!(
            !spins && !gone,
            "a busy loop or a missing process was called idle"
        );
        assert!(!busy, "a busy loop was called quiet");
        assert!(
            !settle(u32::MAX, Duration::from_secs(1)),
            "a missing process"
        );
    }
}
