//! The machine a comparison runs on: which CPUs go to the servers and which to the load
//! generator, what the kernel says about a server's CPU time and memory, and the facts about the
//! machine and the build that make a result reproducible.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A CPU list or a split of the CPUs that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CpuError {
    /// Not a list like `0,1` or `0-3`.
    #[error("{0:?} is not a CPU list like 0,1 or 0-3")]
    NotAList(String),
    /// A list without a CPU in it.
    #[error("{0:?} names no CPU")]
    Empty(String),
    /// A CPU given to both the servers and the load generator.
    #[error(
        "CPU {0} is in both --server-cpus and --client-cpus: server and client would compete for it"
    )]
    Shared(usize),
    /// A CPU this process may not run on.
    #[error("CPU {cpu} is not available to this process (it may use {available:?})")]
    NotAvailable {
        /// The CPU given.
        cpu: usize,
        /// The CPUs it may use.
        available: Vec<usize>,
    },
}

/// `cpus` as a CPU list in the form taskset and `--db-cpus` take: `0,2,3`.
pub fn cpu_list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a CPU list such as `0`, `0,2` or `0-3,6`.
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, CpuError> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || CpuError::NotAList(text.to_owned());
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to): (usize, usize) = (
                    from.parse().map_err(|_| bad())?,
                    to.parse().map_err(|_| bad())?,
                );
                if from > to {
                    return Err(bad());
                }
                cpus.extend(from..=to);
            }
            None => cpus.push(part.parse().map_err(|_| bad())?),
        }
    }
    if cpus.is_empty() {
        return Err(CpuError::Empty(text.to_owned()));
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// The CPUs this process may run on.
pub fn available_cpus() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .collect(),
        Err(_) => (0..std::thread::available_parallelism().map_or(1, usize::from)).collect(),
    }
}

/// Pins this process (and the threads it starts later) to `cpus`.
pub fn pin_self(cpus: &[usize]) -> nix::Result<()> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu)?;
    }
    sched_setaffinity(Pid::from_raw(0), &set)
}

/// Which CPUs the servers get and which the load generator gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuSplit {
    /// The servers' CPUs (their `--threads` is this many).
    pub server: Vec<usize>,
    /// The load generator's CPUs (its load threads are this many).
    pub client: Vec<usize>,
    /// Whether the two sides are pinned apart; false on a one-CPU machine.
    pub pinned: bool,
}

impl CpuSplit {
    /// Half the CPUs for the server, the other half for the client (on 2 CPUs: one each); the
    /// server gets the odd one out.
    pub fn halves(cpus: &[usize]) -> Self {
        if cpus.len() < 2 {
            return Self {
                server: cpus.to_vec(),
                client: cpus.to_vec(),
                pinned: false,
            };
        }
        let (server, client) = cpus.split_at(cpus.len().div_ceil(2));
        Self {
            server: server.to_vec(),
            client: client.to_vec(),
            pinned: true,
        }
    }

    /// A split given on the command line; the lists must not overlap.
    pub fn given(server: Vec<usize>, client: Vec<usize>) -> Result<Self, CpuError> {
        if let Some(&cpu) = server.iter().find(|cpu| client.contains(cpu)) {
            return Err(CpuError::Shared(cpu));
        }
        let available = available_cpus();
        if let Some(&cpu) = server
            .iter()
            .chain(&client)
            .find(|cpu| !available.contains(cpu))
        {
            return Err(CpuError::NotAvailable { cpu, available });
        }
        Ok(Self {
            server,
            client,
            pinned: true,
        })
    }

    /// The CPUs to run servers on when what is measured does not depend on timing (valgrind's
    /// counts): every CPU of the split, one server on each; `[None]`, one at a time on any
    /// CPU, when the split is not pinned.
    pub fn valgrind_cpus(&self) -> Vec<Option<usize>> {
        if !self.pinned {
            return vec![None];
        }
        let mut cpus: Vec<usize> = self.server.iter().chain(&self.client).copied().collect();
        cpus.sort_unstable();
        cpus.dedup();
        cpus.into_iter().map(Some).collect()
    }

    /// `taskset -c LIST`, to start a server on its CPUs.
    pub fn server_launcher(&self) -> Vec<String> {
        if !self.pinned {
            return Vec::new();
        }
        vec![
            "taskset".to_owned(),
            "-c".to_owned(),
            cpu_list(&self.server),
        ]
    }
}

/// A process's CPU time and peak memory, as the kernel counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessSample {
    /// User plus system CPU time so far.
    pub cpu: Duration,
    /// Peak resident set size (VmHWM), KiB.
    pub rss_peak_kib: u64,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`.
pub fn sample_process(pid: u32) -> std::io::Result<ProcessSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let invalid =
        || std::io::Error::new(std::io::ErrorKind::InvalidData, "unexpected /proc layout");
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or_else(invalid)?
        .1
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .ok_or_else(invalid)
    };
    let (utime, stime) = (ticks(11)?, ticks(12)?);
    let per_second = clock_ticks_per_second();
    let cpu = Duration::from_secs_f64((utime + stime) as f64 / per_second as f64);
    let rss_peak_kib = status_kib(&status, "VmHWM:").unwrap_or(0);
    Ok(ProcessSample { cpu, rss_peak_kib })
}

/// A process's resident memory right now (VmRSS of `/proc/<pid>/status`), KiB.
pub fn resident_kib(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status_kib(&status, "VmRSS:").ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "no VmRSS in its status")
    })
}

/// The figure of the `/proc/<pid>/status` line that starts with `field` (`VmRSS:   1234 kB`).
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The whole machine's CPU time, from the first line of `/proc/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MachineTimes {
    /// Every state together.
    pub total: u64,
    /// Idle and waiting for I/O.
    pub idle: u64,
    /// Stolen by the hypervisor for other virtual machines.
    pub steal: u64,
}

/// How the machine was used between two [`MachineTimes`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MachineUse {
    /// Share of all CPU time stolen by the hypervisor.
    pub steal: f64,
    /// CPUs' worth of time spent running anything (steal and idle left out).
    pub busy_cpus: f64,
}

impl MachineTimes {
    /// Reads `/proc/stat`.
    pub fn read() -> std::io::Result<Self> {
        Self::parse(&std::fs::read_to_string("/proc/stat")?).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "unexpected /proc/stat layout",
            )
        })
    }

    /// Parses the `cpu` line: user nice system idle iowait irq softirq steal …
    pub fn parse(stat: &str) -> Option<Self> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        // guest and guest_nice (9th and 10th) are already counted in user and nice.
        let at = |i: usize| fields.get(i).copied().unwrap_or(0);
        Some(Self {
            total: fields.iter().take(8).sum(),
            idle: at(3) + at(4),
            steal: at(7),
        })
    }

    /// What happened since `earlier`, over `seconds` of wall time.
    pub fn since(&self, earlier: &Self, seconds: f64) -> MachineUse {
        let total = self.total.saturating_sub(earlier.total);
        let steal = self.steal.saturating_sub(earlier.steal);
        let idle = self.idle.saturating_sub(earlier.idle);
        let busy = total.saturating_sub(steal + idle);
        MachineUse {
            steal: if total > 0 {
                steal as f64 / total as f64
            } else {
                0.0
            },
            busy_cpus: if seconds > 0.0 {
                busy as f64 / clock_ticks_per_second() as f64 / seconds
            } else {
                0.0
            },
        }
    }
}

/// The kernel's clock ticks per second (`CLK_TCK`), the unit of /proc's CPU times.
pub(crate) fn clock_ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100)
        .max(1) as u64
}

/// Steps of [`speed_probe`]: about 2 ms on a current CPU.
const PROBE_STEPS: u32 = 2_000_000;

/// A fixed piece of integer work, timed: how fast this CPU runs right now. A shared machine
/// slowed down by its neighbours shows here even when the hypervisor reports no steal.
pub fn speed_probe() -> Duration {
    let started = Instant::now();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..PROBE_STEPS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x);
    started.elapsed()
}

/// [`speed_probe`] on `cpus`, in a thread pinned there; `None` if it cannot be pinned.
pub fn probe_cpus(cpus: &[usize]) -> Option<Duration> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                pin_self(cpus).ok()?;
                Some(speed_probe())
            })
            .join()
            .ok()
            .flatten()
    })
}

/// What a result needs to be reproduced: the machine, the toolchain, the versions, the commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// CPU model, from /proc/cpuinfo.
    pub cpu_model: String,
    /// CPUs this process could use.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// Host name.
    pub hostname: String,
    /// `rustc --version`.
    pub rustc: String,
    /// Versions of the crates that matter, from Cargo.lock.
    pub crates: BTreeMap<String, String>,
    /// `git rev-parse HEAD`, with `-dirty` when the tree has changes.
    pub git_commit: String,
    /// Whether this load generator is an optimized build.
    pub loadgen_release_build: bool,
    /// The servers' binaries.
    pub server_binaries: String,
}

/// The crates whose versions a result records.
const RECORDED_CRATES: &[&str] = &[
    "actix-web",
    "axum",
    "hyper",
    "hyper-util",
    "warp",
    "ntex",
    "salvo",
    "rocket",
    "may_minihttp",
    "tokio",
    "httparse",
    "reqwest",
    "hdrhistogram",
    "serde_json",
];

/// The lock file this load generator was built with.
const CARGO_LOCK: &str = include_str!("../../Cargo.lock");

impl Environment {
    /// Reads the facts of this machine; `workspace` is where git runs.
    pub fn read(workspace: &Path, server_binaries: &Path) -> Self {
        let file = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "unknown".into())
        };
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines().find_map(|l| {
                    l.strip_prefix("model name")
                        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
                })
            })
            .unwrap_or_else(|| "unknown".into());
        let commit = command_output(
            Command::new("git")
                .arg("-C")
                .arg(workspace)
                .args(["rev-parse", "HEAD"]),
        );
        let dirty = command_output(Command::new("git").arg("-C").arg(workspace).args([
            "status",
            "--porcelain",
            "--untracked-files=no",
        ]));
        Self {
            cpu_model,
            cores: available_cpus().len(),
            kernel: file("/proc/sys/kernel/osrelease"),
            hostname: hostname(),
            rustc: command_output(Command::new("rustc").arg("--version")),
            crates: crate_versions(CARGO_LOCK),
            git_commit: if dirty.is_empty() || dirty == "unknown" {
                commit
            } else {
                format!("{commit}-dirty")
            },
            loadgen_release_build: !cfg!(debug_assertions),
            server_binaries: server_binaries.display().to_string(),
        }
    }
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

fn command_output(command: &mut Command) -> String {
    command
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// The versions of [`RECORDED_CRATES`] in a Cargo.lock (several when more than one is locked).
fn crate_versions(lock: &str) -> BTreeMap<String, String> {
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("name = \"")
            .and_then(|n| n.strip_suffix('"'))
        else {
            continue;
        };
        if !RECORDED_CRATES.contains(&name) {
            continue;
        }
        if let Some(version) = lines
            .next()
            .and_then(|l| l.strip_prefix("version = \""))
            .and_then(|v| v.strip_suffix('"'))
        {
            versions
                .entry(name.to_owned())
                .or_default()
                .push(version.to_owned());
        }
    }
    versions
        .into_iter()
        .map(|(name, v)| (name, v.join(", ")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_with_ranges_and_refuse_nonsense() {
        assert_eq!(parse_cpu_list("0"), Ok(vec![0]));
        assert_eq!(parse_cpu_list("3,0-1"), Ok(vec![0, 1, 3]));
        assert!(parse_cpu_list("").is_err());
        assert!(parse_cpu_list("2-1").is_err());
        assert!(parse_cpu_list("a").is_err());
    }

    #[test]
    fn the_default_split_gives_each_side_half() {
        assert_eq!(
            CpuSplit::halves(&[0, 1]),
            CpuSplit {
                server: vec![0],
                client: vec![1],
                pinned: true
            }
        );
        assert_eq!(CpuSplit::halves(&[0, 1, 2]).server, vec![0, 1]);
        assert!(!CpuSplit::halves(&[0]).pinned);
        assert!(CpuSplit::given(vec![0], vec![0]).is_err());
        assert_eq!(
            CpuSplit::halves(&[0, 1]).server_launcher(),
            ["taskset", "-c", "0"]
        );
    }

    #[test]
    fn this_process_can_be_sampled() {
        // Resident memory first: the peak read after it cannot be lower.
        let resident = resident_kib(std::process::id()).expect("this process's VmRSS");
        let sample = sample_process(std::process::id()).unwrap();
        assert!(sample.rss_peak_kib > 0);
        assert!(resident > 0 && resident <= sample.rss_peak_kib);
    }

    #[test]
    fn steal_and_busy_time_come_from_proc_stat() {
        let before = MachineTimes::parse("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n").unwrap();
        let after = MachineTimes::parse("cpu  300 0 50 900 50 0 0 100 0 0\n").unwrap();
        assert_eq!((before.total, before.idle, before.steal), (1000, 850, 0));
        let used = after.since(&before, 1.0);
        assert!((used.steal - 0.25).abs() < 1e-9, "{used:?}");
        let ticks = clock_ticks_per_second() as f64;
        assert!((used.busy_cpus - 200.0 / ticks).abs() < 1e-9, "{used:?}");
        assert!(MachineTimes::parse("intr 1 2").is_none());
        assert!(MachineTimes::read().is_ok());
    }

    #[test]
    fn the_speed_probe_times_fixed_work() {
        let probe = probe_cpus(&available_cpus()[..1]).unwrap();
        assert!(
            probe > Duration::ZERO && probe < Duration::from_secs(1),
            "{probe:?}"
        );
    }

    #[test]
    fn crate_versions_come_from_the_lock_file() {
        let versions = crate_versions(CARGO_LOCK);
        assert!(
            versions.contains_key("hyper") && versions.contains_key("axum"),
            "{versions:?}"
        );
    }
}
