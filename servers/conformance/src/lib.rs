//! Checks real servers against the route contract, over real sockets.
//!
//! The conformance tests of this crate and `loadgen verify` both use it: one definition of what
//! a correct answer is ([`check`]), one way to start a server binary and wait for its ready line
//! ([`ServerProcess`]), and a deliberately small raw HTTP/1.1 client ([`RawClient`]) that sends
//! exactly the bytes a test wants (pipelined, split, malformed) and reads exactly one response at
//! a time.
//!
//! # Layout
//! - [`ServerProcess`]: spawn `server-<name>`, wait for `listening on http://…`, signal, reap;
//! - [`RawClient`], [`RawResponse`], [`parse_response`], [`request_bytes`]: the wire;
//! - [`check`]: one response against one [`contract::Case`]; [`check_in_process`]: a server's
//!   request -> response code against every case, without a socket.
//! - [`deviations`]: the connection-level rules a server's stack cannot meet, each pinned by
//!   the tests (the per-row ones are `contract::DEVIATIONS`).
//! - [`parent_death`]: every server dies with the thread that spawned it, even when the harness
//!   gets SIGKILL; the `die-with-parent` binary does the same for shell scripts.
//! - [`framing`]: one case of the request-framing corpus and the request smuggled behind it,
//!   sent on the wire, and what the server made of them.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant, SystemTime};

use contract::Case;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use thiserror::Error;

pub mod database;
pub mod deviations;
pub mod framing;
pub mod parent_death;
pub mod postgres;

/// Why a server could not be started.
#[derive(Debug, Error)]
pub enum StartError {
    /// The binary is not where it should be and could not be built.
    #[error("no binary for server-{name} at {}: {reason}", path.display())]
    NoBinary {
        /// The server.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
        /// What went wrong building it.
        reason: String,
    },
    /// The process could not be spawned.
    #[error("cannot start {}: {source}", path.display())]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// It did not print its ready line in time, or printed something else.
    #[error("server-{name} did not print `listening on http://…` within {timeout:?}: {detail}")]
    NotReady {
        /// The server.
        name: String,
        /// How long we waited.
        timeout: Duration,
        /// What we saw instead.
        detail: String,
    },
}

/// A running server process. Dropping it kills the process and reaps it, so no server outlives
/// the test or run that started it; and the kernel kills it when the thread that spawned it ends,
/// so none outlives a harness killed outright either ([`parent_death`]). Keep it on that thread.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    name: String,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `binary` with `args` (through `launcher`, for example `taskset -c 0`, when given)
    /// and waits up to `timeout` for its ready line. The server gets SIGKILL when the calling
    /// thread ends (see [`parent_death`]); a launcher must exec the server, as taskset does.
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

/// The path of the `server-<name>` binary built in the same profile as the running executable
/// (`target/<profile>/`). `cargo test --workspace` builds the cargo servers (each server package
/// has an integration test of its own binary, and cargo builds a package's binaries for those).
/// When one is missing, for example under `cargo test -p loadgen`, it is built with cargo into a
/// target folder of its own: the running `cargo test` holds the lock on the usual one, so
/// building there would wait forever. A Go server is built with `go build` into the same folder
/// as the cargo binaries, once per process (Go's build cache makes an unchanged one quick), so
/// that it is never older than its source.
pub fn server_binary(name: &str) -> Result<PathBuf, StartError> {
    let exe = std::env::current_exe().unwrap_or_default();
    // Test binaries live in target/<profile>/deps, ordinary binaries in target/<profile>.
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let file = format!("server-{name}");
    let path = dir.join(&file);
    let no_binary = |reason: String| StartError::NoBinary {
        name: name.to_owned(),
        path: path.clone(),
        reason,
    };
    if contract::server(name).is_some_and(|s| s.build == contract::Build::Go) {
        return build_go(name, &path).map_err(no_binary);
    }
    if path.exists() {
        return Ok(path);
    }
    let profile = dir
        .file_name()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "debug".into());
    let nested = dir
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("conformance-build");
    let built = nested.join(&profile).join(&file);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", &file])
        .arg("--target-dir")
        .arg(&nested);
    if profile == "release" {
        build.arg("--release");
    }
    match build.status() {
        Ok(status) if status.success() && built.exists() => Ok(built),
        Ok(status) => Err(no_binary(format!("cargo build ended with {status}"))),
        Err(err) => Err(no_binary(format!("cannot run cargo: {err}"))),
    }
}

/// The `go` command: the one on `PATH`, else the one in `/usr/local/go/bin` (where Go's own
/// archive installs it); `None` without Go.
pub fn go_tool() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("go"))
            .find(|go| go.is_file())
    });
    on_path.or_else(|| Some(PathBuf::from("/usr/local/go/bin/go")).filter(|go| go.is_file()))
}

/// The folder of a server's source: `servers/<name>` of this workspace.
pub fn server_source_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

/// Builds the Go server `name` into `path` with `go build`, once per process: the first call
/// builds (into a temporary name, then renamed, so a reader never sees half a binary), later
/// calls return what it did.
pub fn build_go(name: &str, path: &Path) -> Result<PathBuf, String> {
    static BUILT: Mutex<Vec<(PathBuf, Result<PathBuf, String>)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, outcome)) = built.iter().find(|(p, _)| p == path) {
        return outcome.clone();
    }
    let outcome = go_build(name, path);
    built.push((path.to_owned(), outcome.clone()));
    outcome
}

fn go_build(name: &str, path: &Path) -> Result<PathBuf, String> {
    let go = go_tool().ok_or("Go is not installed (no `go` on PATH nor in /usr/local/go/bin)")?;
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let output = Command::new(&go)
        .arg("build")
        .arg("-o")
        .arg(&partial)
        .arg(".")
        .current_dir(server_source_dir(name))
        // This machine's Go, never a toolchain download.
        .env("GOTOOLCHAIN", "local")
        .output()
        .map_err(|err| format!("cannot run {}: {err}", go.display()))?;
    if !output.status.success() {
        return Err(format!(
            "go build ended with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    std::fs::rename(&partial, path).map_err(|err| format!("cannot move the binary: {err}"))?;
    Ok(path.to_owned())
}

/// The servers the suites can run here: every cargo server, and the Go servers when Go is
/// installed. Without Go it says so on stderr, in one line per process, and leaves them out.
pub fn runnable_servers() -> Vec<&'static contract::ServerInfo> {
    static SAID: std::sync::Once = std::sync::Once::new();
    let have_go = go_tool().is_some();
    let (runnable, skipped): (Vec<&contract::ServerInfo>, Vec<_>) = contract::SERVERS
        .iter()
        .partition(|s| s.build == contract::Build::Cargo || have_go);
    if !skipped.is_empty() {
        SAID.call_once(|| {
            let names: Vec<&str> = skipped.iter().map(|s| s.name).collect();
            eprintln!(
                "skipping the {} Go servers ({}): Go is not installed (no `go` on PATH nor in /usr/local/go/bin)",
                names.len(),
                names.join(", ")
            );
        });
    }
    runnable
}

/// Starts the binary at `binary` (the server `name`) on port 0, checks that it answers `GET /`
/// as the contract says, and that SIGTERM ends it with exit code 0.
pub fn check_binary(name: &str, binary: &Path) -> Result<(), String> {
    let args = ["--addr", "127.0.0.1:0", "--threads", "1"].map(str::to_owned);
    let mut server = ServerProcess::spawn(name, binary, &args, &[], Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    let plaintext = contract::cases()
        .into_iter()
        .find(|c| c.name == "plaintext")
        .ok_or("no plaintext case")?;
    let mut client =
        RawClient::connect(server.addr(), Duration::from_secs(5)).map_err(|e| e.to_string())?;
    client
        .send(&request_bytes(&plaintext, &[]))
        .map_err(|e| e.to_string())?;
    let response = client.read_response(false).map_err(|e| e.to_string())?;
    let mismatches = check(&plaintext, name, &response);
    if !mismatches.is_empty() {
        return Err(mismatches.join("; "));
    }
    match server.stop(contract::SHUTDOWN_GRACE + Duration::from_secs(2)) {
        Ok(Some(status)) if status.success() => Ok(()),
        other => Err(format!(
            "SIGTERM did not end it with exit code 0: {other:?}"
        )),
    }
}

/// Checks a server's request -> response code without a socket: `answer` gets the bytes of each
/// row of the contract as one client would send them and returns the bytes it would write back.
/// Returns every mismatch, as [`check`] words them.
pub fn check_in_process(server: &str, mut answer: impl FnMut(&[u8]) -> Vec<u8>) -> Vec<String> {
    let mut mismatches = Vec::new();
    for case in contract::cases() {
        let out = answer(&request_bytes(&case, &[]));
        match parse_response(&out, case.method == "HEAD") {
            Ok(Parsed::Complete(response, _)) => mismatches.extend(check(&case, server, &response)),
            other => mismatches.push(format!(
                "{}: no whole response ({other:?}) in {:?}",
                case.name,
                String::from_utf8_lossy(&out)
            )),
        }
    }
    mismatches
}

/// One response as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Header fields in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (empty for HEAD).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server said it will close the connection.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A connection that writes raw bytes and reads whole responses, one at a time.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    /// Connects with TCP_NODELAY (so split writes really go out split) and a read timeout.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Self {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads the next response, skipping `100 Continue`. `head` says the request was HEAD, so
    /// the response has no body whatever its `Content-Length` says.
    pub fn read_response(&mut self, head: bool) -> io::Result<RawResponse> {
        loop {
            let response = self.read_one(head)?;
            if response.status != 100 {
                return Ok(response);
            }
        }
    }

    fn read_one(&mut self, head: bool) -> io::Result<RawResponse> {
        loop {
            match parse_response(&self.buf, head)? {
                Parsed::Complete(response, len) => {
                    self.buf.drain(..len);
                    return Ok(response);
                }
                Parsed::Partial { head_complete } => self.fill(head_complete)?,
                // No length: the body runs to the end of the connection.
                Parsed::UntilClose(mut response, head_len) => {
                    self.stream.read_to_end(&mut self.buf)?;
                    response.body = self.buf.split_off(head_len);
                    self.buf.clear();
                    return Ok(response);
                }
            }
        }
    }

    /// Reads more bytes. At end of stream: `UnexpectedEof` when no byte of a response had come
    /// (a close between responses), `InvalidData` when `mid_response` (a response cut short).
    fn fill(&mut self, mid_response: bool) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk)? {
            0 if mid_response || !self.buf.is_empty() => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response cut short",
            )),
            0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            )),
            n => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    /// Whether the server has already closed the connection, without waiting: end of stream or
    /// a reset now. Stray bytes count as "not closed" and stay unread.
    pub fn is_closed_by_peer_now(&mut self) -> bool {
        if !self.buf.is_empty() || self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let mut byte = [0u8; 1];
        let closed = match self.stream.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        let _ = self.stream.set_nonblocking(false);
        closed
    }

    /// Whether the server has closed the connection (reads end of stream within the timeout,
    /// with no stray bytes before it).
    pub fn is_closed_by_peer(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0))
            || matches!(self.stream.read(&mut byte), Err(e) if e.kind() == io::ErrorKind::ConnectionReset)
    }
}

/// What [`parse_response`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A whole response and how many bytes it took.
    Complete(RawResponse, usize),
    /// Not all of it yet; `head_complete` says whether the head has arrived.
    Partial {
        /// See above.
        head_complete: bool,
    },
    /// A head without `Content-Length`: the body runs to the end of the connection, which
    /// starts after the head's length given here.
    UntilClose(RawResponse, usize),
}

/// Parses one response from the start of `buf`. `head` says the request was HEAD, so the
/// response has no body whatever its `Content-Length` says.
pub fn parse_response(buf: &[u8], head: bool) -> io::Result<Parsed> {
    let invalid =
        |e: &dyn std::fmt::Display| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut slots);
    let head_len = match parsed.parse(buf).map_err(|e| invalid(&e))? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => {
            return Ok(Parsed::Partial {
                head_complete: false,
            });
        }
    };
    let headers = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect::<Vec<_>>();
    let mut response = RawResponse {
        status: parsed.code.unwrap_or_default(),
        headers,
        body: Vec::new(),
    };
    let status = response.status;
    if head || status == 100 || status == 204 || status == 304 {
        return Ok(Parsed::Complete(response, head_len));
    }
    let Some(len) = response.header("content-length") else {
        return Ok(Parsed::UntilClose(response, head_len));
    };
    let len: usize = len
        .trim()
        .parse()
        .map_err(|_| invalid(&"bad content-length"))?;
    match buf.get(head_len..head_len + len) {
        Some(body) => {
            response.body = body.to_vec();
            Ok(Parsed::Complete(response, head_len + len))
        }
        None => Ok(Parsed::Partial {
            head_complete: true,
        }),
    }
}

/// The bytes of `case`'s request, as HTTP/1.1, with `extra_headers` (each `Name: value`): its
/// `Host` lines as the case says, and its body with `Content-Length` or in 4 KiB chunks.
pub fn request_bytes(case: &Case, extra_headers: &[&str]) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.1\r\n", case.method, case.path);
    for host in case.host.values() {
        out.push_str(&format!("Host: {host}\r\n"));
    }
    if let Some(ct) = case.content_type {
        out.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if case.chunked {
        out.push_str("Transfer-Encoding: chunked\r\n");
    } else if !case.body.is_empty() || case.method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", case.body.len()));
    }
    for header in extra_headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if case.chunked {
        for chunk in case.body.chunks(4096) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
    } else {
        bytes.extend_from_slice(&case.body);
    }
    bytes
}

/// Every way `response` differs from what `case` demands of the server called `server`; empty
/// when it conforms. Besides status, type and body, it checks `Content-Length`, `Allow` (as a set
/// of methods), the `Server` name (or the one its stack fixes, see [`deviations`]) and a current
/// IMF-fixdate `Date`.
pub fn check(case: &Case, server: &str, response: &RawResponse) -> Vec<String> {
    let mut mismatches = Vec::new();
    let mut expect = |what: &str, want: String, got: String| {
        if want != got {
            mismatches.push(format!("{}: {what}: want {want:?}, got {got:?}", case.name));
        }
    };
    expect(
        "status",
        case.status.to_string(),
        response.status.to_string(),
    );
    let header = |name| response.header(name).unwrap_or("<missing>").to_owned();
    expect(
        "content-type",
        case.response_content_type.to_owned(),
        header("content-type"),
    );
    expect(
        "content-length",
        case.content_length.to_string(),
        header("content-length"),
    );
    expect(
        "server",
        deviations::server_header(server).to_owned(),
        header("server"),
    );
    expect(
        "body",
        String::from_utf8_lossy(&case.response_body).into_owned(),
        String::from_utf8_lossy(&response.body).into_owned(),
    );
    if let Some(allow) = case.allow {
        expect("allow", method_set(allow), method_set(&header("allow")));
    }
    match response.header("date").map(httpdate::parse_http_date) {
        Some(Ok(date)) => {
            let skew = SystemTime::now()
                .duration_since(date)
                .unwrap_or_else(|e| e.duration());
            if skew > Duration::from_secs(5) {
                mismatches.push(format!(
                    "{}: date: {:?} is {skew:?} off the clock",
                    case.name,
                    header("date")
                ));
            }
        }
        _ => mismatches.push(format!(
            "{}: date: want an IMF-fixdate, got {:?}",
            case.name,
            header("date")
        )),
    }
    mismatches
}

fn method_set(allow: &str) -> String {
    let mut methods: Vec<String> = allow
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .collect();
    methods.sort();
    methods.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conforming(case: &Case) -> RawResponse {
        RawResponse {
            status: case.status,
            headers: vec![
                ("content-type".into(), case.response_content_type.into()),
                ("content-length".into(), case.content_length.to_string()),
                ("server".into(), "x".into()),
                ("date".into(), httpdate::fmt_http_date(SystemTime::now())),
                ("allow".into(), "HEAD,GET".into()),
            ],
            body: case.response_body.clone(),
        }
    }

    #[test]
    fn a_conforming_response_passes_and_each_deviation_is_reported() {
        let case = contract::cases()
            .into_iter()
            .find(|c| c.name == "DELETE /json")
            .unwrap();
        assert_eq!(check(&case, "x", &conforming(&case)), Vec::<String>::new());

        let mut wrong = conforming(&case);
        wrong.status = 404;
        wrong.body = b"nope".to_vec();
        wrong.headers.retain(|(n, _)| n != "date" && n != "allow");
        let mismatches = check(&case, "y", &wrong);
        for what in ["status", "body", "server", "date", "allow"] {
            assert!(
                mismatches.iter().any(|m| m.contains(&format!(": {what}:"))),
                "{what}: {mismatches:?}"
            );
        }
    }

    #[test]
    fn request_bytes_carry_length_and_type() {
        let case = contract::cases()
            .into_iter()
            .find(|c| c.name == "echo")
            .unwrap();
        let bytes = String::from_utf8(request_bytes(&case, &["Connection: close"])).unwrap();
        assert!(bytes.starts_with("POST /echo HTTP/1.1\r\n"));
        assert!(bytes.contains(
            "Content-Type: application/json\r\nContent-Length: 22\r\nConnection: close\r\n\r\n{"
        ));
    }

    #[test]
    fn request_bytes_follow_the_host_and_chunked_settings() {
        let find = |name: &str| {
            let case = contract::cases()
                .into_iter()
                .find(|c| c.name == name)
                .unwrap();
            String::from_utf8_lossy(&request_bytes(&case, &[])).into_owned()
        };
        let chunked = find("echo chunked body over 64 KiB");
        assert!(chunked.contains("Transfer-Encoding: chunked\r\n"));
        assert!(!chunked.contains("Content-Length"));
        assert!(chunked.contains("\r\n1000\r\n{\"message\""));
        assert!(chunked.ends_with("\r\n0\r\n\r\n"));
        assert!(!find("HTTP/1.1 without Host").contains("Host:"));
        assert_eq!(find("two Host headers").matches("Host:").count(), 2);
        assert!(
            find("json, absolute-form target")
                .starts_with("GET http://localhost/json HTTP/1.1\r\n")
        );
    }

    #[test]
    fn responses_are_parsed_whole_or_not_at_all() {
        let bytes = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nserver: x\r\n\r\nhelloHTTP/1.1";
        let Ok(Parsed::Complete(response, len)) = parse_response(bytes, false) else {
            panic!("not complete");
        };
        assert_eq!(
            (response.status, &response.body[..], len),
            (200, &b"hello"[..], 54)
        );
        assert_eq!(response.header("Server"), Some("x"));
        assert_eq!(
            parse_response(&bytes[..50], false).unwrap(),
            Parsed::Partial {
                head_complete: true
            }
        );
        let Ok(Parsed::Complete(head, 49)) = parse_response(bytes, true) else {
            panic!("a HEAD answer ends with its head");
        };
        assert!(head.body.is_empty());
    }
}
