//! The kernel's own counters of a running server, read with `perf_event_open` (through the
//! perf-event2 crate, which wraps the syscall safely): every syscall it enters (the tracepoint
//! `raw_syscalls:sys_enter`), the main syscalls one by one (`syscalls:sys_enter_<name>`), and
//! its context switches (the software event).
//!
//! The server is moved into a cgroup of its own (cgroup v2), and each event is counted per CPU
//! for that cgroup: every thread of the server is counted from that moment, the threads it
//! starts later too, whether they are still running when the counters are read or not.
//!
//! Without a writable cgroup v2 hierarchy, a counter follows each thread the server has when
//! the counters open, and the threads those start (`inherit`). The kernel adds an inherited
//! counter's count to its parent's only when that thread ends, so in that mode the work of a
//! thread started after the counters opened shows up late: [`ProcessCounters::scope`] says
//! which mode counted.

use std::io;
use std::path::PathBuf;

use perf_event::events::{Software, Tracepoint};
use perf_event::{Builder, Counter};
use thiserror::Error;

use crate::cgroup::Cgroup;

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
    #[error(
        "the kernel has no tracepoint {name} (tracefs is not mounted, and mounting it failed: \
         as root, `mount -t tracefs nodev /sys/kernel/tracing`)"
    )]
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

/// What the counters of a process follow.
#[derive(Debug)]
enum Scope {
    /// A cgroup holding the server, counted on each CPU.
    Cgroup { cgroup: Cgroup, cpus: Vec<usize> },
    /// The server's threads as they were when the counters opened, and their descendants.
    Threads(Vec<i32>),
}

impl Scope {
    fn open(
        &self,
        event: impl perf_event::events::Event + Copy,
        what: &str,
    ) -> Result<ThreadCounters, CounterError> {
        match self {
            Self::Cgroup { cgroup, cpus } => {
                let mut counters = Vec::new();
                for &cpu in cpus {
                    let counter = Builder::new(event)
                        .observe_cgroup(cgroup.dir())
                        .one_cpu(cpu)
                        // Syscall entries and context switches happen in the kernel: count
                        // them there.
                        .include_kernel()
                        .enabled(true)
                        .build()
                        .map_err(|source| CounterError::Open {
                            event: what.to_owned(),
                            source,
                        })?;
                    counters.push(counter);
                }
                Ok(ThreadCounters(counters))
            }
            Self::Threads(threads) => open_on(threads, event, what),
        }
    }
}

/// The counters of one server process.
#[derive(Debug)]
pub struct ProcessCounters {
    syscalls: ThreadCounters,
    context_switches: ThreadCounters,
    by_syscall: Vec<(String, ThreadCounters)>,
    // Last: the counters close before the cgroup is removed.
    scope: Scope,
}

impl ProcessCounters {
    /// Opens and starts the counters on process `pid`: on a cgroup of its own if the machine
    /// has a writable cgroup v2 hierarchy, otherwise on its threads.
    pub fn open(pid: u32) -> Result<Self, CounterError> {
        let scope = match Cgroup::enter("cost", pid) {
            Ok(cgroup) => Scope::Cgroup {
                cgroup,
                cpus: online_cpus()?,
            },
            Err(_) => Scope::Threads(threads_of(pid)?),
        };
        let sys_enter = tracepoint("raw_syscalls/sys_enter")?;
        let mut by_syscall = Vec::new();
        for name in KINDS.iter().flat_map(|(_, names)| names.iter()) {
            // A syscall the kernel does not have (or has no tracepoint for) cannot be made.
            if let Ok(event) = tracepoint(&format!("syscalls/sys_enter_{name}")) {
                by_syscall.push((
                    (*name).to_owned(),
                    scope.open(event, &format!("syscalls:sys_enter_{name}"))?,
                ));
            }
        }
        Ok(Self {
            syscalls: scope.open(sys_enter, "raw_syscalls:sys_enter")?,
            context_switches: scope.open(Software::CONTEXT_SWITCHES, "context-switches")?,
            by_syscall,
            scope,
        })
    }

    /// What the counters follow: `cgroup` (every thread of the server), or `threads` (its
    /// threads when they opened; see the module's documentation).
    pub fn scope(&self) -> &'static str {
        match self.scope {
            Scope::Cgroup { .. } => "cgroup",
            Scope::Threads(_) => "threads",
        }
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

/// Whether this process may count syscalls (it opens `raw_syscalls:sys_enter` on itself), and
/// if so how a server's are followed: one of [`CGROUP_SCOPE`] and [`THREAD_SCOPE`].
pub fn probe() -> Result<&'static str, CounterError> {
    let event = tracepoint("raw_syscalls/sys_enter")?;
    let tid = i32::try_from(std::process::id()).unwrap_or(0);
    open_on(&[tid], event, "raw_syscalls:sys_enter")?;
    let writable = crate::cgroup::writable();
    Ok(if writable { CGROUP_SCOPE } else { THREAD_SCOPE })
}

/// How the counters follow a server with a writable cgroup v2 hierarchy.
pub const CGROUP_SCOPE: &str = "every thread of the server, through a cgroup of its own";
/// How the counters follow a server without one.
pub const THREAD_SCOPE: &str = "the server's threads (no writable cgroup v2 hierarchy: a thread started after the counters opened is counted only when it ends)";

/// A tracepoint by its `category/name`, its id read from tracefs. Where tracefs is not mounted,
/// it is mounted at `/sys/kernel/tracing` first, as perf itself does (`tracefs__mount`), when
/// this process may (root); otherwise the error names the mount.
fn tracepoint(name: &str) -> Result<Tracepoint, CounterError> {
    let id = || {
        TRACEFS_EVENTS.iter().find_map(|root| {
            let path = PathBuf::from(root).join(name).join("id");
            std::fs::read_to_string(path).ok()?.trim().parse().ok()
        })
    };
    id().or_else(|| mount_tracefs().then(id).flatten())
        .map(Tracepoint::with_id)
        .ok_or_else(|| CounterError::NoTracepoint {
            name: name.to_owned(),
        })
}

/// Mounts tracefs at `/sys/kernel/tracing` if nothing is mounted there yet; whether it did.
/// The mount stays, as the one systemd makes at boot does: it holds no state of this run.
fn mount_tracefs() -> bool {
    let target = std::path::Path::new(TRACEFS_EVENTS[0]).parent();
    let Some(target) = target.filter(|t| t.is_dir() && !t.join("events").exists()) else {
        return false;
    };
    nix::mount::mount(
        Some("nodev"),
        target,
        Some("tracefs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .is_ok()
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

/// The CPUs the kernel has online (`/sys/devices/system/cpu/online`, e.g. `0-1,4`).
fn online_cpus() -> Result<Vec<usize>, CounterError> {
    const ONLINE: &str = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(ONLINE).map_err(|source| CounterError::Read {
        what: ONLINE.to_owned(),
        source,
    })?;
    parse_cpu_list(&text).ok_or_else(|| CounterError::Read {
        what: ONLINE.to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidData, format!("{:?}", text.trim())),
    })
}

/// A kernel CPU list (`0-3,8,10-11`).
fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        match part.split_once('-') {
            Some((first, last)) => cpus.extend(first.parse::<usize>().ok()?..=last.parse().ok()?),
            None => cpus.push(part.parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
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

    /// True when the syscall tracepoints can be opened here; otherwise reports the skip of
    /// `test`. Only the kernel's refusal is a skip: an error reading a counter fails.
    fn tracepoints_or_skip(test: &str) -> bool {
        match probe() {
            Ok(_) => true,
            Err(err @ (CounterError::NoTracepoint { .. } | CounterError::Open { .. })) => {
                harness::skip::skip(test, harness::skip::Missing::PerfTracepoints, err);
                false
            }
            Err(err) => panic!("{test}: {err}"),
        }
    }

    #[test]
    fn cpu_lists_are_read_as_the_kernel_writes_them() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0,2-4,7"), Some(vec![0, 2, 3, 4, 7]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    /// A server that starts a task after the counters opened, which makes its syscalls and
    /// is still running when they are read: in cgroup mode they are counted at once (in
    /// thread mode the kernel would add them only when that task ends).
    #[test]
    fn a_task_started_after_the_counters_opened_is_counted_while_it_runs() {
        use std::io::{BufRead as _, BufReader, Write as _};
        const TEST: &str = "a_task_started_after_the_counters_opened_is_counted_while_it_runs";
        if !tracepoints_or_skip(TEST) || !crate::cgroup::writable_or_skip(TEST) {
            return;
        }
        // The shell waits for a line, then a subshell (a new task) opens /dev/null 300 times,
        // says so, and waits for another line before it ends.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "read go; (for i in $(seq 300); do : < /dev/null; done; echo done; read end || true)",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut counters = ProcessCounters::open(child.id()).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // A cgroup can be made here: counting the threads instead would be the counters' fault.
        assert_eq!(counters.scope(), "cgroup");
        let before = counters.read().unwrap();
        writeln!(stdin, "go").unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let after = counters.read().unwrap();
        drop(stdin);
        assert!(child.wait().unwrap().success());
        drop(counters);
        // 300 opens of /dev/null, each with its close.
        assert!(
            after.syscalls >= before.syscalls + 600,
            "{before:?} {after:?}"
        );
    }

    #[test]
    fn counts_its_own_syscalls_when_the_kernel_allows() {
        if !tracepoints_or_skip("counts_its_own_syscalls_when_the_kernel_allows") {
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
