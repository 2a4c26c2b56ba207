//! `loadgen cost`: what one request costs a server, in counts the machine's noise cannot move.
//!
//! For each server binary (anything that takes `--addr 127.0.0.1:0 --threads N` and prints
//! `listening on http://ADDR`) and each scenario (every route of the contract, and `GET /`
//! pipelined ×16):
//! - user-space instructions and heap allocations per request, with valgrind's callgrind: one
//!   run of the server measures every scenario, its counters dumped (and zeroed) between the
//!   samples; the allocations are its counts of the calls into the allocator
//!   ([`callgrind::ALLOCATOR_ENTRIES`]: `malloc` and its kin, Go's `runtime.mallocgc`);
//! - heap bytes per request, with valgrind's DHAT, which sees each block's size but cannot dump
//!   mid-run: a run with the low request count in every scenario, and one more run per
//!   scenario with the high count in that scenario alone;
//! - syscalls (by kind) and context switches per request, natively, from the kernel's
//!   counters, under the closed-loop load `compare` uses.
//!
//! Every figure is the marginal count between two request counts ([`marginal`]), so start-up,
//! connections and shutdown cancel out; every figure is measured `repeat` times, each in a
//! fresh server process, and the spread is reported. A figure that cannot be measured (a tool
//! missing, a server valgrind cannot follow) carries the reason in its place.
//!
//! # Layout
//! - [`table`]: the results as data; [`marginal`]: the arithmetic;
//! - [`callgrind`], [`dhat`], [`counters`]: the three tools;
//! - [`render`]: the results as Markdown;
//! - this module: the plan, the tools found, and the measurement of each server.

pub mod callgrind;
pub mod counters;
pub mod dhat;
pub mod marginal;
pub mod render;
pub mod table;

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use conformance::{RawClient, ServerProcess};
use contract::Case;
use thiserror::Error;

use crate::engine::EngineKind;
use crate::load::{self, LoadSpec, Stop};
use crate::target::Target;
use counters::ProcessCounters;
use marginal::{Marginal, Sample};
use table::{CostResult, CostSettings, Figure, ServerCost, SyscallKind, ToolStatus, Tools};

/// Requests written together in the pipelined scenario, as in compare.
pub const PIPELINE_DEPTH: u32 = crate::compare::scenario::PIPELINE_DEPTH;
/// How long a server may take to print its ready line.
pub const NATIVE_START: Duration = Duration::from_secs(10);
/// How long a server under valgrind may take to print its ready line.
pub const VALGRIND_START: Duration = Duration::from_secs(60);
/// How long a server under valgrind may take to answer: a server valgrind cannot follow
/// (io_uring) hangs, and this ends the wait.
pub const VALGRIND_ANSWER: Duration = Duration::from_secs(30);
/// How long a server under valgrind may take to exit after SIGTERM (DHAT writes its file then).
pub const VALGRIND_EXIT: Duration = Duration::from_secs(60);
/// The command that installs valgrind on Debian.
pub const INSTALL_VALGRIND: &str = "apt-get install valgrind";
/// The reason a server on io_uring gets no valgrind figures.
pub const IO_URING: &str = "n/a: valgrind cannot follow io_uring (the server holds an io_uring instance; under valgrind 3.19 it hangs)";
/// The reason a Go server gets no DHAT figures.
pub const GO_HEAP: &str = "n/a: a Go binary allocates from the Go runtime's own heap (mmap'd arenas), whose block sizes DHAT cannot see; its allocations are counted (calls to runtime.mallocgc), not its bytes";
/// What a Go program needs to run under callgrind: without it, the signal the Go runtime
/// preempts goroutines with (SIGURG) trips an assertion of callgrind 3.19
/// (`vgCallgrind_post_signal`). Goroutines then yield only at function calls, which a server
/// that answers requests does all the time.
pub const GO_UNDER_VALGRIND: &str = "asyncpreemptoff=1";

/// A name that is not a scenario of `loadgen cost`, or a bad `--binary`.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlanError {
    /// An unknown scenario.
    #[error("unknown scenario {name:?}; the scenarios are: {valid}")]
    UnknownScenario {
        /// What was given.
        name: String,
        /// The valid names.
        valid: String,
    },
    /// A binary that is not there.
    #[error("no server binary at {} for {name} (build it with `cargo build --release -p server-{name}`, or name one with --binary NAME=PATH)", path.display())]
    NoBinary {
        /// The server.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
    },
}

/// One scenario: a request of the contract, alone or pipelined.
#[derive(Debug, Clone)]
pub struct CostScenario {
    /// Its name: a route's name, or `pipelined`.
    pub name: &'static str,
    /// The request and the answer's status, from the contract.
    pub case: Case,
    /// Requests written together: 1, or [`PIPELINE_DEPTH`].
    pub pipeline: u32,
}

impl CostScenario {
    /// The name as tables show it (`pipelined ×16`).
    pub fn label(&self) -> String {
        crate::results::scenario_label(self.name, self.pipeline)
    }

    /// The load of this scenario against a server at `addr`, for the load engine.
    pub fn target(&self, addr: SocketAddr) -> Result<Target, crate::target::TargetError> {
        let headers: Vec<String> = self
            .case
            .content_type
            .iter()
            .map(|ct| format!("Content-Type: {ct}"))
            .collect();
        Target::new(
            &format!("http://{addr}{}", self.case.path),
            self.case.method,
            &headers,
            Bytes::from(self.case.body.clone()),
        )
    }
}

/// The names of every scenario, in report order.
pub fn scenario_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = contract::ROUTES.iter().map(|r| r.name).collect();
    names.insert(1, "pipelined");
    names
}

/// The scenarios named (all of them when `names` is empty), in the order given: each route of
/// the contract as its contract case, and `pipelined`, the `plaintext` case ×16.
pub fn scenarios(names: &[String]) -> Result<Vec<CostScenario>, PlanError> {
    let all = scenario_names();
    let names: Vec<String> = if names.is_empty() {
        all.iter().map(|s| (*s).to_owned()).collect()
    } else {
        names.to_vec()
    };
    let cases = contract::cases();
    names
        .iter()
        .map(|name| {
            let unknown = || PlanError::UnknownScenario {
                name: name.clone(),
                valid: all.join(", "),
            };
            let scenario = *all.iter().find(|s| *s == name).ok_or_else(unknown)?;
            let (case_name, pipeline) = match scenario {
                "pipelined" => ("plaintext", PIPELINE_DEPTH),
                route => (route, 1),
            };
            let case = cases
                .iter()
                .find(|c| c.name == case_name)
                .cloned()
                .ok_or_else(unknown)?;
            Ok(CostScenario {
                name: scenario,
                case,
                pipeline,
            })
        })
        .collect()
}

/// A server binary to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBinary {
    /// Its name, as results show it.
    pub name: String,
    /// The binary.
    pub path: PathBuf,
}

impl ServerBinary {
    /// `server-<name>` in `dir`, which must exist.
    pub fn in_dir(name: &str, dir: &Path) -> Result<Self, PlanError> {
        let path = dir.join(format!("server-{name}"));
        if !path.is_file() {
            return Err(PlanError::NoBinary {
                name: name.to_owned(),
                path,
            });
        }
        Ok(Self {
            name: name.to_owned(),
            path,
        })
    }
}

/// The tools, where they were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPaths {
    /// valgrind and vgdb, or why they cannot be used.
    pub valgrind: Result<(PathBuf, PathBuf), String>,
    /// Whether the kernel's counters can be opened (and what they follow), or why not.
    pub perf_events: Result<&'static str, String>,
}

impl ToolPaths {
    /// Looks for valgrind and vgdb in the directories of `path` (a `PATH`-like list) and tries
    /// the kernel's counters.
    pub fn detect(path: Option<&OsStr>) -> Self {
        let valgrind = find_in_path("valgrind", path)
            .zip(find_in_path("vgdb", path))
            .ok_or_else(|| {
                format!(
                    "valgrind is not installed (no valgrind and vgdb in PATH): `{INSTALL_VALGRIND}`"
                )
            });
        Self {
            valgrind,
            perf_events: counters::probe().map_err(|e| e.to_string()),
        }
    }

    /// What was found, for the results.
    pub fn status(&self) -> Tools {
        let valgrind = match &self.valgrind {
            Ok((valgrind, _)) => ToolStatus::Available(version_of(valgrind)),
            Err(reason) => ToolStatus::Missing(reason.clone()),
        };
        let perf_events = match &self.perf_events {
            Ok(scope) => ToolStatus::Available(format!(
                "perf_event_open on Linux {}, counting {scope}",
                kernel_release()
            )),
            Err(reason) => ToolStatus::Missing(reason.clone()),
        };
        Tools {
            valgrind,
            perf_events,
        }
    }
}

/// The first executable `name` in the directories of `path`.
pub fn find_in_path(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|file| {
            file.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn version_of(valgrind: &Path) -> String {
    Command::new(valgrind)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Everything a cost run needs.
#[derive(Debug, Clone)]
pub struct CostPlan {
    /// The servers, in order.
    pub servers: Vec<ServerBinary>,
    /// The scenarios, in order.
    pub scenarios: Vec<CostScenario>,
    /// Counts, connections, repeats, CPUs.
    pub settings: CostSettings,
    /// The tools.
    pub tools: ToolPaths,
    /// Where the tools' files go while they are read.
    pub work_dir: PathBuf,
}

impl CostPlan {
    fn server_args(&self) -> Vec<String> {
        vec![
            "--addr".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--threads".to_owned(),
            self.settings.server_threads.to_string(),
        ]
    }

    /// Starts `server` through `launcher` (`taskset`, a valgrind command line, or nothing)
    /// and waits up to `timeout` for its ready line.
    fn start(
        &self,
        server: &ServerBinary,
        launcher: Vec<String>,
        timeout: Duration,
    ) -> Result<ServerProcess, String> {
        ServerProcess::spawn(
            &server.name,
            &server.path,
            &self.server_args(),
            &launcher,
            timeout,
        )
        .map_err(|e| e.to_string())
    }
}

/// What a cost run is doing, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// The server.
    pub server: &'a str,
    /// The tool or phase: `probe`, `counters`, `callgrind`, `dhat`.
    pub tool: &'a str,
    /// Which measurement (1-based) of `repeat`.
    pub measurement: u32,
}

/// Measures every server of `plan`; stops between measurements when `stop` is set.
///
/// First, one server at a time, its traits (io_uring, Go) and its native counts, whose load
/// needs the server's CPUs and the load generator's. Then every valgrind run of every server,
/// as many at once as there are CPUs, each server pinned to a CPU of its own: valgrind counts
/// the same however busy the machine is, so they need not wait for each other.
pub fn run(
    plan: &CostPlan,
    stop: &Arc<AtomicBool>,
    observe: &mut dyn FnMut(Step),
) -> Vec<ServerCost> {
    let mut prepared = Vec::new();
    for server in &plan.servers {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        prepared.push(prepare(plan, server, stop, observe));
    }
    let mut jobs: Vec<Job> = prepared
        .iter()
        .enumerate()
        .filter(|(_, p)| p.started.is_ok())
        .flat_map(|(server, p)| {
            let callgrind = p.valgrind.is_ok();
            let dhat = p.heap_tool.is_ok();
            (1..=plan.settings.repeat).flat_map(move |measurement| {
                [
                    callgrind.then_some(Job {
                        server,
                        tool: Tool::Callgrind,
                        measurement,
                    }),
                    dhat.then_some(Job {
                        server,
                        tool: Tool::Dhat,
                        measurement,
                    }),
                ]
                .into_iter()
                .flatten()
            })
        })
        .collect();
    // The longest first (DHAT starts the server once per scenario and once more), so that no
    // long run is left for one CPU at the end while the other idles.
    jobs.sort_by_key(|job| job.tool != Tool::Dhat);
    let mut outcomes = run_jobs(plan, &prepared, &jobs, stop, observe);
    prepared
        .into_iter()
        .enumerate()
        .map(|(index, p)| p.finish(plan, &jobs, &mut outcomes, index))
        .collect()
}

/// What the first phase learnt of a server.
struct Prepared<'a> {
    server: &'a ServerBinary,
    /// Whether it started and answered; the reason if not.
    started: Result<(), String>,
    go: bool,
    native: Result<Vec<Vec<NativeSample>>, String>,
    /// The valgrind and vgdb to run it under, or why not.
    valgrind: Result<(PathBuf, PathBuf), String>,
    /// Whether DHAT can see its heap, or why not.
    heap_tool: Result<(), String>,
}

/// A valgrind run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Callgrind,
    Dhat,
}

/// One valgrind run of one server: the `measurement`-th (1-based) of `tool`.
#[derive(Debug, Clone, Copy)]
struct Job {
    server: usize,
    tool: Tool,
    measurement: u32,
}

/// What a valgrind run measured, per scenario.
enum JobOutcome {
    /// (instructions, allocations).
    Calls(Result<Vec<(Marginal, Marginal)>, String>),
    /// Bytes allocated.
    Bytes(Result<Vec<Marginal>, String>),
}

/// The first phase for one server: its traits, then its native counts.
fn prepare<'a>(
    plan: &CostPlan,
    server: &'a ServerBinary,
    stop: &Arc<AtomicBool>,
    observe: &mut dyn FnMut(Step),
) -> Prepared<'a> {
    let go = is_go_binary(&server.path);
    // The first native run says whether the server holds an io_uring instance; without the
    // kernel's counters (or if it failed), a start of its own does.
    let mut holds_io_uring = None;
    let native = repeated(
        plan.tools.perf_events.clone().map(drop),
        plan.settings.repeat,
        |m| {
            observe(Step {
                server: &server.name,
                tool: "counters",
                measurement: m,
            });
            let (samples, uses) = native_run(plan, server, stop)?;
            holds_io_uring.get_or_insert(uses);
            Ok(samples)
        },
    );
    let io_uring = match holds_io_uring {
        Some(uses) => Ok(uses),
        None => {
            observe(Step {
                server: &server.name,
                tool: "probe",
                measurement: 1,
            });
            probe_io_uring(plan, server)
        }
    };
    let valgrind = match &io_uring {
        Ok(true) => Err(IO_URING.to_owned()),
        Ok(false) => plan.tools.valgrind.clone(),
        Err(reason) => Err(reason.clone()),
    };
    let heap_tool = match (&valgrind, go) {
        (Err(reason), _) => Err(reason.clone()),
        (Ok(_), true) => Err(GO_HEAP.to_owned()),
        (Ok(_), false) => Ok(()),
    };
    Prepared {
        server,
        started: io_uring.map(drop),
        go,
        native,
        valgrind,
        heap_tool,
    }
}

/// Runs `jobs` on as many threads as the plan has CPUs, each thread's servers pinned to its
/// CPU; returns each job's outcome, in the order of `jobs`. Jobs not started because `stop`
/// was set have none.
fn run_jobs(
    plan: &CostPlan,
    prepared: &[Prepared],
    jobs: &[Job],
    stop: &Arc<AtomicBool>,
    observe: &mut dyn FnMut(Step),
) -> Vec<Option<JobOutcome>> {
    let cpus = plan.settings.cpus.valgrind_cpus();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (started, progress) = std::sync::mpsc::channel::<usize>();
    let mut outcomes: Vec<Option<JobOutcome>> =
        std::iter::repeat_with(|| None).take(jobs.len()).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = cpus
            .iter()
            .map(|&cpu| {
                let (next, started) = (&next, started.clone());
                // The servers it starts die with this thread (their parent-death signal), so
                // it lives until each of them is stopped.
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else { break };
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let _ = started.send(index);
                        done.push((index, run_job(plan, &prepared[job.server], *job, cpu)));
                    }
                    done
                })
            })
            .collect();
        drop(started);
        for index in progress {
            let job = jobs[index];
            observe(Step {
                server: &prepared[job.server].server.name,
                tool: match job.tool {
                    Tool::Callgrind => "callgrind",
                    Tool::Dhat => "dhat",
                },
                measurement: job.measurement,
            });
        }
        for worker in workers {
            // A worker that panicked leaves its jobs without an outcome: their figures say so.
            for (index, outcome) in worker.join().unwrap_or_default() {
                outcomes[index] = Some(outcome);
            }
        }
    });
    outcomes
}

/// One valgrind run, its server pinned to `cpu`.
fn run_job(plan: &CostPlan, prepared: &Prepared, job: Job, cpu: Option<usize>) -> JobOutcome {
    let server = prepared.server;
    let tool_name = match job.tool {
        Tool::Callgrind => "callgrind",
        Tool::Dhat => "dhat",
    };
    let dir = plan
        .work_dir
        .join(format!("{}-{tool_name}-{}", server.name, job.measurement));
    let launcher = pinned_to(cpu);
    match (job.tool, &prepared.valgrind) {
        (_, Err(reason)) => JobOutcome::Calls(Err(reason.clone())),
        (Tool::Callgrind, Ok((valgrind, vgdb))) => JobOutcome::Calls(callgrind_run(
            plan,
            server,
            launcher,
            valgrind,
            vgdb,
            &dir,
            prepared.go,
        )),
        (Tool::Dhat, Ok((valgrind, _))) => {
            JobOutcome::Bytes(dhat_run(plan, server, &launcher, valgrind, &dir))
        }
    }
}

/// `taskset -c CPU`, or nothing when the CPUs are not pinned.
fn pinned_to(cpu: Option<usize>) -> Vec<String> {
    cpu.map(|cpu| vec!["taskset".to_owned(), "-c".to_owned(), cpu.to_string()])
        .unwrap_or_default()
}

impl Prepared<'_> {
    /// The server's figures: its native counts, and its jobs' outcomes (taken out of
    /// `outcomes`).
    fn finish(
        self,
        plan: &CostPlan,
        jobs: &[Job],
        outcomes: &mut [Option<JobOutcome>],
        index: usize,
    ) -> ServerCost {
        if let Err(reason) = &self.started {
            let notes = vec![format!("the server did not start or answer: {reason}")];
            return unavailable(self.server, plan, reason, notes);
        }
        let mut calls: Result<Vec<Vec<(Marginal, Marginal)>>, String> = self
            .valgrind
            .as_ref()
            .map(|_| Vec::new())
            .map_err(Clone::clone);
        let mut heap: Result<Vec<Vec<Marginal>>, String> =
            self.heap_tool.clone().map(|()| Vec::new());
        for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
            if job.server != index {
                continue;
            }
            const NOT_RUN: &str = "not measured: the run was stopped";
            match outcome.take() {
                Some(JobOutcome::Calls(run)) => push_run(&mut calls, run),
                Some(JobOutcome::Bytes(run)) => push_run(&mut heap, run),
                None if job.tool == Tool::Callgrind => push_run(&mut calls, Err(NOT_RUN.into())),
                None => push_run(&mut heap, Err(NOT_RUN.into())),
            }
        }
        let mut notes = Vec::new();
        for (tool, outcome) in [
            ("counters", self.native.as_ref().err()),
            ("callgrind", calls.as_ref().err()),
            ("DHAT", heap.as_ref().err()),
        ] {
            if let Some(reason) = outcome {
                notes.push(format!("{tool}: {reason}"));
            }
        }
        let native = self.native;
        let results = plan
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, scenario)| {
                let calls_part = |part: fn(&(Marginal, Marginal)) -> Marginal| match &calls {
                    Ok(runs) => Figure::Measured(runs.iter().map(|run| part(&run[i])).collect()),
                    Err(reason) => Figure::Unavailable(reason.clone()),
                };
                let bytes = match &heap {
                    Ok(runs) => Figure::Measured(runs.iter().map(|run| run[i]).collect()),
                    Err(reason) => Figure::Unavailable(reason.clone()),
                };
                let native_part = |part: &dyn Fn(&NativeSample) -> Marginal| match &native {
                    Ok(runs) => Figure::Measured(runs.iter().map(|run| part(&run[i])).collect()),
                    Err(reason) => Figure::Unavailable(reason.clone()),
                };
                let mut kinds: Vec<SyscallKind> = match &native {
                    Ok(runs) if !runs.is_empty() => runs[0][i]
                        .kinds
                        .iter()
                        .enumerate()
                        .map(|(k, (kind, syscalls, _))| SyscallKind {
                            kind: kind.clone(),
                            syscalls: syscalls.clone(),
                            per_request: native_part(&|s: &NativeSample| s.kinds[k].2),
                        })
                        .filter(|k| k.per_request.per_request().is_some_and(|v| v > 0.0))
                        .collect(),
                    _ => Vec::new(),
                };
                kinds.sort_by(|a, b| {
                    let value = |k: &SyscallKind| k.per_request.per_request().unwrap_or(0.0);
                    value(b).total_cmp(&value(a))
                });
                CostResult {
                    scenario: scenario.name.to_owned(),
                    label: scenario.label(),
                    instructions: calls_part(|c| c.0),
                    allocations: calls_part(|c| c.1),
                    bytes_allocated: bytes,
                    syscalls: native_part(&|s: &NativeSample| s.syscalls),
                    context_switches: native_part(&|s: &NativeSample| s.context_switches),
                    syscalls_by_kind: kinds,
                }
            })
            .collect();
        ServerCost {
            server: self.server.name.clone(),
            binary: self.server.path.clone(),
            results,
            notes,
        }
    }
}

/// Adds one run's outcome to a tool's runs; the first failure stands for all.
fn push_run<T>(runs: &mut Result<Vec<T>, String>, run: Result<T, String>) {
    if let Ok(list) = runs {
        match run {
            Ok(run) => list.push(run),
            Err(reason) => *runs = Err(reason),
        }
    }
}

/// `repeat` measurements by `measure` (given 1, 2, …), if the tool is `available`; the first
/// failure's reason stands for all.
fn repeated<T>(
    available: Result<(), String>,
    repeat: u32,
    measure: impl FnMut(u32) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    available?;
    (1..=repeat).map(measure).collect()
}

fn unavailable(
    server: &ServerBinary,
    plan: &CostPlan,
    reason: &str,
    notes: Vec<String>,
) -> ServerCost {
    let figure = || Figure::Unavailable(reason.to_owned());
    ServerCost {
        server: server.name.clone(),
        binary: server.path.clone(),
        results: plan
            .scenarios
            .iter()
            .map(|scenario| CostResult {
                scenario: scenario.name.to_owned(),
                label: scenario.label(),
                instructions: figure(),
                allocations: figure(),
                bytes_allocated: figure(),
                syscalls: figure(),
                context_switches: figure(),
                syscalls_by_kind: Vec::new(),
            })
            .collect(),
        notes,
    }
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
fn probe_io_uring(plan: &CostPlan, server: &ServerBinary) -> Result<bool, String> {
    let mut process = plan.start(server, plan.settings.cpus.server_launcher(), NATIVE_START)?;
    let scenario = scenarios(&["plaintext".to_owned()]).map_err(|e| e.to_string())?;
    let mut client =
        RawClient::connect(process.addr(), Duration::from_secs(5)).map_err(|e| e.to_string())?;
    drive(&mut client, &scenario[0], 1)?;
    let uses = holds_io_uring(process.pid());
    let _ = process.stop(contract::SHUTDOWN_GRACE);
    Ok(uses)
}

/// Sends `requests` of `scenario` on `client` (rounded up to whole pipelined batches), checks
/// every answer's status, and returns how many were answered.
fn drive(client: &mut RawClient, scenario: &CostScenario, requests: u64) -> Result<u64, String> {
    let one = conformance::request_bytes(&scenario.case, &[]);
    let batch = one.repeat(scenario.pipeline as usize);
    let batches = requests.div_ceil(u64::from(scenario.pipeline));
    for _ in 0..batches {
        client
            .send(&batch)
            .map_err(|e| format!("{}: cannot send: {e}", scenario.name))?;
        for _ in 0..scenario.pipeline {
            let response = client
                .read_response(false)
                .map_err(|e| format!("{}: no answer: {e}", scenario.name))?;
            if response.status != scenario.case.status {
                return Err(format!(
                    "{}: status {} where the contract says {}",
                    scenario.name, response.status, scenario.case.status
                ));
            }
        }
    }
    Ok(batches * u64::from(scenario.pipeline))
}

/// A scenario's counts per request under the native load, one measurement.
#[derive(Debug, Clone)]
struct NativeSample {
    syscalls: Marginal,
    context_switches: Marginal,
    kinds: Vec<(String, Vec<String>, Marginal)>,
}

/// One measurement of the native counters: a fresh server, then for each scenario a warmup
/// load, a load of the low and one of the high request count, the counters read between.
/// Also says whether the server held an io_uring instance after the first warmup.
fn native_run(
    plan: &CostPlan,
    server: &ServerBinary,
    stop: &Arc<AtomicBool>,
) -> Result<(Vec<NativeSample>, bool), String> {
    let mut process = plan.start(server, plan.settings.cpus.server_launcher(), NATIVE_START)?;
    let mut counters = ProcessCounters::open(process.pid()).map_err(|e| e.to_string())?;
    let mut samples = Vec::new();
    let mut io_uring = false;
    for scenario in &plan.scenarios {
        let target = scenario.target(process.addr()).map_err(|e| e.to_string())?;
        let load = |requests: u64| -> Result<u64, String> {
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
            let outcome = load::run(&spec, stop, &mut |_| {}).map_err(|e| e.to_string())?;
            let answered = outcome.tally.responses();
            let wrong: u64 = outcome
                .tally
                .status
                .iter()
                .filter(|(status, _)| **status != scenario.case.status)
                .map(|(_, n)| n)
                .sum();
            if outcome.partial || outcome.tally.failures() > 0 || wrong > 0 {
                return Err(format!(
                    "{}: {} failures, {wrong} answers with another status than {}{}",
                    scenario.name,
                    outcome.tally.failures(),
                    scenario.case.status,
                    if outcome.partial {
                        ", stopped early"
                    } else {
                        ""
                    }
                ));
            }
            Ok(answered)
        };
        let read = |counters: &mut ProcessCounters| counters.read().map_err(|e| e.to_string());
        // The same warmup per connection as on valgrind's one connection.
        load((plan.settings.warmup_requests * u64::from(plan.settings.connections)).max(1))?;
        io_uring = io_uring || holds_io_uring(process.pid());
        let start = read(&mut counters)?;
        let low_requests = load(plan.settings.load_requests[0])?;
        let low = read(&mut counters)?;
        let high_requests = load(plan.settings.load_requests[1])?;
        let high = read(&mut counters)?;
        let marginal = |a: u64, b: u64, c: u64| {
            Marginal::new(
                Sample {
                    requests: low_requests,
                    count: b.saturating_sub(a),
                },
                Sample {
                    requests: high_requests,
                    count: c.saturating_sub(b),
                },
            )
            .map_err(|e| format!("{}: {e}", scenario.name))
        };
        let (k0, k1, k2) = (start.by_kind(), low.by_kind(), high.by_kind());
        samples.push(NativeSample {
            syscalls: marginal(start.syscalls, low.syscalls, high.syscalls)?,
            context_switches: marginal(
                start.context_switches,
                low.context_switches,
                high.context_switches,
            )?,
            kinds: k0
                .iter()
                .zip(&k1)
                .zip(&k2)
                .map(|((a, b), c)| Ok((a.0.clone(), a.1.clone(), marginal(a.2, b.2, c.2)?)))
                .collect::<Result<_, String>>()?,
        });
    }
    let _ = process.stop(contract::SHUTDOWN_GRACE);
    Ok((samples, io_uring))
}

/// One callgrind measurement: the server under callgrind, and for each scenario on a
/// connection of its own a warmup, a dump, the low count, a dump, the high count, a dump.
/// Returns (instructions, allocations) per scenario. A Go server runs with
/// [`GO_UNDER_VALGRIND`] added to its `GODEBUG`.
fn callgrind_run(
    plan: &CostPlan,
    server: &ServerBinary,
    launcher: Vec<String>,
    valgrind: &Path,
    vgdb: &Path,
    dir: &Path,
    go: bool,
) -> Result<Vec<(Marginal, Marginal)>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let out = dir.join("callgrind.out");
    let mut tool = launcher;
    if go {
        let godebug = std::env::var("GODEBUG").unwrap_or_default();
        let godebug = if godebug.is_empty() {
            GO_UNDER_VALGRIND.to_owned()
        } else {
            format!("{godebug},{GO_UNDER_VALGRIND}")
        };
        tool.extend(["env".to_owned(), format!("GODEBUG={godebug}")]);
    }
    tool.extend(callgrind::launcher(
        valgrind,
        &out,
        &dir.join("valgrind.log"),
    ));
    let mut process = plan
        .start(server, tool, VALGRIND_START)
        .map_err(|e| format!("under callgrind: {e}"))?;
    let pid = process.pid();
    let mut dumps = 0;
    let mut dump = |hint: &str| -> Result<callgrind::DumpCounts, String> {
        callgrind::dump(vgdb, pid, hint).map_err(|e| e.to_string())?;
        dumps += 1;
        let path = callgrind::dump_path(&out, dumps);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        callgrind::counts(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let [low, high] = plan.settings.callgrind_requests;
    let hang = |e: String| format!("under callgrind: {e} (within {VALGRIND_ANSWER:?})");
    let mut marginals = Vec::new();
    for scenario in &plan.scenarios {
        // A connection per scenario, opened just before it: a keep-alive connection left idle
        // while another scenario crawls under valgrind would meet the server's header timeout.
        let mut client =
            RawClient::connect(process.addr(), VALGRIND_ANSWER).map_err(|e| hang(e.to_string()))?;
        drive(&mut client, scenario, plan.settings.warmup_requests).map_err(hang)?;
        dump(&format!("{}-warmup", scenario.name))?;
        let low_requests = drive(&mut client, scenario, low).map_err(hang)?;
        let low_count = dump(&format!("{}-low", scenario.name))?;
        let high_requests = drive(&mut client, scenario, high).map_err(hang)?;
        let high_count = dump(&format!("{}-high", scenario.name))?;
        let marginal = |count: fn(&callgrind::DumpCounts) -> u64| {
            Marginal::new(
                Sample {
                    requests: low_requests,
                    count: count(&low_count),
                },
                Sample {
                    requests: high_requests,
                    count: count(&high_count),
                },
            )
            .map_err(|e| format!("{}: {e}", scenario.name))
        };
        marginals.push((marginal(|c| c.instructions)?, marginal(|c| c.allocations)?));
    }
    let _ = process.stop(VALGRIND_EXIT);
    let _ = std::fs::remove_dir_all(dir);
    Ok(marginals)
}

/// One DHAT measurement: a run with the low count in every scenario, then one run per
/// scenario with the high count in it alone; each scenario's marginal is its run against the
/// first. Returns the bytes allocated per scenario (callgrind counts the allocations exactly,
/// in one process).
fn dhat_run(
    plan: &CostPlan,
    server: &ServerBinary,
    launcher: &[String],
    valgrind: &Path,
    dir: &Path,
) -> Result<Vec<Marginal>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let [low, high] = plan.settings.dhat_requests;
    let one_run = |index: usize,
                   high_in: Option<usize>|
     -> Result<(dhat::HeapTotals, Vec<u64>), String> {
        let out = dir.join(format!("dhat.{index}.json"));
        let mut tool = launcher.to_vec();
        tool.extend(dhat::launcher(
            valgrind,
            &out,
            &dir.join(format!("valgrind.{index}.log")),
        ));
        let mut process = plan
            .start(server, tool, VALGRIND_START)
            .map_err(|e| format!("under DHAT: {e}"))?;
        let mut answered = Vec::new();
        for (i, scenario) in plan.scenarios.iter().enumerate() {
            let mut client =
                RawClient::connect(process.addr(), VALGRIND_ANSWER).map_err(|e| e.to_string())?;
            let hang = |e: String| format!("under DHAT: {e} (within {VALGRIND_ANSWER:?})");
            drive(&mut client, scenario, plan.settings.warmup_requests).map_err(hang)?;
            let requests = if high_in == Some(i) { high } else { low };
            answered.push(drive(&mut client, scenario, requests).map_err(hang)?);
        }
        match process.stop(VALGRIND_EXIT) {
            Ok(Some(status)) if status.success() => {}
            other => {
                return Err(format!(
                    "under DHAT, SIGTERM did not end the server cleanly ({other:?}), so DHAT wrote no profile"
                ));
            }
        }
        let json = std::fs::read_to_string(&out)
            .map_err(|e| format!("cannot read {}: {e}", out.display()))?;
        let totals = dhat::totals(&json).map_err(|e| format!("{}: {e}", out.display()))?;
        Ok((totals, answered))
    };
    let (base, base_answered) = one_run(0, None)?;
    let mut marginals = Vec::new();
    for (i, scenario) in plan.scenarios.iter().enumerate() {
        let (totals, answered) = one_run(i + 1, Some(i))?;
        marginals.push(
            Marginal::new(
                Sample {
                    requests: base_answered[i],
                    count: base.bytes,
                },
                Sample {
                    requests: answered[i],
                    count: totals.bytes,
                },
            )
            .map_err(|e| format!("{}: {e}", scenario.name))?,
        );
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(marginals)
}

/// Checks `args` and makes the plan: the binaries must exist, the names be known.
pub fn make_plan(
    args: &crate::cli::CostArgs,
    tools: ToolPaths,
    work_dir: &Path,
) -> anyhow::Result<CostPlan> {
    use anyhow::Context as _;
    let bin_dir = match &args.server_bin_dir {
        Some(dir) => dir.clone(),
        None => crate::compare::plan::target_dir(
            std::env::var_os("CARGO_TARGET_DIR").as_deref(),
            &std::env::current_dir().unwrap_or_default(),
            &std::env::current_exe().unwrap_or_default(),
            &crate::compare::plan::workspace_root(),
        )
        .join("release"),
    };
    let names: Vec<String> = if args.servers.is_empty() && args.binary.is_empty() {
        contract::SERVERS
            .iter()
            .map(|s| s.name.to_owned())
            .collect()
    } else {
        args.servers.clone()
    };
    let mut servers = names
        .iter()
        .map(|name| {
            let info = crate::compare::contender::find_server(name)?;
            Ok(ServerBinary::in_dir(info.name, &bin_dir)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for binary in &args.binary {
        let (name, path) = binary
            .split_once('=')
            .with_context(|| format!("--binary {binary:?} is not NAME=PATH"))?;
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(PlanError::NoBinary {
                name: name.to_owned(),
                path,
            }
            .into());
        }
        servers.push(ServerBinary {
            name: name.to_owned(),
            path,
        });
    }
    let cpus = crate::machine::CpuSplit::halves(&crate::machine::available_cpus());
    Ok(CostPlan {
        servers,
        scenarios: scenarios(&args.scenarios)?,
        settings: CostSettings {
            callgrind_requests: args.requests,
            dhat_requests: args.dhat_requests,
            load_requests: args.load_requests,
            connections: args.connections,
            warmup_requests: args.warmup_requests,
            repeat: args.repeat,
            server_threads: args.threads,
            cpus,
        },
        tools,
        work_dir: work_dir.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_a_scenario_and_one_is_pipelined() {
        let all = scenarios(&[]).unwrap();
        let names: Vec<&str> = all.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "plaintext",
                "pipelined",
                "json",
                "html",
                "users",
                "echo",
                "error"
            ]
        );
        let labels: Vec<String> = all.iter().map(CostScenario::label).collect();
        assert_eq!(labels[1], "pipelined ×16");
        assert_eq!(all[5].case.method, "POST");
        let err = scenarios(&["json".into(), "jsonn".into()]).unwrap_err();
        assert!(
            err.to_string().contains("plaintext, pipelined, json"),
            "{err}"
        );
    }

    #[test]
    fn a_path_without_valgrind_names_the_install_command() {
        let dir = tempfile::tempdir().unwrap();
        let tools = ToolPaths::detect(Some(dir.path().as_os_str()));
        let reason = tools.valgrind.unwrap_err();
        assert!(reason.contains(INSTALL_VALGRIND), "{reason}");
        assert_eq!(find_in_path("valgrind", None), None);
        let status = ToolPaths {
            valgrind: Err(reason),
            perf_events: Ok(counters::CGROUP_SCOPE),
        }
        .status();
        assert!(status.valgrind.missing().is_some());
        assert!(status.perf_events.missing().is_none());
    }

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
}
