//! The database's side of a server under valgrind. A server 50 times slower than native
//! sometimes finds the answer to its query already waiting when it reads, and sometimes parks
//! for it first (the poller, the scheduler, a task's wake-up), as the database on the other CPU
//! happened to be quick or not: go-fasthttprouter's db instructions were 4.07 % apart in three
//! runs, salvo's 16 %. Natively, a query's answer takes longer than the path from the write to
//! the read, so a server always parks for it. [`yield_to`] makes that so under valgrind too:
//! the database's backends behind the server run on the server's CPUs at `SCHED_IDLE`, so
//! they answer only once the server is idle, waiting for them.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use nix::sched::{sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;
use thiserror::Error;

/// Why the backends could not be moved.
#[derive(Debug, Error)]
pub enum BackendsError {
    /// The server's or a backend's CPUs cannot be read or set.
    #[error("the CPUs of process {pid}: {reason}")]
    Affinity {
        /// The process.
        pid: u32,
        /// What the kernel said.
        reason: nix::Error,
    },
    /// `chrt` did not run or refused.
    #[error("`chrt --idle --pid 0 {pid}`: {reason}")]
    Policy {
        /// The backend.
        pid: u32,
        /// Why.
        reason: String,
    },
}

/// The port of a database URL whose host is this machine (`127.0.0.1`, `::1` or
/// `localhost`), such as `postgres://user:pass@127.0.0.1:5432/db`; `None` for a database
/// elsewhere, whose backends cannot be moved.
pub fn local_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = host_port.rsplit_once(':')?;
    let local = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    local.then(|| port.parse().ok()).flatten()
}

/// The processes of this host at the other end of `server`'s established TCP connections to
/// `port`: a database's backends, one per connection of its pool.
pub fn behind(server: u32, port: u16) -> Vec<u32> {
    let proc = Path::new("/proc");
    let own = socket_inodes(&proc.join(server.to_string()));
    let table = tcp_table(&proc.join(server.to_string()).join("net"));
    let server_ports: HashSet<u16> = table
        .iter()
        .filter(|s| own.contains(&s.inode) && s.remote_port == port)
        .map(|s| s.local_port)
        .collect();
    let theirs: HashSet<u64> = table
        .iter()
        .filter(|s| s.local_port == port && server_ports.contains(&s.remote_port))
        .map(|s| s.inode)
        .collect();
    if theirs.is_empty() {
        return Vec::new();
    }
    let Ok(processes) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let mut found: Vec<u32> = processes
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            pid != server && !socket_inodes(&proc.join(pid.to_string())).is_disjoint(&theirs)
        })
        .collect();
    found.sort_unstable();
    found
}

/// Puts each of `backends` on the CPUs of process `server`, under the idle policy
/// (`SCHED_IDLE`, through util-linux's `chrt`): a backend then runs only when the server's CPU
/// has nothing else to run, that is, once the server waits for it.
pub fn yield_to(server: u32, backends: &[u32]) -> Result<(), BackendsError> {
    let affinity = |pid: u32, reason| BackendsError::Affinity { pid, reason };
    let cpus = sched_getaffinity(Pid::from_raw(server as i32)).map_err(|e| affinity(server, e))?;
    for &backend in backends {
        sched_setaffinity(Pid::from_raw(backend as i32), &cpus)
            .map_err(|e| affinity(backend, e))?;
        let policy = |reason| BackendsError::Policy {
            pid: backend,
            reason,
        };
        let out = Command::new("chrt")
            .args(["--idle", "--pid", "0", &backend.to_string()])
            .output()
            .map_err(|e| policy(e.to_string()))?;
        if !out.status.success() {
            return Err(policy(
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ));
        }
    }
    Ok(())
}

/// The inodes of the sockets process `dir` (`/proc/PID`) holds open (`socket:[INODE]`).
fn socket_inodes(dir: &Path) -> HashSet<u64> {
    let Ok(fds) = std::fs::read_dir(dir.join("fd")) else {
        return HashSet::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            target
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// One established TCP socket of a network namespace's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TcpSocket {
    local_port: u16,
    remote_port: u16,
    inode: u64,
}

/// The established sockets of `net/tcp` and `net/tcp6` in `net` (`/proc/PID/net`).
fn tcp_table(net: &Path) -> Vec<TcpSocket> {
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|name| std::fs::read_to_string(net.join(name)).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(tcp_socket)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One line of `/proc/net/tcp`: `sl local rem st … inode …`, addresses as `HEXADDR:HEXPORT`,
/// the state in hex (`01` is established). `None` for another state or a line it cannot read.
fn tcp_socket(line: &str) -> Option<TcpSocket> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let port = |address: &str| u16::from_str_radix(address.rsplit_once(':')?.1, 16).ok();
    if fields.get(3) != Some(&"01") {
        return None;
    }
    Some(TcpSocket {
        local_port: port(fields.get(1)?)?,
        remote_port: port(fields.get(2)?)?,
        inode: fields.get(9)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_local_databases_port_is_read_from_its_url_and_a_remote_one_has_none() {
        let url = "postgres://benchmarkdbuser:benchmarkdbpass@127.0.0.1:40123/hello_world";
        assert_eq!(local_port(url), Some(40123));
        assert_eq!(
            local_port("postgres://u@localhost:5432/db?sslmode=disable"),
            Some(5432)
        );
        assert_eq!(local_port("postgres://u:p@db.example.org:5432/db"), None);
        assert_eq!(local_port("postgres://u:p@127.0.0.1/db"), None);
    }

    #[test]
    fn reads_an_established_socket_of_the_kernels_table() {
        // A line of /proc/net/tcp: 127.0.0.1:40123 to 127.0.0.1:5432, established, inode 98765.
        let line = "   3: 0100007F:9CBB 0100007F:1538 01 00000000:00000000 00:00000000 00000000   \
                    108        0 98765 1 0000000000000000 20 4 30 10 -1";
        assert_eq!(
            tcp_socket(line),
            Some(TcpSocket {
                local_port: 0x9CBB,
                remote_port: 5432,
                inode: 98765
            })
        );
        // The same socket listening (state 0A) is not a connection.
        assert_eq!(tcp_socket(&line.replacen(" 01 ", " 0A ", 1)), None);
    }

    #[test]
    fn finds_the_process_at_the_other_end_of_a_connection() {
        // This test process is both ends: a connection from it to its own listener. Its own
        // end is the "server"; the accepted end is held by the same process, which `behind`
        // leaves out, so a child holding the accepted socket stands in for the database.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        drop(listener);
        // A child that inherits the accepted socket as its standard input, and sleeps.
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(std::process::Stdio::from(std::os::fd::OwnedFd::from(
                accepted,
            )))
            .spawn()
            .unwrap();
        let found = behind(std::process::id(), port);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(found, vec![child.id()]);
    }

    #[test]
    fn a_backend_made_to_yield_runs_on_the_servers_cpus_at_the_idle_policy() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let moved = yield_to(std::process::id(), &[child.id()]);
        // The policy is field 41 of /proc/PID/stat (5 is SCHED_IDLE).
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
        let policy = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .nth(41 - 3);
        let cpus = sched_getaffinity(Pid::from_raw(child.id() as i32));
        let _ = child.kill();
        let _ = child.wait();
        moved.unwrap();
        assert_eq!(policy, Some("5"));
        assert_eq!(cpus.unwrap(), sched_getaffinity(Pid::from_raw(0)).unwrap());
    }
}
