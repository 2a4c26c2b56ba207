//! A cgroup v2 of one server process, and what the kernel counts in it: the cost phase opens
//! its perf counters on one ([`crate::cost::counters`]), and a comparison's visit reads the
//! server's CPU time (`cpu.stat` `usage_usec`, to the microsecond, over every thread the server
//! ever had) and its peak memory (`memory.peak`, where the memory controller is on) from one.
//!
//! Without a writable cgroup v2 hierarchy, [`ServerMeter`] falls back to the sum of the
//! server's threads' `schedstat` (nanoseconds on the CPU, per thread still running), and says
//! so: [`CpuMethod`].

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A cgroup v2 of one server process; removed when dropped, after any process still in it is
/// moved back to the hierarchy's root.
#[derive(Debug)]
pub struct Cgroup {
    path: PathBuf,
    root: PathBuf,
    dir: File,
}

/// The prefix of every cgroup made here: `<prefix><purpose>-<our pid>-<server pid>`.
const CGROUP_PREFIX: &str = "http-rosetta-";

impl Cgroup {
    /// Makes a cgroup under the cgroup v2 hierarchy's root, named for `purpose` (`cost`,
    /// `server`), and moves process `pid` (all its threads) into it.
    pub fn enter(purpose: &str, pid: u32) -> io::Result<Self> {
        let root = cgroup2_root()?;
        sweep_leftovers(&root);
        let path = root.join(format!(
            "{CGROUP_PREFIX}{purpose}-{}-{pid}",
            std::process::id()
        ));
        std::fs::create_dir(&path)?;
        let cgroup = Self {
            dir: File::open(&path)?,
            path,
            root,
        };
        std::fs::write(cgroup.path.join("cgroup.procs"), pid.to_string())?;
        Ok(cgroup)
    }

    /// The cgroup's folder, open (perf_event_open takes it).
    pub fn dir(&self) -> &File {
        &self.dir
    }

    /// CPU time of every thread that ran in the cgroup since it was made (`cpu.stat`
    /// `usage_usec`, kept by the kernel without the cpu controller).
    pub fn cpu_usage(&self) -> io::Result<Duration> {
        let text = std::fs::read_to_string(self.path.join("cpu.stat"))?;
        parse_usage_usec(&text)
            .map(Duration::from_micros)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "cpu.stat has no usage_usec"))
    }

    /// The cgroup's peak memory, KiB (`memory.peak`); `None` where the kernel has no such file
    /// (the memory controller is not on in the v2 hierarchy, or a kernel before 5.19).
    pub fn memory_peak_kib(&self) -> Option<u64> {
        let text = std::fs::read_to_string(self.path.join("memory.peak")).ok()?;
        text.trim().parse::<u64>().ok().map(|bytes| bytes / 1024)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // A process still inside (the server, when a measurement failed before stopping it)
        // goes back to the root, or the cgroup could not be removed.
        if let Ok(procs) = std::fs::read_to_string(self.path.join("cgroup.procs")) {
            for pid in procs.split_whitespace() {
                let _ = std::fs::write(self.root.join("cgroup.procs"), pid);
            }
        }
        // A process that has just exited may leave the cgroup a moment later.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.path).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether a cgroup can be made here.
pub fn writable() -> bool {
    try_make().is_ok()
}

/// Makes a cgroup and removes it at once; the error says why one cannot be made.
fn try_make() -> io::Result<()> {
    let root = cgroup2_root()?;
    let path = root.join(format!("{CGROUP_PREFIX}probe-{}", std::process::id()));
    std::fs::create_dir(&path)?;
    std::fs::remove_dir(&path)
}

/// True when a cgroup can be made here; otherwise reports the skip of `test` through
/// `harness::skip` (which fails under `CI=true`: CI runs as root on a VM, where the hierarchy
/// is writable). Only a missing or unwritable hierarchy is a skip: any other error fails.
#[cfg(test)]
pub(crate) fn writable_or_skip(test: &str) -> bool {
    match try_make() {
        Ok(()) => true,
        // No cgroup v2 hierarchy this user may write: none mounted, no permission, read-only.
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::PermissionDenied
                    | io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            harness::skip::skip(
                test,
                harness::skip::Missing::WritableCgroupV2,
                format!("cannot make a cgroup under the cgroup2 mount of /proc/mounts: {err}"),
            );
            false
        }
        Err(err) => panic!("{test}: making a cgroup: {err}"),
    }
}

/// Where the cgroup v2 hierarchy is mounted.
fn cgroup2_root() -> io::Result<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts")?;
    cgroup2_mount(&mounts)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no cgroup2 mount"))
}

/// Where the cgroup v2 hierarchy is mounted, from the text of `/proc/mounts`.
pub(crate) fn cgroup2_mount(mounts: &str) -> Option<PathBuf> {
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_, mount, kind) = (fields.next()?, fields.next()?, fields.next()?);
        (kind == "cgroup2").then(|| PathBuf::from(mount))
    })
}

/// Removes the empty cgroups that earlier runs, killed before they could, left behind.
fn sweep_leftovers(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(CGROUP_PREFIX)
        {
            // Fails, and so keeps it, while a process is inside: another run's.
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// `usage_usec` of a `cpu.stat`.
fn parse_usage_usec(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("usage_usec "))
        .and_then(|value| value.trim().parse().ok())
}

/// How a server's CPU time was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CpuMethod {
    /// `cpu.stat` `usage_usec` of a cgroup v2 of its own: every thread, to the microsecond.
    Cgroup,
    /// The sum of its threads' `schedstat`, in nanoseconds: a thread that ended during a load
    /// takes its time with it.
    Schedstat,
}

impl CpuMethod {
    /// How the machine line says it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Cgroup => "cgroup v2 cpu.stat usage_usec (every thread, µs)",
            Self::Schedstat => {
                "the sum of its threads' /proc schedstat (ns; no writable cgroup v2 here)"
            }
        }
    }
}

/// Reads a running server's CPU time: from its cgroup, or from its threads.
#[derive(Debug)]
pub enum ServerMeter {
    /// The server in a cgroup of its own.
    Cgroup(Cgroup),
    /// No writable cgroup v2: the server's process id, whose threads are summed.
    Threads(u32),
}

impl ServerMeter {
    /// Moves process `pid` into a cgroup of its own, or falls back to its threads.
    pub fn attach(pid: u32) -> Self {
        match Cgroup::enter("server", pid) {
            Ok(cgroup) => Self::Cgroup(cgroup),
            Err(_) => Self::Threads(pid),
        }
    }

    /// Which method counts.
    pub fn method(&self) -> CpuMethod {
        match self {
            Self::Cgroup(_) => CpuMethod::Cgroup,
            Self::Threads(_) => CpuMethod::Schedstat,
        }
    }

    /// The server's CPU time so far (from the moment it was attached, for a cgroup); read it
    /// before and after a load and take the difference.
    pub fn cpu(&self) -> io::Result<Duration> {
        match self {
            Self::Cgroup(cgroup) => cgroup.cpu_usage(),
            Self::Threads(pid) => threads_schedstat(*pid),
        }
    }

    /// Peak memory of the cgroup, KiB, where the kernel keeps it.
    pub fn memory_peak_kib(&self) -> Option<u64> {
        match self {
            Self::Cgroup(cgroup) => cgroup.memory_peak_kib(),
            Self::Threads(_) => None,
        }
    }
}

/// The sum over the threads of process `pid` of their time on a CPU (`schedstat`'s first
/// field, ns). A thread that ends between the listing and its read is left out.
pub fn threads_schedstat(pid: u32) -> io::Result<Duration> {
    let mut nanoseconds: u64 = 0;
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let Ok(text) = std::fs::read_to_string(entry?.path().join("schedstat")) else {
            continue;
        };
        nanoseconds += parse_schedstat(&text).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "unexpected schedstat layout")
        })?;
    }
    Ok(Duration::from_nanos(nanoseconds))
}

/// The first field of a `schedstat`: ns on a CPU.
fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cgroup2_mount_is_found_beside_v1_controllers() {
        // This machine's /proc/mounts: cgroup v1 controllers, and v2 beside them.
        let mounts = "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n\
                      cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";
        assert_eq!(
            cgroup2_mount(mounts),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(cgroup2_mount("proc /proc proc rw 0 0\n"), None);
    }

    #[test]
    fn kernel_files_parse_and_bad_ones_are_refused() {
        let stat = "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n";
        assert_eq!(parse_usage_usec(stat), Some(1_234_567));
        assert_eq!(parse_usage_usec("user_usec 5\n"), None);
        assert_eq!(parse_schedstat("3752357 1 1\n"), Some(3_752_357));
        assert_eq!(parse_schedstat("x"), None);
    }

    /// A child's busy loop shows in the sum of its threads' schedstat while it runs, and,
    /// where a cgroup can be made, in its cgroup after it has exited.
    #[test]
    fn cpu_time_is_counted_over_every_thread() {
        let mut spinning = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; sleep 5",
            ])
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let mut counted = Duration::ZERO;
        while started.elapsed() < Duration::from_secs(4) && counted < Duration::from_millis(20) {
            std::thread::sleep(Duration::from_millis(20));
            counted = threads_schedstat(spinning.id()).unwrap_or_default();
        }
        let _ = spinning.kill();
        let _ = spinning.wait();
        assert!(
            counted >= Duration::from_millis(20),
            "the loop's CPU time: {counted:?}"
        );
        // A child that spins in a loop of its shell: its cgroup counts it after it exits.
        if !writable_or_skip("cpu_time_is_counted_over_every_thread") {
            return;
        }
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "sleep 0.05; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done",
            ])
            .spawn()
            .unwrap();
        let meter = ServerMeter::attach(child.id());
        let start = meter.cpu().unwrap();
        child.wait().unwrap();
        // A cgroup can be made here: falling back to the threads would be the meter's own fault.
        assert_eq!(meter.method(), CpuMethod::Cgroup);
        let used = meter.cpu().unwrap().saturating_sub(start);
        assert!(
            used > Duration::from_millis(20),
            "the cgroup counted {used:?} of the child's loop"
        );
    }
}
