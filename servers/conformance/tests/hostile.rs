//! Every server under hostile input, request-framing tricks (smuggling), a pipelined burst, slow
//! clients, many connections and a shutdown under load. Each test runs against every server (one
//! table: `contract::SERVERS`, the Go rows when Go is installed), reports every failure at once,
//! and stays bounded in time and connections.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use conformance::deviations::{self, Deviation};
use conformance::framing;
use harness::{RawClient, ServerProcess, request_bytes};
use nix::sys::signal::Signal;

const TIMEOUT: Duration = Duration::from_secs(5);

fn start(name: &str, extra: &[&str]) -> Result<ServerProcess, String> {
    let binary = harness::server_binary(name).map_err(|e| e.to_string())?;
    let mut args: Vec<String> = ["--addr", "127.0.0.1:0", "--threads", "2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    ServerProcess::spawn(name, &binary, &args, &[], Duration::from_secs(10))
        .map_err(|e| e.to_string())
}

/// These tests load the machine (thousands of connections) and time how promptly a server
/// answers: one at a time, so that they do not disturb each other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn for_each_server(extra: &[&str], test: impl Fn(&mut ServerProcess) -> Result<(), String>) {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut failures = Vec::new();
    for server in harness::servers_to_test("the hostile tests") {
        let outcome = start(server.name, extra).and_then(|mut process| test(&mut process));
        if let Err(failure) = outcome {
            failures.push(format!("server-{}: {failure}", server.name));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The server still answers `GET /` properly on a new connection.
fn still_serves(server: &ServerProcess) -> Result<(), String> {
    let plaintext = case("plaintext");
    let mut client = RawClient::connect(server.addr(), TIMEOUT)
        .map_err(|e| format!("cannot connect afterwards: {e}"))?;
    client
        .send(&request_bytes(&plaintext, &[]))
        .map_err(|e| e.to_string())?;
    let response = client
        .read_response(false)
        .map_err(|e| format!("no answer afterwards: {e}"))?;
    let mismatches = conformance::check(&plaintext, server.name(), &response);
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(mismatches.join("; "))
    }
}

/// What a server did with one hostile request.
#[derive(Debug)]
enum Reaction {
    Status(u16),
    Closed,
    Silent,
}

/// Sends `bytes` (then half-closes when `half_close`) and sees what comes back.
fn react(server: &ServerProcess, bytes: &[u8], half_close: bool) -> Result<Reaction, String> {
    let mut stream =
        TcpStream::connect_timeout(&server.addr(), TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    // The server may close before it has read everything: a failed write is a close.
    if stream.write_all(bytes).is_err() {
        return Ok(Reaction::Closed);
    }
    if half_close {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) if head.is_empty() => return Ok(Reaction::Closed),
            Ok(0) => break,
            Ok(n) => {
                head.extend_from_slice(&chunk[..n]);
                if head.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(if head.is_empty() {
                    Reaction::Silent
                } else {
                    Reaction::Closed
                });
            }
            Err(_) => return Ok(Reaction::Closed),
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&head) {
        Ok(_) => Ok(response.code.map_or(Reaction::Closed, Reaction::Status)),
        Err(e) => Err(format!("answered with something that is not HTTP: {e}")),
    }
}

fn hostile_requests() -> Vec<(&'static str, Vec<u8>, bool)> {
    let mut big_header = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big_header.resize(big_header.len() + 70_000, b'a');
    big_header.extend_from_slice(b"\r\n\r\n");
    let mut many_headers = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..500 {
        many_headers.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many_headers.extend_from_slice(b"\r\n");
    let mut long_uri = b"GET /".to_vec();
    long_uri.resize(20_000, b'a');
    long_uri.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    let post = |headers: &str, body: &str| {
        format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}\r\n{body}").into_bytes()
    };
    vec![
        (
            "garbage bytes",
            b"\x00\x01\x02\xffgarbage\r\n\r\n".to_vec(),
            false,
        ),
        (
            "TLS hello on the HTTP port",
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n".to_vec(),
            false,
        ),
        (
            "request line without target",
            b"GET\r\nHost: x\r\n\r\n".to_vec(),
            false,
        ),
        (
            "request line without version",
            b"GET /\r\nHost: x\r\n\r\n".to_vec(),
            false,
        ),
        (
            "HTTP/2.0 in an HTTP/1 request line",
            b"GET / HTTP/2.0\r\nHost: x\r\n\r\n".to_vec(),
            false,
        ),
        (
            "HTTP/3.1",
            b"GET / HTTP/3.1\r\nHost: x\r\n\r\n".to_vec(),
            false,
        ),
        (
            "control character in a header name",
            b"GET / HTTP/1.1\r\nHo\x01st: x\r\n\r\n".to_vec(),
            false,
        ),
        (
            "control character in a header value",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n".to_vec(),
            false,
        ),
        (
            "header line without a colon",
            b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n".to_vec(),
            false,
        ),
        ("a 70 KB header", big_header, false),
        ("500 headers", many_headers, false),
        ("a 20 KB URI", long_uri, false),
        (
            "negative Content-Length",
            post("Content-Length: -1\r\n", "{}"),
            false,
        ),
        (
            "overflowing Content-Length",
            post("Content-Length: 99999999999999999999999\r\n", "{}"),
            false,
        ),
        (
            "two different Content-Lengths",
            post("Content-Length: 2\r\nContent-Length: 3\r\n", "{}x"),
            false,
        ),
        (
            "Content-Length with Transfer-Encoding",
            post(
                "Content-Length: 16\r\nTransfer-Encoding: chunked\r\n",
                "10\r\n{\"message\":\"a\"}\r\n0\r\n\r\n",
            ),
            false,
        ),
        (
            "bad chunk size",
            post("Transfer-Encoding: chunked\r\n", "zz\r\n{}\r\n0\r\n\r\n"),
            false,
        ),
        (
            "chunk longer than its size",
            post(
                "Transfer-Encoding: chunked\r\n",
                "2\r\n{\"message\":\"a\"}\r\n0\r\n\r\n",
            ),
            false,
        ),
        (
            "truncated body",
            post("Content-Length: 100\r\n", "{\"message\":"),
            true,
        ),
        (
            "invalid UTF-8 in the path",
            b"GET /users/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            false,
        ),
        (
            "invalid percent-encoding",
            b"GET /users/%zz%ff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            false,
        ),
        (
            "path traversal",
            b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            false,
        ),
        (
            "encoded path traversal",
            b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            false,
        ),
    ]
}

/// The requests that name an HTTP version the server does not speak: RFC 9110, 15.6.6 gives them
/// their own refusal, `505 HTTP Version Not Supported`, besides a 400 or a close.
const OTHER_VERSIONS: [&str; 2] = ["HTTP/2.0 in an HTTP/1 request line", "HTTP/3.1"];

#[test]
fn hostile_input_gets_a_4xx_or_a_close_and_the_server_goes_on() {
    let requests = hostile_requests();
    for_each_server(&[], |server| {
        let mut wrong = Vec::new();
        for (name, bytes, half_close) in &requests {
            let reaction = react(server, bytes, *half_close);
            // Pinned: the stack answers this one its own way; the day it does not, drop it.
            match (deviations::hostile_answer(server.name(), name), reaction) {
                (Some(known), Ok(Reaction::Status(status))) if status == known => {}
                (Some(known), other) => wrong.push(format!(
                    "{name}: the known deviation (answers {known}) is gone ({other:?}): drop it"
                )),
                (None, Ok(Reaction::Status(status))) if (400..500).contains(&status) => {}
                (None, Ok(Reaction::Status(505))) if OTHER_VERSIONS.contains(name) => {}
                (None, Ok(Reaction::Closed)) => {}
                (None, Ok(Reaction::Status(status))) => {
                    wrong.push(format!("{name}: answered {status}"))
                }
                (None, Ok(Reaction::Silent)) => {
                    wrong.push(format!("{name}: neither answered nor closed within 3 s"))
                }
                (None, Err(e)) => wrong.push(format!("{name}: {e}")),
            }
            if server.has_exited() {
                return Err(format!("{name}: the server died"));
            }
        }
        still_serves(server)?;
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("\n  "))
        }
    });
}

/// Hundreds of clients send half a request and stall. A new client must still be served at
/// once, and the stalled connections must be dropped after the header timeout.
#[test]
fn slowloris_clients_neither_block_others_nor_stay_forever() {
    // A server that serves the new client only once the stalled ones time out makes it wait the
    // whole header timeout; half of it is the bound. Seconds, not milliseconds: debug builds
    // of sixteen servers on a 2-core VM shared with other builds answer a first request in
    // hundreds of milliseconds at worst (a 500 ms bound failed there), never in 1.5 s.
    const HEADER_TIMEOUT: Duration = Duration::from_secs(3);
    for_each_server(&["--header-timeout", "3s"], |server| {
        let mut stalled: Vec<TcpStream> = Vec::new();
        for _ in 0..300 {
            let mut stream = TcpStream::connect_timeout(&server.addr(), TIMEOUT)
                .map_err(|e| format!("connect: {e}"))?;
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .map_err(|e| e.to_string())?;
            stalled.push(stream);
        }
        let started = Instant::now();
        still_serves(server)?;
        let took = started.elapsed();
        if took > HEADER_TIMEOUT / 2 {
            return Err(format!(
                "a new client waited {took:?} behind the stalled ones"
            ));
        }
        // Give the timeout time to fire, then count the connections the server dropped.
        std::thread::sleep(HEADER_TIMEOUT + Duration::from_secs(2));
        let dropped = stalled
            .iter()
            .filter(|stream| {
                // Two seconds after the timeout, what the server did is already in the socket:
                // a read that would block means the connection is still open. (A blocking read
                // with a timeout would wait that timeout on each of the 300 that stay open.)
                let _ = stream.set_nonblocking(true);
                let mut rest = Vec::new();
                // `&TcpStream` reads too; a 408 and a close, or just a close, both end in end of
                // stream or a reset.
                let mut reader: &TcpStream = stream;
                match reader.read_to_end(&mut rest) {
                    Ok(_) => true,
                    Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                }
            })
            .count();
        if deviations::has(server.name(), Deviation::NoHeaderTimeout) {
            // Pinned: the stack has no header timeout; the day it drops them, drop the deviation.
            return match dropped {
                0 => still_serves(server),
                _ => Err(format!(
                    "the known deviation NoHeaderTimeout is fixed ({dropped} dropped): drop it"
                )),
            };
        }
        if dropped < stalled.len() {
            return Err(format!(
                "only {dropped} of {} stalled connections were dropped after the header timeout",
                stalled.len()
            ));
        }
        still_serves(server)
    });
}

/// How many idle keep-alive connections the test holds: issue 29's figure, never fewer.
const IDLE_CONNECTIONS: usize = 5_000;
/// The open files besides the connections, in the test process and in the server: listeners,
/// epoll and event fds, pipes, the log, the test binary's own.
const OTHER_FILES: u64 = 500;

/// Raises this process's soft open-file limit to its hard limit, as far as an unprivileged
/// process may (the servers it starts inherit it), and returns the limit then in force.
fn raise_file_limit() -> nix::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(getrlimit(Resource::RLIMIT_NOFILE)?.0)
}

/// 5,000 keep-alive connections, each answered twice, then held idle: requests on fresh
/// connections are still answered, the fastest of [`FRESH_TRIES`] within [`FRESH_LIMIT`]. Where
/// the hard open-file limit cannot hold them, the test is skipped where it shows (and fails under
/// `CI=true`), never run with fewer.
#[test]
fn five_thousand_keep_alive_connections_are_all_served() {
    let limit = raise_file_limit().expect("getrlimit and setrlimit of RLIMIT_NOFILE");
    let needed = IDLE_CONNECTIONS as u64 + OTHER_FILES;
    if limit < needed {
        harness::skip::skip(
            "five_thousand_keep_alive_connections_are_all_served",
            harness::skip::Missing::OpenFiles,
            format!(
                "{IDLE_CONNECTIONS} connections need {needed} open files, and the hard limit \
                 is {limit}: raise it (`ulimit -Hn {needed}` as root, LimitNOFILE= in a systemd \
                 unit, --ulimit nofile= for docker)"
            ),
        );
        return;
    }
    let connections = IDLE_CONNECTIONS;
    let request = b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n";
    // Idle keep-alive connections may be closed after the header timeout; that is not what is
    // tested here, so it is long.
    for_each_server(&["--header-timeout", "60s"], |server| {
        let before = resident_kib(server.pid());
        let started = Instant::now();
        // Connect from several threads: a dropped SYN costs a second before it is sent again,
        // and those waits overlap instead of adding up.
        let mut clients: Vec<RawClient> = Vec::with_capacity(connections);
        let addr = server.addr();
        let opened: Vec<Result<Vec<RawClient>, String>> = std::thread::scope(|scope| {
            let openers: Vec<_> = (0..16)
                .map(|t| {
                    scope.spawn(move || {
                        (t..connections)
                            .step_by(16)
                            .map(|i| {
                                let mut client = RawClient::connect(addr, Duration::from_secs(10))
                                    .map_err(|e| format!("connection {i}: {e}"))?;
                                client.send(request).map_err(|e| format!("send {i}: {e}"))?;
                                Ok(client)
                            })
                            .collect()
                    })
                })
                .collect();
            openers
                .into_iter()
                .map(|o| {
                    o.join()
                        .unwrap_or_else(|_| Err("an opener panicked".into()))
                })
                .collect()
        });
        for batch in opened {
            clients.extend(batch?);
        }
        for round in ["first", "second"] {
            if round == "second" {
                for (i, client) in clients.iter_mut().enumerate() {
                    client
                        .send(request)
                        .map_err(|e| format!("second send {i}: {e}"))?;
                }
            }
            for (i, client) in clients.iter_mut().enumerate() {
                let response = client
                    .read_response(false)
                    .map_err(|e| format!("{round} answer on connection {i}: {e}"))?;
                if response.status != 200 {
                    return Err(format!(
                        "{round} answer on connection {i}: status {}",
                        response.status
                    ));
                }
            }
        }
        // Held idle, every one answered twice: one more client, on a fresh connection, is still
        // answered at once (issue 29's figure; `loadgen compare` records it for every run).
        // Five fresh requests, one after another, each answered properly, and the fastest is
        // held to the bound: this 2-core VM, shared with builds, can stall the test or the
        // server for longer than the bound at any moment (a paused process, a CPU taken for
        // hundreds of milliseconds), but hardly five times running, while a server that is slow
        // with 5,000 connections held is slow for all five.
        let mut tries = Vec::with_capacity(FRESH_TRIES);
        for _ in 0..FRESH_TRIES {
            let started = Instant::now();
            still_serves(server)?;
            tries.push(started.elapsed());
        }
        let fresh = *tries.iter().min().expect("five tries");
        let grown = match (before, resident_kib(server.pid())) {
            (Ok(before), Ok(after)) => format!(
                "{:.1} KiB resident each",
                after.saturating_sub(before) as f64 / connections as f64
            ),
            (Err(e), _) | (_, Err(e)) => format!("resident memory unread: {e}"),
        };
        eprintln!(
            "server-{}: {connections} connections in {:?}, {grown}, the fastest of {FRESH_TRIES} fresh requests answered in {fresh:?}",
            server.name(),
            started.elapsed()
        );
        if fresh > FRESH_LIMIT {
            return Err(format!(
                "with {connections} idle connections held, the fastest of {FRESH_TRIES} fresh \
                 requests took {fresh:?} (over {FRESH_LIMIT:?}; each: {tries:?})"
            ));
        }
        Ok(())
    });
}

/// How soon a request on a fresh connection is answered while thousands of idle keep-alive
/// connections are held.
const FRESH_LIMIT: Duration = Duration::from_millis(100);

/// How many fresh requests are timed, one after another; the fastest counts.
const FRESH_TRIES: usize = 5;

/// A process's resident memory (VmRSS), KiB.
fn resident_kib(pid: u32) -> Result<u64, String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS line".to_owned())
}

/// SIGTERM while eight clients keep keep-alive connections busy with `GET /json`, and one
/// `POST /echo` is held in flight (its head read, its body not yet whole):
/// - while the process lives, a new connection is no longer served once the server has had
///   [`SIGNAL_HANDLED`] to see the signal. The held request keeps it alive, so this is checked
///   during the drain, never after the exit, when the closed port would refuse anyway;
/// - every in-flight request is answered whole: the held one once its body is complete, and
///   the clients' (a connection may close between two answers, never inside one: a reset
///   mid-response is an answer cut short, as `RawClient` reports it);
/// - the process then exits 0 within the grace period.
///
/// may-minihttp cannot stop accepting (`Deviation::AcceptsWhileDraining`): it must still serve
/// new connections after the signal, so that the day it stops, this test says to drop the
/// deviation.
#[test]
fn sigterm_under_load_answers_in_flight_requests_refuses_new_ones_and_exits_zero() {
    for_each_server(&[], |server| {
        let signalled = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let truncated = Arc::new(AtomicU64::new(0));
        let addr = server.addr();
        let clients: Vec<_> = (0..8)
            .map(|_| {
                let (signalled, answered, truncated) = (
                    Arc::clone(&signalled),
                    Arc::clone(&answered),
                    Arc::clone(&truncated),
                );
                std::thread::spawn(move || {
                    let json = case("json");
                    let bytes = request_bytes(&json, &[]);
                    // New connections after the signal are the probes' to open: a client goes
                    // on with the connection it has until the server closes it.
                    while !signalled.load(Ordering::Relaxed) {
                        // A request left unanswered ends, at the latest, with the process.
                        let Ok(mut client) = RawClient::connect(addr, DRAIN_WAIT) else {
                            break;
                        };
                        loop {
                            if client.send(&bytes).is_err() {
                                break;
                            }
                            match client.read_response(false) {
                                Ok(response)
                                    if response.status == 200
                                        && response.body == json.response_body =>
                                {
                                    answered.fetch_add(1, Ordering::Relaxed);
                                }
                                // Closed, or reset, before a byte of the answer: the server
                                // went away between two requests (it may not have read this
                                // one). A reset after the first byte is `InvalidData`.
                                Err(e)
                                    if e.kind() == std::io::ErrorKind::UnexpectedEof
                                        || e.kind() == std::io::ErrorKind::ConnectionReset =>
                                {
                                    break;
                                }
                                _ => {
                                    truncated.fetch_add(1, Ordering::Relaxed);
                                    break;
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let held = HeldRequest::start(server)?;
        let before = answered.load(Ordering::Relaxed);
        signalled.store(true, Ordering::Relaxed);
        server.signal(Signal::SIGTERM).map_err(|e| e.to_string())?;
        let signalled_at = Instant::now();
        let drain = probe_new_connections(server, signalled_at);
        let held = held.finish();
        let status = server
            .wait_timeout(contract::SHUTDOWN_GRACE + Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        for client in clients {
            let _ = client.join();
        }
        if before == 0 {
            return Err("no request was answered before the signal".into());
        }
        let drain = drain?;
        let accepts = deviations::has(server.name(), Deviation::AcceptsWhileDraining);
        match (drain.served_late, accepts) {
            (None, false) | (Some(_), true) => {}
            (Some(after), false) => {
                return Err(format!(
                    "a new connection was served {after:?} after SIGTERM, while the process \
                     lived ({})",
                    drain.summary
                ));
            }
            (None, true) => {
                return Err(format!(
                    "new connections are refused while draining ({}): the known deviation \
                     AcceptsWhileDraining is fixed, drop it",
                    drain.summary
                ));
            }
        }
        let held = held.map_err(|e| format!("the request in flight at the signal: {e}"))?;
        let mismatches = conformance::check(&case("echo"), server.name(), &held);
        if !mismatches.is_empty() {
            return Err(format!(
                "the request in flight at the signal: {}",
                mismatches.join("; ")
            ));
        }
        match status {
            Some(status) if status.success() => {}
            other => return Err(format!("after SIGTERM under load: {other:?}")),
        }
        match truncated.load(Ordering::Relaxed) {
            0 => Ok(()),
            cut => Err(format!("{cut} answers were cut short or wrong")),
        }
    });
}

/// How long a server may take to see SIGTERM and stop accepting: a new connection served
/// later than this, while the process lives, is a failure. Generous, because on this 2-core
/// VM shared by several builds a signal-handling thread can wait hundreds of milliseconds
/// for a CPU (load averages of 20 and more were seen); the servers stop in well under 10 ms
/// on an idle machine.
const SIGNAL_HANDLED: Duration = Duration::from_secs(1);

/// How many probes after [`SIGNAL_HANDLED`] must find new connections refused, the process
/// still alive, before the held request is let go.
const REFUSED_PROBES: usize = 3;

/// How long a client of the SIGTERM test waits for an answer: past the grace period, so that
/// only a server that outlives it leaves a client waiting, and the exit (a close or a reset)
/// ends every wait before.
const DRAIN_WAIT: Duration = Duration::from_secs(8);

/// What the probes of new connections saw during the drain.
struct Drain {
    /// When a new connection was served after [`SIGNAL_HANDLED`], if one was.
    served_late: Option<Duration>,
    /// The probes, for messages.
    summary: String,
}

/// Probes new connections from the signal on, while the process lives, until
/// [`REFUSED_PROBES`] after [`SIGNAL_HANDLED`] were refused, or one was served. An exit before
/// then is an error: a request is held in flight.
fn probe_new_connections(server: &mut ServerProcess, signalled: Instant) -> Result<Drain, String> {
    let (mut served, mut refused) = (0, 0);
    let summary = |served: usize, refused: usize| {
        format!("{served} probes served, then {refused} refused after {SIGNAL_HANDLED:?}")
    };
    loop {
        if server.has_exited() {
            return Err(format!(
                "the process exited {:?} after SIGTERM with a request in flight ({})",
                signalled.elapsed(),
                summary(served, refused)
            ));
        }
        let tried = signalled.elapsed();
        if tried > contract::SHUTDOWN_GRACE {
            return Err(format!(
                "the probes outlasted the grace period ({})",
                summary(served, refused)
            ));
        }
        match (
            serves_a_new_connection(server.addr()),
            tried > SIGNAL_HANDLED,
        ) {
            (true, true) => {
                return Ok(Drain {
                    served_late: Some(tried),
                    summary: summary(served, refused),
                });
            }
            (true, false) => served += 1,
            (false, true) => refused += 1,
            (false, false) => {}
        }
        if refused == REFUSED_PROBES {
            return Ok(Drain {
                served_late: None,
                summary: summary(served, refused),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `POST /echo` in flight: its head read by the server, all of its body sent but the last
/// bytes.
struct HeldRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl HeldRequest {
    /// Sends the head with `Expect: 100-continue` and waits for the `100 Continue`, which says
    /// the server has read the head and is reading the body; a stack pinned with
    /// `IgnoresExpectContinue` is given a moment instead. Then sends all of the body but its
    /// last bytes.
    fn start(server: &ServerProcess) -> Result<Self, String> {
        const HELD_BACK: usize = 3;
        let bytes = request_bytes(&case("echo"), &["Expect: 100-continue"]);
        let head_len = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|at| at + 4)
            .expect("a request has a head");
        let mut stream = TcpStream::connect_timeout(&server.addr(), TIMEOUT)
            .map_err(|e| format!("the held request: connect: {e}"))?;
        stream
            .set_read_timeout(Some(DRAIN_WAIT))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(&bytes[..head_len])
            .map_err(|e| format!("the held request: {e}"))?;
        if deviations::has(server.name(), Deviation::IgnoresExpectContinue) {
            std::thread::sleep(Duration::from_millis(300));
        } else {
            let mut interim = [0u8; 64];
            let n = stream
                .read(&mut interim)
                .map_err(|e| format!("the held request: no 100 Continue: {e}"))?;
            if !interim[..n].starts_with(b"HTTP/1.1 100") {
                return Err(format!(
                    "the held request: {:?} instead of 100 Continue",
                    String::from_utf8_lossy(&interim[..n])
                ));
            }
        }
        let (body, rest) = bytes[head_len..].split_at(bytes.len() - head_len - HELD_BACK);
        stream
            .write_all(body)
            .map_err(|e| format!("the held request: {e}"))?;
        Ok(Self {
            stream,
            rest: rest.to_vec(),
        })
    }

    /// Sends the rest of the body and reads the answer.
    fn finish(mut self) -> Result<harness::RawResponse, String> {
        self.stream
            .write_all(&self.rest)
            .map_err(|e| format!("sending the rest of its body: {e}"))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match harness::parse_response(&buf, false).map_err(|e| e.to_string())? {
                harness::Parsed::Complete(response, len) if response.status == 100 => {
                    buf.drain(..len);
                    continue;
                }
                harness::Parsed::Complete(response, _) => return Ok(response),
                harness::Parsed::Partial { .. } | harness::Parsed::UntilClose(..) => {}
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(format!("closed after {} bytes of the answer", buf.len())),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("after {} bytes of the answer: {e}", buf.len())),
            }
        }
    }
}

/// The contract's case called `name`.
fn case(name: &str) -> contract::Case {
    contract::cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

/// Opens a new connection and sends `GET /`: true when a 200 came back.
fn serves_a_new_connection(addr: std::net::SocketAddr) -> bool {
    RawClient::connect(addr, Duration::from_millis(200))
        .and_then(|mut client| {
            client.send(&request_bytes(&case("plaintext"), &[]))?;
            client.read_response(false)
        })
        .is_ok_and(|response| response.status == 200)
}

/// How long a framing probe waits for another byte before it calls the connection left open.
/// 3 s: a debug build on this busy 2-core VM can take over a second to answer, which a 1 s
/// wait took for silence. The probes run all at once, so this is paid once per server.
const FRAMING_WAIT: Duration = Duration::from_secs(3);

/// Every case of the request-framing corpus (`contract::framing_cases`), with `GET /error`
/// smuggled behind it on the same connection: the server refuses the case (a 4xx, or no
/// answer) and serves nothing after it, and closes the connection (RFC 9112, 6.3), or frames it
/// one way where the RFC allows that. A server that
/// does not carries a known deviation (`contract::DEVIATIONS`, marked `security`) whose pin says
/// exactly what it does (`Pin::Framing`: the answers and whether it closes): anything else fails,
/// a worse outcome and a fix alike, and a fix says to drop the deviation.
#[test]
fn framing_cases_are_refused_and_nothing_smuggled_behind_them_is_served() {
    let cases = contract::framing_cases();
    for_each_server(&[], |server| {
        let addr = server.addr();
        // Each case on its own connection, all at once: the ones left open wait together.
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let probes: Vec<_> = cases
                .iter()
                .map(|case| scope.spawn(move || framing::probe(addr, case, FRAMING_WAIT)))
                .collect();
            probes
                .into_iter()
                .map(|probe| {
                    probe
                        .join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("panicked")))
                })
                .collect()
        });
        let mut wrong = Vec::new();
        let mut refused = 0;
        for (case, outcome) in cases.iter().zip(outcomes) {
            let outcome = outcome.map_err(|e| format!("{}: {e}", case.name))?;
            let known = contract::deviation(server.name(), case.name);
            match (known, outcome.acceptable(case)) {
                (None, true) => refused += 1,
                (None, false) => wrong.push(format!("{}: {outcome} ({})", case.name, case.rule)),
                (Some(d), true) => wrong.push(format!(
                    "{}: the known deviation is gone ({outcome}; {}): drop it from \
                     contract::DEVIATIONS and the README",
                    case.name, d.instead
                )),
                (Some(d), false) if outcome.is(&d.pin) => {}
                (Some(d), false) => wrong.push(format!(
                    "{}: {outcome}, not the known deviation ({:?}: {})",
                    case.name, d.pin, d.instead
                )),
            }
            if server.has_exited() {
                return Err(format!("{}: the server died", case.name));
            }
        }
        eprintln!(
            "server-{}: {refused} of {} framing cases refused (or framed as the RFC allows)",
            server.name(),
            cases.len()
        );
        still_serves(server)?;
        match wrong.is_empty() {
            true => Ok(()),
            false => Err(wrong.join("\n  ")),
        }
    });
}

/// 2,000 `GET /` in one write: all answered in order, or, where a server bounds pipelining, the
/// last answer before the close says `Connection: close`. Dropping requests silently is a fail.
#[test]
fn a_pipelined_burst_of_2000_is_answered_in_full_or_closed_cleanly() {
    const BURST: usize = 2_000;
    let burst = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(BURST);
    for_each_server(&[], |server| {
        let stream = TcpStream::connect_timeout(&server.addr(), TIMEOUT)
            .map_err(|e| format!("connect: {e}"))?;
        // Both timeouts bounded: a server that stops reading must not hang the writer.
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(3))))
            .map_err(|e| e.to_string())?;
        let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
        // Written from a thread, so the answers are read while the burst goes out.
        let burst = &burst;
        let (answered, last_says_close, end) = std::thread::scope(|scope| {
            scope.spawn(move || {
                let _ = writer.write_all(burst);
            });
            read_answers(&stream, BURST)
        });
        eprintln!(
            "server-{}: {answered} of {BURST} pipelined requests answered, then {end}",
            server.name()
        );
        match (answered, last_says_close, end) {
            (BURST, ..) | (1.., true, "a close") => Ok(()),
            _ => Err(format!(
                "{answered} of {BURST} pipelined requests answered, then {end}{}",
                if last_says_close {
                    ""
                } else {
                    ", and the last answer did not say Connection: close"
                }
            )),
        }
    });
}

/// Reads answers of `200 Hello, World!` off `stream` until `want` came, the server closed, or it
/// went quiet: how many came, whether the last said `Connection: close`, and how it ended.
fn read_answers(mut stream: &TcpStream, want: usize) -> (usize, bool, &'static str) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let (mut answered, mut last_says_close) = (0, false);
    loop {
        while let Ok(harness::Parsed::Complete(response, len)) =
            harness::parse_response(&buf, false)
        {
            if response.status != 200 || response.body != contract::HELLO.as_bytes() {
                return (answered, last_says_close, "a wrong answer");
            }
            answered += 1;
            last_says_close = response.closes();
            buf.drain(..len);
        }
        if answered == want {
            return (answered, last_says_close, "nothing more");
        }
        match stream.read(&mut chunk) {
            Ok(0) => return (answered, last_says_close, "a close"),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (answered, last_says_close, "a reset");
            }
            Err(_) => return (answered, last_says_close, "silence"),
        }
    }
}

/// curl sends `Expect: 100-continue` before a body over 1 KiB and waits a second for `100
/// Continue` (RFC 9110, 10.1.1: a server that means to read the body sends it). Every server
/// sends it promptly, but for the pinned deviation `IgnoresExpectContinue`.
#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\nExpect: 100-continue\r\n\r\n";
    for_each_server(&[], |server| {
        let mut stream = TcpStream::connect_timeout(&server.addr(), TIMEOUT)
            .map_err(|e| format!("connect: {e}"))?;
        // A server that ignores the expectation never sends 100 before the body, so any wait
        // tells them apart: 3 s, not curl's 1 s, because a debug build on this busy 2-core VM
        // can take longer than 500 ms to answer at all.
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(|e| e.to_string())?;
        stream.write_all(head).map_err(|e| e.to_string())?;
        let mut interim = [0u8; 64];
        let continued = match stream.read(&mut interim) {
            Ok(n) => interim[..n].starts_with(b"HTTP/1.1 100"),
            Err(_) => false,
        };
        let ignores = deviations::has(server.name(), Deviation::IgnoresExpectContinue);
        match (continued, ignores) {
            (true, false) | (false, true) => {}
            (false, false) => return Err("no 100 Continue within 3 s".into()),
            (true, true) => {
                return Err("the known deviation IgnoresExpectContinue is fixed: drop it".into());
            }
        }
        // Either way the body then gets its answer.
        stream
            .write_all(br#"{"message":"a"}"#)
            .map_err(|e| e.to_string())?;
        let mut answer = [0u8; 256];
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        let n = stream.read(&mut answer).map_err(|e| e.to_string())?;
        match answer[..n].starts_with(b"HTTP/1.1 200") {
            true => Ok(()),
            false => Err(format!(
                "the body was not answered 200: {:?}",
                String::from_utf8_lossy(&answer[..n])
            )),
        }
    });
}
