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
//! Every figure is the marginal count between two request counts
//! ([`crate::results::marginal`]), so start-up,
//! connections and shutdown cancel out; every figure is measured `repeat` times, each in a
//! fresh server process, and the spread is reported. A figure that cannot be measured (a tool
//! missing, a server valgrind cannot follow) carries the reason in its place.
//!
//! # Layout
//! - [`plan`]: the servers, scenarios and settings, and the tools found;
//! - [`runs`]: one measurement of one server by one tool (the native load, callgrind, DHAT);
//! - this module: the order of the runs (the native ones one at a time, the valgrind ones side
//!   by side) and the figures assembled per server;
//! - [`callgrind`], [`dhat`], [`counters`]: the three tools' files and interfaces.
//!
//! The results are data of [`crate::results::cost`] (the arithmetic in
//! [`crate::results::marginal`]); [`crate::report`] renders them (`cost.md`, `cost.svg`).

pub mod backends;
pub mod callgrind;
pub mod counters;
pub mod dhat;
pub mod plan;
pub mod runs;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use thiserror::Error;

use crate::results::cost::{CostResult, Figure, ServerCost, SyscallKind, WithRuntime};
use crate::results::marginal::Marginal;
pub use plan::{
    CostPlan, CostScenario, DATABASE_SCENARIOS, INSTALL_VALGRIND, PIPELINE_DEPTH, PlanError,
    ServerBinary, ToolMissing, ToolPaths, find_in_path, make_plan, scenario_names, scenarios,
};
use runs::{
    CallCounts, Counted, NativeSample, callgrind_run, dhat_run, native_run, probe_io_uring,
};
pub use runs::{RunError, holds_io_uring, is_go_binary};

/// The reason a server on io_uring gets no valgrind figures.
pub const IO_URING: &str = "n/a: valgrind cannot follow io_uring (the server holds an io_uring instance; under valgrind 3.19 it hangs)";
/// The reason a Go server gets no DHAT figures.
pub const GO_HEAP: &str = "n/a: a Go binary allocates from the Go runtime's own heap (mmap'd arenas), whose block sizes DHAT cannot see; its allocations are counted (calls to runtime.mallocgc), not its bytes";

/// Why a tool gave a server no figures; its text stands in the results in their place.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Unmeasured {
    /// The server holds an io_uring instance, which valgrind cannot follow.
    #[error("{IO_URING}")]
    IoUring,
    /// A Go server, whose heap DHAT cannot see.
    #[error("{GO_HEAP}")]
    GoHeap,
    /// The run was stopped before this measurement.
    #[error("not measured: the run was stopped")]
    Stopped,
    /// The tool is missing.
    #[error(transparent)]
    Tool(#[from] ToolMissing),
    /// A measurement failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// One measurement's figures, one per scenario in the plan's order.
type PerScenario<T> = Vec<T>;

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
            let go = p.go;
            (1..=plan.settings.repeat).flat_map(move |measurement| {
                [
                    callgrind.then_some(Tool::Callgrind),
                    (callgrind && go).then_some(Tool::CallgrindWhole),
                    dhat.then_some(Tool::Dhat),
                ]
                .into_iter()
                .flatten()
                .map(move |tool| Job {
                    server,
                    tool,
                    measurement,
                })
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
    started: Result<(), Unmeasured>,
    go: bool,
    native: Result<Vec<PerScenario<NativeSample>>, Unmeasured>,
    /// The valgrind and vgdb to run it under, or why not.
    valgrind: Result<(PathBuf, PathBuf), Unmeasured>,
    /// Whether DHAT can see its heap, or why not.
    heap_tool: Result<(), Unmeasured>,
}

/// A valgrind run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    /// The ranked instructions and allocations (of a Go server: what serves the requests,
    /// [`Counted::GoServing`]).
    Callgrind,
    /// A Go server as it runs, its runtime's background work included ([`Counted::GoWhole`]).
    CallgrindWhole,
    Dhat,
}

impl Tool {
    /// The tool as progress lines and work folders name it.
    fn name(self) -> &'static str {
        match self {
            Self::Callgrind => "callgrind",
            Self::CallgrindWhole => "callgrind-gc",
            Self::Dhat => "dhat",
        }
    }
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
    /// Instructions and allocations.
    Calls(Result<PerScenario<CallCounts>, Unmeasured>),
    /// Bytes allocated.
    Bytes(Result<PerScenario<Marginal>, Unmeasured>),
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
        plan.tools
            .perf_events
            .clone()
            .map(drop)
            .map_err(Unmeasured::from),
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
            probe_io_uring(plan, server).map_err(Unmeasured::from)
        }
    };
    let valgrind = match &io_uring {
        Ok(true) => Err(Unmeasured::IoUring),
        Ok(false) => plan.tools.valgrind.clone().map_err(Unmeasured::from),
        Err(reason) => Err(reason.clone()),
    };
    let heap_tool = match (&valgrind, go) {
        (Err(reason), _) => Err(reason.clone()),
        (Ok(_), true) => Err(Unmeasured::GoHeap),
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
                tool: job.tool.name(),
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
    let dir = plan.work_dir.join(format!(
        "{}-{}-{}",
        server.name,
        job.tool.name(),
        job.measurement
    ));
    let launcher = pinned_to(cpu);
    match (job.tool, &prepared.valgrind) {
        (_, Err(reason)) => JobOutcome::Calls(Err(reason.clone())),
        (Tool::Callgrind | Tool::CallgrindWhole, Ok((valgrind, vgdb))) => {
            let counted = match (job.tool, prepared.go) {
                (_, false) => Counted::Process,
                (Tool::Callgrind, true) => Counted::GoServing,
                (_, true) => Counted::GoWhole,
            };
            JobOutcome::Calls(
                callgrind_run(plan, server, launcher, valgrind, vgdb, &dir, counted)
                    .map_err(Unmeasured::from),
            )
        }
        (Tool::Dhat, Ok((valgrind, _))) => JobOutcome::Bytes(
            dhat_run(plan, server, &launcher, valgrind, &dir).map_err(Unmeasured::from),
        ),
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
        let JobRuns { calls, whole, heap } = self.job_runs(jobs, outcomes, index);
        let notes = notes(self.native.as_ref().err(), &calls, whole.as_ref(), &heap);
        let runs = Runs {
            native: &self.native,
            calls: &calls,
            whole: whole.as_ref(),
            heap: &heap,
        };
        let results = plan
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, scenario)| runs.result(scenario, i))
            .collect();
        ServerCost {
            server: self.server.name.clone(),
            binary: self.server.path.clone(),
            results,
            notes,
        }
    }

    /// The valgrind runs of server `index` among `jobs`, taken out of `outcomes`: each tool's
    /// measurements, or the first reason one of them failed.
    fn job_runs(&self, jobs: &[Job], outcomes: &mut [Option<JobOutcome>], index: usize) -> JobRuns {
        let valgrind = || {
            self.valgrind
                .as_ref()
                .map(|_| Vec::new())
                .map_err(Clone::clone)
        };
        let mut runs = JobRuns {
            calls: valgrind(),
            whole: self.go.then(valgrind),
            heap: self.heap_tool.clone().map(|()| Vec::new()),
        };
        for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
            if job.server != index {
                continue;
            }
            let outcome = outcome.take();
            match (job.tool, outcome) {
                (Tool::Dhat, Some(JobOutcome::Bytes(run))) => push_run(&mut runs.heap, run),
                (Tool::Dhat, _) => push_run(&mut runs.heap, Err(Unmeasured::Stopped)),
                (tool, outcome) => {
                    let run = match outcome {
                        Some(JobOutcome::Calls(run)) => run,
                        _ => Err(Unmeasured::Stopped),
                    };
                    match (tool, &mut runs.whole) {
                        (Tool::CallgrindWhole, Some(whole)) => push_run(whole, run),
                        _ => push_run(&mut runs.calls, run),
                    }
                }
            }
        }
        runs
    }
}

/// A note for each reason a tool gave a server no figures, naming the tools it stopped: valgrind
/// missing stops callgrind (twice for a Go server) and DHAT, and is said once.
fn notes(
    native: Option<&Unmeasured>,
    calls: &Result<Vec<PerScenario<CallCounts>>, Unmeasured>,
    whole: Option<&Result<Vec<PerScenario<CallCounts>>, Unmeasured>>,
    heap: &Result<Vec<PerScenario<Marginal>>, Unmeasured>,
) -> Vec<String> {
    let mut notes: Vec<(Vec<&str>, &Unmeasured)> = Vec::new();
    for (tool, reason) in [
        ("counters", native),
        ("callgrind", calls.as_ref().err()),
        (
            "callgrind with the Go runtime's work",
            whole.and_then(|w| w.as_ref().err()),
        ),
        ("DHAT", heap.as_ref().err()),
    ] {
        let Some(reason) = reason else { continue };
        match notes.iter_mut().find(|(_, said)| *said == reason) {
            Some((tools, _)) => tools.push(tool),
            None => notes.push((vec![tool], reason)),
        }
    }
    notes
        .into_iter()
        .map(|(tools, reason)| format!("{}: {reason}", tools.join(", ")))
        .collect()
}

/// One server's valgrind runs, each tool's measurements or why there are none.
struct JobRuns {
    calls: Result<Vec<PerScenario<CallCounts>>, Unmeasured>,
    /// A Go server's callgrind runs with its runtime's work included; `None` for any other.
    whole: Option<Result<Vec<PerScenario<CallCounts>>, Unmeasured>>,
    heap: Result<Vec<PerScenario<Marginal>>, Unmeasured>,
}

/// Every measurement of one server by each tool, or why there is none.
struct Runs<'a> {
    native: &'a Result<Vec<PerScenario<NativeSample>>, Unmeasured>,
    calls: &'a Result<Vec<PerScenario<CallCounts>>, Unmeasured>,
    whole: Option<&'a Result<Vec<PerScenario<CallCounts>>, Unmeasured>>,
    heap: &'a Result<Vec<PerScenario<Marginal>>, Unmeasured>,
}

impl Runs<'_> {
    /// The figures of `scenario`, the `i`-th of the plan.
    fn result(&self, scenario: &CostScenario, i: usize) -> CostResult {
        let calls_part =
            |part: fn(&CallCounts) -> Marginal| figure(self.calls, |run| part(&run[i]));
        let native_part =
            |part: &dyn Fn(&NativeSample) -> Marginal| figure(self.native, |run| part(&run[i]));
        CostResult {
            scenario: scenario.name.to_owned(),
            label: scenario.label(),
            instructions: calls_part(|c| c.instructions),
            allocations: calls_part(|c| c.allocations),
            bytes_allocated: figure(self.heap, |run| run[i]),
            syscalls: native_part(&|s: &NativeSample| s.syscalls),
            context_switches: native_part(&|s: &NativeSample| s.context_switches),
            syscalls_by_kind: self.kinds(i),
            with_runtime: self.whole.map(|whole| WithRuntime {
                instructions: figure(whole, |run| run[i].instructions),
                allocations: figure(whole, |run| run[i].allocations),
            }),
        }
    }

    /// The syscalls of the `i`-th scenario by kind, those above zero, the most frequent first.
    fn kinds(&self, i: usize) -> Vec<SyscallKind> {
        let mut kinds: Vec<SyscallKind> = match self.native {
            Ok(runs) if !runs.is_empty() => runs[0][i]
                .kinds
                .iter()
                .enumerate()
                .map(|(k, kind)| SyscallKind {
                    kind: kind.kind.clone(),
                    syscalls: kind.syscalls.clone(),
                    per_request: figure(self.native, |run| run[i].kinds[k].per_request),
                })
                .filter(|k| k.per_request.per_request().is_some_and(|v| v > 0.0))
                .collect(),
            _ => Vec::new(),
        };
        kinds.sort_by(|a, b| {
            let value = |k: &SyscallKind| k.per_request.per_request().unwrap_or(0.0);
            value(b).total_cmp(&value(a))
        });
        kinds
    }
}

/// A figure from a tool's runs: each run's marginal picked by `pick`, or the reason none was
/// measured. A disturbed measurement ([`Marginal::disturbance`]) makes the figure unavailable,
/// with its samples in the reason, rather than a count that ranks first for being wrong.
fn figure<R>(runs: &Result<Vec<R>, Unmeasured>, pick: impl Fn(&R) -> Marginal) -> Figure {
    match runs {
        Ok(runs) => {
            let marginals: Vec<Marginal> = runs.iter().map(pick).collect();
            match marginals.iter().find_map(Marginal::disturbance) {
                Some(reason) => Figure::Unavailable(reason),
                None => Figure::Measured(marginals),
            }
        }
        Err(reason) => Figure::Unavailable(reason.to_string()),
    }
}

/// Adds one run's outcome to a tool's runs; the first failure stands for all.
fn push_run<T>(runs: &mut Result<Vec<T>, Unmeasured>, run: Result<T, Unmeasured>) {
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
    available: Result<(), Unmeasured>,
    repeat: u32,
    measure: impl FnMut(u32) -> Result<T, Unmeasured>,
) -> Result<Vec<T>, Unmeasured> {
    available?;
    (1..=repeat).map(measure).collect()
}

/// A server without any figure, each one's place holding `reason`.
fn unavailable(
    server: &ServerBinary,
    plan: &CostPlan,
    reason: &Unmeasured,
    notes: Vec<String>,
) -> ServerCost {
    let figure = || Figure::Unavailable(reason.to_string());
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
                with_runtime: None,
            })
            .collect(),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::marginal::Sample;

    fn pair(low: u64, high: u64) -> Marginal {
        let sample = |requests, count| Sample { requests, count };
        Marginal::new(sample(200, low), sample(600, high)).unwrap()
    }

    #[test]
    fn a_disturbed_measurement_leaves_the_figure_unavailable_with_its_samples() {
        let runs: Result<Vec<Marginal>, Unmeasured> = Ok(vec![pair(100, 300), pair(500_000, 300)]);
        match figure(&runs, |m| *m) {
            Figure::Unavailable(reason) => {
                assert!(reason.starts_with("disturbed sample"), "{reason}");
                assert!(reason.contains("500000"), "{reason}");
            }
            other => panic!("a disturbed run was kept: {other:?}"),
        }
        let runs: Result<Vec<Marginal>, Unmeasured> = Ok(vec![pair(100, 300), pair(101, 302)]);
        assert_eq!(figure(&runs, |m| *m).runs(), [0.5, 0.5025]);
    }

    #[test]
    fn a_reason_that_stopped_several_tools_is_one_note_naming_them() {
        let missing = Unmeasured::IoUring;
        let calls: Result<Vec<PerScenario<CallCounts>>, Unmeasured> = Err(missing.clone());
        let heap: Result<Vec<PerScenario<Marginal>>, Unmeasured> = Err(Unmeasured::GoHeap);
        assert_eq!(
            notes(None, &calls, Some(&Err(missing.clone())), &heap),
            [
                format!("callgrind, callgrind with the Go runtime's work: {missing}"),
                format!("DHAT: {}", Unmeasured::GoHeap),
            ]
        );
        let all_measured: Result<Vec<PerScenario<CallCounts>>, Unmeasured> = Ok(Vec::new());
        let heap = Err(missing.clone());
        assert_eq!(
            notes(None, &all_measured, None, &heap),
            [format!("DHAT: {missing}")]
        );
    }
}
