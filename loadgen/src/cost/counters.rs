//! The kernel's own counters of a running server, read with `perf_event_open` (through the
//! perf-event2 crate, which wraps the syscall safely): every syscall it enters (the tracepoint
//! `raw_syscalls:sys_enter`), the main syscalls one by one (`syscalls:sys_enter_<name>`), and
//! its context switches (the software event).
//!
//! A counter follows one thread, and the threads that thread starts afterwards (`inherit`), so
//! a server is followed by one counter per event on each of the threads it has when the
//! counters open: a thread-per-connection server's new threads are counted too.

use std::io;
use std::path::PathBuf;

use perf_event::events::{Software, Tracepoint};
use perf_event::{Builder, Counter};
use thiserror::Error;

/// Where the kernel lists its tracepoints (tracefs); the older debugfs place is tried second.
pub const TRACEFS_EVENTS: [&str; 2] = [
    "/sys/kernel/tracing/events",
    "/sys/kernel/debug/tracing/events",
];

/// The kinds of syscall a server makes per request, and the syscalls of each.
pub const KINDS: &[(&str, &[&str])] = &[
    (
        "read",
        &["read", "readv", "recvfrom", "recvmsg", "recvmmsg"],
    ),
    (
        "write",
        &[
            "write",
            "writev",
            "sendto",
            "sendmsg",
            "sendmmsg",
            "sendfile64",
        ],
    ),
    (
        "poll",
        &[
            "epoll_wait",
            "epoll_pwait",
            "epoll_pwait2",
            "poll",
            "ppoll",
            "pselect6",
        ],
    ),
    ("epoll_ctl", &["epoll_ctl"]),
    ("io_uring", &["io_uring_enter"]),
    ("futex", &["futex"]),
    ("accept", &["accept", "accept4"]),
    ("close", &["close", "shutdown"]),
    ("sched_yield", &["sched_yield"]),
];

/// `No such process`: the errno of perf_event_open on a thread that has ended.
const ESRCH: i32 = 3;

/// The kind of the syscalls not in [`KINDS`].
pub const OTHER: &str = "other";

/// Why the counters could not be opened or read.
#[derive(Debug, Error)]
pub enum CounterError {
    /// The kernel lists no such tracepoint (no tracefs, or a kernel without it).
    #[error("the kernel has no tracepoint {name} (is tracefs mounted at /sys/kernel/tracing?)")]
    NoTracepoint {
        /// `category/name`.
        name: String,
    },
    /// perf_event_open refused.
    #[error(
        "perf_event_open of {event} refused: {source} (run as root, or allow it with `sysctl kernel.perf_event_paranoid=-1`)"
    )]
    Open {
        /// The event.
        event: String,
        /// The OS error.
        source: io::Error,
    },
    /// A counter or the process's threads could not be read.
    #[error("cannot read {what}: {source}")]
    Read {
        /// What was read.
        what: String,
        /// The OS error.
        source: io::Error,
    },
}

/// The counts since the counters opened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CounterSnapshot {
    /// Syscalls entered.
    pub syscalls: u64,
    /// Context switches.
    pub context_switches: u64,
    /// Syscalls entered, for each syscall of [`KINDS`] the kernel has a tracepoint for.
    pub by_syscall: Vec<(String, u64)>,
}

impl CounterSnapshot {
    /// The syscalls grouped by kind ([`KINDS`], then [`OTHER`] for the rest), in the order of
    /// [`KINDS`]: `(kind, its syscalls, count)`.
    pub fn by_kind(&self) -> Vec<(String, Vec<String>, u64)> {
        let mut kinds: Vec<(String, Vec<String>, u64)> = KINDS
            .iter()
            .map(|(kind, names)| {
                let found: Vec<&(String, u64)> = self
                    .by_syscall
                    .iter()
                    .filter(|(name, _)| names.contains(&name.as_str()))
                    .collect();
                (
                    (*kind).to_owned(),
                    found.iter().map(|(name, _)| name.clone()).collect(),
                    found.iter().map(|(_, count)| count).sum(),
                )
            })
            .collect();
        let named: u64 = kinds.iter().map(|(_, _, count)| count).sum();
        kinds.push((
            OTHER.to_owned(),
            Vec::new(),
            self.syscalls.saturating_sub(named),
        ));
        kinds
    }
}

/// One event's counters over a process's threads.
#[derive(Debug)]
struct ThreadCounters(Vec<Counter>);

impl ThreadCounters {
    fn sum(&mut self, what: &str) -> Result<u64, CounterError> {
        self.0.iter_mut().try_fold(0, |sum, counter| {
            let value = counter.read().map_err(|source| CounterError::Read {
                what: what.to_owned(),
                source,
            })?;
            Ok(sum + value)
        })
    }
}

/// The counters of one server process.
#[derive(Debug)]
pub struct ProcessCounters {
    syscalls: ThreadCounters,
    context_switches: ThreadCounters,
    by_syscall: Vec<(String, ThreadCounters)>,
}

impl ProcessCounters {
    /// Opens and starts the counters on every thread of process `pid`.
    pub fn open(pid: u32) -> Result<Self, CounterError> {
        let threads = threads_of(pid)?;
        let sys_enter = tracepoint("raw_syscalls/sys_enter")?;
        let mut by_syscall = Vec::new();
        for name in KINDS.iter().flat_map(|(_, names)| names.iter()) {
            // A syscall the kernel does not have (or has no tracepoint for) cannot be made.
            if let Ok(event) = tracepoint(&format!("syscalls/sys_enter_{name}")) {
                by_syscall.push((
                    (*name).to_owned(),
                    open_on(&threads, event, &format!("syscalls:sys_enter_{name}"))?,
                ));
            }
        }
        Ok(Self {
            syscalls: open_on(&threads, sys_enter, "raw_syscalls:sys_enter")?,
            context_switches: open_on(&threads, Software::CONTEXT_SWITCHES, "context-switches")?,
            by_syscall,
        })
    }

    /// The counts so far.
    pub fn read(&mut self) -> Result<CounterSnapshot, CounterError> {
        Ok(CounterSnapshot {
            syscalls: self.syscalls.sum("raw_syscalls:sys_enter")?,
            context_switches: self.context_switches.sum("context-switches")?,
            by_syscall: self
                .by_syscall
                .iter_mut()
                .map(|(name, counters)| Ok((name.clone(), counters.sum(name)?)))
                .collect::<Result<_, CounterError>>()?,
        })
    }
}

/// Whether this process may count syscalls: opens `raw_syscalls:sys_enter` on itself.
pub fn probe() -> Result<(), CounterError> {
    let event = tracepoint("raw_syscalls/sys_enter")?;
    let tid = i32::try_from(std::process::id()).unwrap_or(0);
    open_on(&[tid], event, "raw_syscalls:sys_enter").map(drop)
}

/// A tracepoint by its `category/name`, its id read from tracefs.
fn tracepoint(name: &str) -> Result<Tracepoint, CounterError> {
    TRACEFS_EVENTS
        .iter()
        .find_map(|root| {
            let path = PathBuf::from(root).join(name).join("id");
            std::fs::read_to_string(path).ok()?.trim().parse().ok()
        })
        .map(Tracepoint::with_id)
        .ok_or_else(|| CounterError::NoTracepoint {
            name: name.to_owned(),
        })
}

fn open_on(
    threads: &[i32],
    event: impl perf_event::events::Event + Copy,
    what: &str,
) -> Result<ThreadCounters, CounterError> {
    let mut counters = Vec::new();
    for &tid in threads {
        let built = Builder::new(event)
            .observe_pid(tid)
            .any_cpu()
            // Syscall entries and context switches happen in the kernel: count them there.
            .include_kernel()
            // Threads the server starts later are counted by their parent's counter.
            .inherit(true)
            .enabled(true)
            .build();
        match built {
            Ok(counter) => counters.push(counter),
            // The thread ended between the listing and now: nothing of it left to count.
            Err(err) if err.raw_os_error() == Some(ESRCH) => {}
            Err(source) => {
                return Err(CounterError::Open {
                    event: what.to_owned(),
                    source,
                });
            }
        }
    }
    Ok(ThreadCounters(counters))
}

/// The thread ids of process `pid`.
fn threads_of(pid: u32) -> Result<Vec<i32>, CounterError> {
    let dir = format!("/proc/{pid}/task");
    let read_error = |source| CounterError::Read {
        what: dir.clone(),
        source,
    };
    let mut threads = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        if let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) {
            threads.push(tid);
        }
    }
    Ok(threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscalls_are_grouped_by_kind_and_the_rest_is_other() {
        let snapshot = CounterSnapshot {
            syscalls: 100,
            context_switches: 3,
            by_syscall: vec![
                ("read".into(), 20),
                ("recvfrom".into(), 5),
                ("writev".into(), 30),
                ("epoll_wait".into(), 40),
            ],
        };
        let kinds = snapshot.by_kind();
        let count = |kind: &str| kinds.iter().find(|k| k.0 == kind).unwrap().2;
        assert_eq!(count("read"), 25);
        assert_eq!(count("write"), 30);
        assert_eq!(count("poll"), 40);
        assert_eq!(count("futex"), 0);
        assert_eq!(count(OTHER), 5);
        let read = kinds.iter().find(|k| k.0 == "read").unwrap();
        assert_eq!(read.1, ["read", "recvfrom"]);
    }

    #[test]
    fn counts_its_own_syscalls_when_the_kernel_allows() {
        if let Err(err) = probe() {
            eprintln!("skipped: {err}");
            return;
        }
        let pid = std::process::id();
        let mut counters = ProcessCounters::open(pid).unwrap();
        let before = counters.read().unwrap();
        for _ in 0..100 {
            std::fs::metadata("/").unwrap();
        }
        let after = counters.read().unwrap();
        assert!(
            after.syscalls >= before.syscalls + 100,
            "{before:?} {after:?}"
        );
    }
}
