//! The stray check finds a server of this workspace that something else started on the servers'
//! CPUs, says who started it, and leaves it running.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use conformance::parent_death::die_with_this_thread;
use loadgen::machine::{CpuSplit, available_cpus};
use loadgen::strays::{find_strays, in_the_way_of};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Kills the server this test started, however the test ends.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0 as i32), Signal::SIGKILL);
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, fields)| !fields.starts_with('Z'))
    })
}

#[test]
fn a_server_started_outside_the_run_is_found_on_its_cpu_and_left_running() {
    let binary = conformance::server_binary("hyper").expect("server-hyper exists or builds");
    let cpus = available_cpus();
    let cpu = cpus[0];
    // A shell starts the server pinned to `cpu` and stays its parent, so that it is not this
    // process's child (the check ignores a run's own children).
    let script = format!(
        "taskset -c {cpu} {} --addr 127.0.0.1:0 --threads 1 & echo \"server pid $!\"; wait",
        binary.display()
    );
    let mut command = Command::new("sh");
    let mut shell = die_with_this_thread(&mut command)
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh starts");
    let mut out = BufReader::new(shell.stdout.take().expect("piped"));
    let mut line = String::new();
    out.read_line(&mut line).expect("the shell prints the pid");
    let pid: u32 = line
        .trim()
        .strip_prefix("server pid ")
        .and_then(|p| p.parse().ok())
        .expect("a pid");
    let _server = KillOnDrop(pid);
    line.clear();
    out.read_line(&mut line).expect("the server's ready line");
    assert!(line.starts_with("listening on"), "{line}");

    let strays = find_strays(&["hyper"], &[], &[cpu]);
    let stray = strays
        .iter()
        .find(|s| s.pid == pid)
        .unwrap_or_else(|| panic!("server {pid} not found among {strays:?}"));
    assert_eq!(stray.cpus, [cpu]);
    assert_eq!(stray.parent_pid, shell.id());
    assert!(stray.executable.ends_with("server-hyper"), "{stray:?}");
    let advice = stray.advice();
    assert!(advice.contains(&format!("kill {pid} ")), "{advice}");
    assert!(advice.contains("sh -c"), "{advice}");

    // As compare asks: by the names of contract::SERVERS, on the split's server CPUs.
    let split = CpuSplit {
        server: vec![cpu],
        client: Vec::new(),
        pinned: true,
    };
    assert!(in_the_way_of(&split, &[]).iter().any(|s| s.pid == pid));
    // Not a server of the list, and not under the given folder: not ours.
    assert!(
        !find_strays(&["axum"], &[], &[cpu])
            .iter()
            .any(|s| s.pid == pid)
    );
    // Under the given folder: ours, whatever its name.
    let folder = binary.parent().expect("a folder");
    assert!(
        find_strays(&[], &[folder], &[cpu])
            .iter()
            .any(|s| s.pid == pid)
    );
    // Pinned elsewhere: not in the way.
    if let Some(&other) = cpus.get(1) {
        assert!(
            !find_strays(&["hyper"], &[], &[other])
                .iter()
                .any(|s| s.pid == pid)
        );
    }

    std::thread::sleep(Duration::from_millis(100));
    assert!(alive(pid), "the check killed a server it did not start");
    let _ = shell.kill();
    let _ = shell.wait();
}
