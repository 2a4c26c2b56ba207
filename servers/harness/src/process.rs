//! A running server process: spawned, waited for until it prints its ready line, signalled,
//! and killed and reaped on drop.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::build::server_binary;
use crate::error::StartError;
use crate::parent_death;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

/// A running server process. Dropping it kills the process and reaps it, so no server outlives
/// the test or run that started it; and the kernel kills it when the thread that spawned it ends,
/// so none outlives a harness killed outright either ([`parent_death`](crate::parent_death)). Keep it on that thread.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    name: String,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `binary` with `args` (through `launcher`, for example `taskset -c 0`, when given)
    /// and waits up to `timeout` for its ready line. The server gets SIGKILL when the calling
    /// thread ends (see [`parent_death`](crate::parent_death)); a launcher must exec the server, as taskset does.
    pub fn spawn(
        name: &str,
        binary: &Path,
        args: &[String],
        launcher: &[String],
        timeout: Duration,
    ) -> Result<Self, StartError> {
        Self::spawn_with_stderr(name, binary, args, launcher, timeout, Stdio::inherit())
    }

    /// As [`Self::spawn`], with the server's stderr sent to `stderr` (for example a log file)
    /// instead of ours.
    pub fn spawn_with_stderr(
        name: &str,
        binary: &Path,
        args: &[String],
        launcher: &[String],
        timeout: Duration,
        stderr: Stdio,
    ) -> Result<Self, StartError> {
        let mut command = match launcher.split_first() {
            Some((program, launcher_args)) => {
                let mut command = Command::new(program);
                command.args(launcher_args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        // The server dies with this thread, even when this process gets SIGKILL.
        parent_death::die_with_this_thread(&mut command);
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|source| StartError::Spawn {
                path: binary.to_owned(),
                source,
            })?;
        let stdout = child.stdout.take();
        let mut process = Self {
            child,
            name: name.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let not_ready = |detail: String| StartError::NotReady {
            name: name.to_owned(),
            timeout,
            detail,
        };
        let stdout = stdout.ok_or_else(|| not_ready("no stdout".into()))?;
        // Read lines on a thread so that a server that never prints cannot hang us; the thread
        // ends when the process closes its stdout.
        let (lines, first_line) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = lines.send(read);
            // Keep draining so the server never blocks on a full pipe.
            let _ = io::copy(&mut reader, &mut io::sink());
        });
        let line = match first_line.recv_timeout(timeout) {
            Ok(Ok(line)) => line,
            Ok(Err(err)) => return Err(not_ready(err.to_string())),
            Err(_) => return Err(not_ready(process.exit_detail())),
        };
        process.addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|addr| addr.parse().ok())
            .ok_or_else(|| {
                not_ready(format!(
                    "its first line was {line:?}; {}",
                    process.exit_detail()
                ))
            })?;
        Ok(process)
    }

    /// Starts the debug or release build of `server-<name>` next to the running executable
    /// (building it first if it is missing) on `127.0.0.1:0` with `--threads threads`.
    pub fn start(name: &str, threads: usize) -> Result<Self, StartError> {
        let binary = server_binary(name)?;
        let args = [
            "--addr".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--threads".to_owned(),
            threads.to_string(),
        ];
        Self::spawn(name, &binary, &args, &[], Duration::from_secs(10))
    }

    fn exit_detail(&mut self) -> String {
        match self.child.try_wait() {
            Ok(Some(status)) => format!("it exited with {status}"),
            _ => "it is still running".to_owned(),
        }
    }

    /// The server's short name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, sig: Signal) -> io::Result<()> {
        let pid = i32::try_from(self.child.id()).map_err(io::Error::other)?;
        signal::kill(Pid::from_raw(pid), sig).map_err(io::Error::from)
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the process has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Asks the server to stop with SIGTERM and waits up to `timeout`; kills it if it is still
    /// there then. Returns its exit status, if it exited by itself.
    pub fn stop(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(Some(status));
        }
        self.signal(Signal::SIGTERM)?;
        let status = self.wait_timeout(timeout)?;
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        Ok(status)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
