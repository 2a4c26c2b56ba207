//! What `loadgen cost` measured, as data: a [`CostTable`] of [`ServerCost`]s, each with a
//! [`CostResult`] per scenario whose figures are [`Figure`]s, a count per request measured
//! several times, or the reason it could not be measured.
//!
//! These types are made by [`crate::cost`], ranked by [`crate::analysis`] and rendered by
//! [`crate::report`]; they know nothing of any of them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::marginal::{self, Marginal};
use crate::format::group;

/// A figure per request: measured (each measurement with its two samples), or not available,
/// with the reason in its place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// One marginal count per measurement.
    Measured(Vec<Marginal>),
    /// Why there is no figure: a missing tool, a server the tool cannot follow, a failure.
    Unavailable(String),
}

impl Figure {
    /// The figure of each measurement.
    pub fn runs(&self) -> Vec<f64> {
        match self {
            Self::Measured(runs) => runs.iter().map(|m| m.per_request).collect(),
            Self::Unavailable(_) => Vec::new(),
        }
    }

    /// The mean of the measurements, if there are any.
    pub fn per_request(&self) -> Option<f64> {
        let runs = self.runs();
        (!runs.is_empty()).then(|| marginal::mean(&runs))
    }

    /// `(max - min) / mean` of the measurements, if there are any.
    pub fn spread(&self) -> Option<f64> {
        let runs = self.runs();
        (!runs.is_empty()).then(|| marginal::spread(&runs))
    }

    /// Why the figure is missing, if it is.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Measured(_) => None,
            Self::Unavailable(reason) => Some(reason),
        }
    }
}

/// What a figure counts per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Count {
    /// User-space instructions (callgrind).
    Instructions,
    /// Heap allocations (callgrind's calls into the allocator).
    Allocations,
    /// Bytes allocated on the heap (DHAT).
    BytesAllocated,
    /// Syscalls (the kernel's counters).
    Syscalls,
    /// Context switches (the kernel's counters).
    ContextSwitches,
}

impl Count {
    /// Its name in `run.json` and `cost.json` (`bytes_allocated`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Instructions => "instructions",
            Self::Allocations => "allocations",
            Self::BytesAllocated => "bytes_allocated",
            Self::Syscalls => "syscalls",
            Self::ContextSwitches => "context_switches",
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Syscalls of one kind per request (reads, writes, polls…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyscallKind {
    /// The kind: `read`, `write`, `poll`, `futex`… or `other` for the rest.
    pub kind: String,
    /// The syscalls it groups, as the kernel's tracepoints name them.
    pub syscalls: Vec<String>,
    /// How many per request.
    pub per_request: Figure,
}

/// What one request of one scenario costs one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostResult {
    /// The scenario's name (`json`, `pipelined`).
    pub scenario: String,
    /// The scenario as tables show it (`pipelined ×16`).
    pub label: String,
    /// User-space instructions (valgrind callgrind), one connection. A Go server's are what
    /// serves the requests: its runtime's background work is in [`Self::with_runtime`].
    pub instructions: Figure,
    /// Heap allocations (calls into the allocator, valgrind callgrind), one connection; a Go
    /// server's with its collector off, as [`Self::instructions`].
    pub allocations: Figure,
    /// Bytes allocated on the heap (valgrind DHAT), one connection.
    pub bytes_allocated: Figure,
    /// Syscalls (the kernel's `raw_syscalls:sys_enter`), native, under the closed-loop load.
    pub syscalls: Figure,
    /// Context switches (the kernel's software counter), native, under the same load.
    pub context_switches: Figure,
    /// The syscalls by kind, most frequent first.
    pub syscalls_by_kind: Vec<SyscallKind>,
    /// A Go server's counts as it runs, its runtime's background work included (the garbage
    /// collector, `sysmon`, the scheduler's search for work), which moves with the clock and
    /// with when a collection lands; `None` for a server without a runtime counted apart.
    /// Shown beside the ranked counts, never ranked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_runtime: Option<WithRuntime>,
}

/// A Go server's counts per request with its runtime's background work included: one
/// callgrind run as the server runs (the collector on, every thread). Less the ranked counts,
/// they are the runtime's share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WithRuntime {
    /// User-space instructions.
    pub instructions: Figure,
    /// Heap allocations (calls into `runtime.mallocgc`).
    pub allocations: Figure,
}

impl CostResult {
    /// The counts a comparison ranks, each with its figure, in table order.
    pub fn figures(&self) -> [(Count, &Figure); 5] {
        [
            (Count::Instructions, &self.instructions),
            (Count::Allocations, &self.allocations),
            (Count::BytesAllocated, &self.bytes_allocated),
            (Count::Syscalls, &self.syscalls),
            (Count::ContextSwitches, &self.context_switches),
        ]
    }
}

/// Everything measured of one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerCost {
    /// The server's name.
    pub server: String,
    /// The binary measured.
    pub binary: PathBuf,
    /// One result per scenario, in the plan's order.
    pub results: Vec<CostResult>,
    /// What happened on the way that a reader should know (a tool that gave up, and why).
    pub notes: Vec<String>,
}

impl ServerCost {
    /// The result of `scenario`, if it was measured.
    pub fn result(&self, scenario: &str) -> Option<&CostResult> {
        self.results.iter().find(|r| r.scenario == scenario)
    }
}

/// Whether a tool is there, and its version or what installs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    /// Found; its version.
    Available(String),
    /// Not usable: what is missing and the command that installs it.
    Missing(String),
}

impl ToolStatus {
    /// The reason it is missing, if it is.
    pub fn missing(&self) -> Option<&str> {
        match self {
            Self::Available(_) => None,
            Self::Missing(reason) => Some(reason),
        }
    }
}

/// The tools the counts come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tools {
    /// valgrind (callgrind, DHAT and vgdb), for instructions and allocations.
    pub valgrind: ToolStatus,
    /// The kernel's perf events (perf_event_open on tracepoints), for syscalls and context
    /// switches.
    pub perf_events: ToolStatus,
}

/// Two request counts, the second the larger: where the two samples of a marginal count are
/// taken. Written as `[low, high]`, as every run has written it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "[u64; 2]", into = "[u64; 2]")]
pub struct RequestPair {
    /// Requests of the smaller sample.
    pub low: u64,
    /// Requests of the larger sample.
    pub high: u64,
}

impl From<[u64; 2]> for RequestPair {
    fn from([low, high]: [u64; 2]) -> Self {
        Self { low, high }
    }
}

impl std::fmt::Display for RequestPair {
    /// `1,000 and 3,000`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} and {}", group(self.low), group(self.high))
    }
}

impl From<RequestPair> for [u64; 2] {
    fn from(pair: RequestPair) -> Self {
        [pair.low, pair.high]
    }
}

/// How the counts were taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostSettings {
    /// Requests of the two callgrind samples, on one connection.
    pub callgrind_requests: RequestPair,
    /// Requests of the two DHAT samples, on one connection.
    pub dhat_requests: RequestPair,
    /// Requests of the two native samples, under the closed-loop load.
    pub load_requests: RequestPair,
    /// Connections of the closed-loop load.
    pub connections: u32,
    /// Unmeasured requests before the first sample of each scenario.
    pub warmup_requests: u64,
    /// Measurements of every figure (each in a fresh server process).
    pub repeat: u32,
    /// The servers' `--threads`.
    pub server_threads: u32,
    /// The servers' CPUs and the load generator's.
    pub cpus: crate::machine::CpuSplit,
}

/// A `loadgen cost` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostTable {
    /// When it started (UTC, RFC 3339).
    pub started_at: String,
    /// The command line.
    pub command: String,
    /// How the counts were taken.
    pub settings: CostSettings,
    /// The tools found.
    pub tools: Tools,
    /// One entry per server, in the order given.
    pub servers: Vec<ServerCost>,
    /// Wall time of the whole run, in seconds.
    pub seconds: f64,
    /// Stopped early (Ctrl-C): what was measured so far.
    pub partial: bool,
}
