//! Servers of this workspace that are already running on the servers' CPUs before a comparison
//! starts: left over by a harness that was killed outright before servers died with their
//! parent, or started by hand. Each one competes with the measured servers for their CPUs, so a
//! run names them, with what to do; it never kills what it did not start.
//!
//! Found in `/proc`: a process whose executable is `server-<name>` for a server of the contract,
//! or any `server-*` under one of the given folders (the workspace's target folders), whose
//! allowed CPUs meet the servers' CPUs.

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::machine::{CpuSplit, available_cpus, clock_ticks_per_second, parse_cpu_list};

/// A server process that the run did not start, allowed on some of the servers' CPUs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrayServer {
    /// Its process id.
    pub pid: u32,
    /// Its executable, with ` (deleted)` when it was rebuilt since it started.
    pub executable: String,
    /// The CPUs it may run on.
    pub cpus: Vec<usize>,
    /// Its parent's process id: 1 (or a subreaper's) when whatever started it has died.
    pub parent_pid: u32,
    /// Its parent's command line, or its name when that is unreadable.
    pub parent: String,
    /// Seconds since it started.
    pub running_s: u64,
}

impl StrayServer {
    /// What it is and what to do about it, in one line.
    pub fn advice(&self) -> String {
        let started_by = if self.parent_pid == 1 {
            "orphaned: whatever started it died and init (PID 1) adopted it".to_owned()
        } else {
            format!("started by PID {} ({})", self.parent_pid, self.parent)
        };
        let cpus: Vec<String> = self.cpus.iter().map(ToString::to_string).collect();
        format!(
            "stray server {pid} ({exe}, {started_by}, running for {running}, allowed on CPUs {cpus}) \
             competes with the measured servers for their CPUs: kill {pid} (it was not started by \
             this run, which leaves it alone) and run again",
            pid = self.pid,
            exe = self.executable,
            running = humantime::format_duration(Duration::from_secs(self.running_s)),
            cpus = cpus.join(","),
        )
    }
}

/// The stray servers in the way of a comparison whose servers run on `split`'s server CPUs (on
/// every CPU when it does not pin them): the servers of `contract::SERVERS` by name, and any
/// `server-*` under `folders` (its target and binary folders).
pub fn in_the_way_of(split: &CpuSplit, folders: &[&Path]) -> Vec<StrayServer> {
    let names: Vec<&str> = contract::SERVERS.iter().map(|s| s.name).collect();
    let cpus = if split.pinned {
        split.server.clone()
    } else {
        available_cpus()
    };
    find_strays(&names, folders, &cpus)
}

/// The stray servers on `cpus`: processes named `server-<name>` for a name in `servers`, or
/// `server-*` anywhere under `folders`, other than this process's own children. Processes that
/// vanish or cannot be read while looking are skipped.
pub fn find_strays(servers: &[&str], folders: &[&Path], cpus: &[usize]) -> Vec<StrayServer> {
    let own = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let uptime = read_uptime();
    let mut strays: Vec<StrayServer> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != own)
        .filter_map(|pid| {
            let executable = executable(pid)?;
            if !is_our_server(&executable, servers, folders) {
                return None;
            }
            let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let parent_pid: u32 = status_field(&status, "PPid")?.parse().ok()?;
            let allowed = parse_cpu_list(status_field(&status, "Cpus_allowed_list")?).ok()?;
            if parent_pid == own || !allowed.iter().any(|cpu| cpus.contains(cpu)) {
                return None;
            }
            let started = start_ticks(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
            Some(StrayServer {
                pid,
                executable,
                cpus: allowed,
                parent_pid,
                parent: command_line(parent_pid),
                running_s: uptime.map_or(0, |up| {
                    up.saturating_sub(started / clock_ticks_per_second())
                }),
            })
        })
        .collect();
    strays.sort_by_key(|s| s.pid);
    strays
}

/// Whether `executable` is a server of this workspace.
fn is_our_server(executable: &str, servers: &[&str], folders: &[&Path]) -> bool {
    let path = Path::new(executable.strip_suffix(" (deleted)").unwrap_or(executable));
    let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
        return false;
    };
    let Some(name) = file.strip_prefix("server-") else {
        return false;
    };
    servers.contains(&name) || folders.iter().any(|folder| path.starts_with(folder))
}

/// The executable of `pid` (`/proc/PID/exe`), or the first word of its command line when the
/// link cannot be read; `None` for kernel threads and vanished processes.
fn executable(pid: u32) -> Option<String> {
    match fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(path) => Some(path.to_string_lossy().into_owned()),
        Err(_) => {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let first = cmdline.split(|&b| b == 0).next()?;
            (!first.is_empty()).then(|| String::from_utf8_lossy(first).into_owned())
        }
    }
}

/// The command line of `pid` with spaces between its words, or its name (`comm`), or `?`.
fn command_line(pid: u32) -> String {
    let words: Vec<String> = fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    if !words.is_empty() {
        return words.join(" ");
    }
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|comm| comm.trim().to_owned())
        .unwrap_or_else(|_| "?".to_owned())
}

/// The value of `field` in a `/proc/PID/status` text.
fn status_field<'a>(status: &'a str, field: &str) -> Option<&'a str> {
    status.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name == field).then_some(value.trim())
    })
}

/// When the process started, in clock ticks after boot: field 22 of `/proc/PID/stat`, counted
/// after the command name (which may hold spaces and parentheses).
fn start_ticks(stat: &str) -> Option<u64> {
    let (_, fields) = stat.rsplit_once(") ")?;
    // `fields` starts at field 3 (state), so field 22 is its 20th word.
    fields.split_whitespace().nth(19)?.parse().ok()
}

/// Whole seconds since boot.
fn read_uptime() -> Option<u64> {
    let text = fs::read_to_string("/proc/uptime").ok()?;
    let seconds: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(seconds as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_known_by_name_or_by_folder() {
        let target = Path::new("/src/http-rosetta/target");
        let ours = |exe: &str| is_our_server(exe, &["hyper", "ntex"], &[target]);
        assert!(ours("/anywhere/server-hyper"));
        assert!(ours(
            "/src/http-rosetta/target/release/server-ntex (deleted)"
        ));
        assert!(ours(
            "/src/http-rosetta/target/conformance-build/debug/server-new"
        ));
        assert!(!ours("/anywhere/server-new"));
        assert!(!ours("/src/http-rosetta/target/release/loadgen"));
        assert!(!ours("/usr/sbin/nginx"));
    }

    #[test]
    fn proc_texts_are_read_field_by_field() {
        let status = "Name:\tserver-ntex\nPPid:\t1\nCpus_allowed_list:\t0-1,3\n";
        assert_eq!(status_field(status, "PPid"), Some("1"));
        assert_eq!(status_field(status, "Cpus_allowed_list"), Some("0-1,3"));
        assert_eq!(status_field(status, "Pid"), None);
        let stat = "42 (server (odd) name) S 1 42 42 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 3 0 777 0";
        assert_eq!(start_ticks(stat), Some(777));
        assert_eq!(start_ticks("42 (x) S 1"), None);
    }

    #[test]
    fn the_advice_names_the_pid_the_parent_and_that_the_run_leaves_it_alone() {
        let mut stray = StrayServer {
            pid: 4242,
            executable: "/w/target/release/server-ntex".into(),
            cpus: vec![0],
            parent_pid: 1,
            parent: "/sbin/init".into(),
            running_s: 75,
        };
        let advice = stray.advice();
        for part in [
            "kill 4242",
            "server-ntex",
            "orphaned",
            "1m 15s",
            "CPUs 0",
            "not started by this run",
        ] {
            assert!(advice.contains(part), "{part}: {advice}");
        }
        stray.parent_pid = 77;
        stray.parent = "bash calibrate.sh".into();
        assert!(
            stray
                .advice()
                .contains("started by PID 77 (bash calibrate.sh)")
        );
    }
}
