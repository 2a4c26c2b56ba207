//! The stray check finds a server of this workspace that something else started on the servers'
//! CPUs, says who started it, and leaves it running: as a function, and in a whole `compare`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use harness::parent_death::die_with_this_thread;
use loadgen::machine::{CpuSplit, available_cpus};
use loadgen::strays::{find_strays, in_the_way_of};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A server-hyper pinned to one CPU, started by a shell that stays its parent, so that it is
/// not this process's child (the check ignores a run's own children). Dropping it kills both:
/// this test started them.
struct Stray {
    pid: u32,
    shell: Child,
}

impl Stray {
    fn start(cpu: usize) -> Self {
        let binary = harness::server_binary("hyper").expect("server-hyper exists or builds");
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
        // The shell's pid line and the server's ready line share the pipe, in either order: on
        // a busy machine the server can print before the shell runs its echo (the fifth of five
        // runs in a row beside a build read "listening on" first).
        let mut out = BufReader::new(shell.stdout.take().expect("piped"));
        let (mut pid, mut ready) = (None, false);
        for _ in 0..2 {
            let mut line = String::new();
            out.read_line(&mut line)
                .expect("the shell and the server print a line each");
            match line.trim().strip_prefix("server pid ") {
                Some(number) => pid = number.parse().ok(),
                None => ready = line.starts_with("listening on"),
            }
        }
        // The guard first, so that a failed check below still kills the server.
        let stray = Self {
            pid: pid.expect("the shell printed the server's pid"),
            shell,
        };
        assert!(ready, "the server printed its ready line");
        stray
    }

    fn alive(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, fields)| !fields.starts_with('Z'))
        })
    }
}

impl Drop for Stray {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
        let _ = self.shell.kill();
        let _ = self.shell.wait();
    }
}

#[test]
fn a_server_started_outside_the_run_is_found_on_its_cpu_and_left_running() {
    let cpus = available_cpus();
    let cpu = cpus[0];
    let stray = Stray::start(cpu);
    let pid = stray.pid;

    let strays = find_strays(&["hyper"], &[], &[cpu]);
    let found = strays
        .iter()
        .find(|s| s.pid == pid)
        .unwrap_or_else(|| panic!("server {pid} not found among {strays:?}"));
    assert_eq!(found.cpus, [cpu]);
    assert_eq!(found.parent_pid, stray.shell.id());
    assert!(found.executable.ends_with("server-hyper"), "{found:?}");
    let advice = found.advice();
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
    let binary = harness::server_binary("hyper").expect("server-hyper exists");
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
    assert!(stray.alive(), "the check killed a server it did not start");
}

#[test]
fn compare_names_a_stray_server_in_its_noise_note_and_page_and_leaves_it_running() {
    // compare gives the servers the first half of the CPUs, so the first CPU is theirs (and on a
    // one-CPU machine it is everybody's).
    let stray = Stray::start(available_cpus()[0]);
    let std_binary = harness::server_binary("std").expect("server-std exists or builds");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("with-stray");
    let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(
            "compare --servers std --no-cost --no-progress --scenarios plaintext -d 200ms --warmup 50ms \
             --scenario-warmup 50ms --rounds 1 --no-sweep --server-bin-dir"
                .split_whitespace(),
        )
        .arg(std_binary.parent().expect("a folder"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("compare runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let kill_it = format!("kill {} ", stray.pid);
    assert!(
        stderr.contains("warning: stray server") && stderr.contains(&kill_it),
        "{stderr}"
    );
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert!(
        run["stray_servers"]
            .as_array()
            .expect("a list of strays")
            .iter()
            .any(|s| s["pid"] == stray.pid),
        "{}",
        run["stray_servers"]
    );
    for file in ["summary.md", "index.html"] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(
            text.contains("stray server(s)") && text.contains(&kill_it),
            "{file} does not name the stray"
        );
    }
    assert!(stray.alive(), "compare killed a server it did not start");
}
