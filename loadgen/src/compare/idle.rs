//! The idle phase, after the rounds: what idle keep-alive connections cost. Each local server
//! is started once more and made to hold many connections, each of which has had one request
//! answered (so the server really keeps it alive, rather than waiting for its first request),
//! then it is asked once more on a fresh connection. Two figures come back: its resident memory
//! growth per connection (VmRSS before and after, over the count), and how long the fresh
//! request took, connect to last byte: a server whose accept loop, scheduler or timer wheel
//! drowns in idle connections shows it there.
//!
//! The connections are opened from [`OPENERS`] threads, each a connect, a request and its
//! answer at a time: never more than that many handshakes wait in the listen backlog at once,
//! so no SYN is dropped (a dropped one costs a second before it is sent again), while the
//! server always has new connections to accept.

use std::fs::File;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use harness::{RawClient, ServerProcess, StartError};
use thiserror::Error;

use super::contender::Contender;
use super::plan::Plan;
use super::round::{START_TIMEOUT, open_log};
use crate::machine::resident_kib;
use crate::results::{IdleRecord, IdleTable};

/// How soon a request on a fresh connection must be answered while the idle ones are held
/// (the figure of issue 29).
pub const FRESH_LIMIT: Duration = Duration::from_millis(100);

/// Threads that open the connections.
const OPENERS: usize = 16;

/// File descriptors each process keeps besides the connections: its listener, its logs, its
/// runtime's own (epoll, eventfd, timers), a database pool.
const SPARE_FILES: u64 = 256;

/// What went wrong holding connections on one server.
#[derive(Debug, Error)]
pub enum IdleError {
    /// The server did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Its stderr log cannot be opened.
    #[error("cannot open its stderr log {path}: {source}")]
    Log {
        /// The log.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Its resident memory cannot be read.
    #[error("cannot read its memory: {0}")]
    Memory(std::io::Error),
    /// A connection could not be opened, or its request was not answered.
    #[error("connection {index}: {source}")]
    Connection {
        /// Which one, from 0 (the fresh one is `count`).
        index: usize,
        /// Why.
        source: std::io::Error,
    },
    /// A request was answered with another status than 200.
    #[error("connection {index}: answered {status}, not 200")]
    Status {
        /// Which one.
        index: usize,
        /// The status.
        status: u16,
    },
}

/// Holds `connections` idle connections on each local contender of `plan`, one after the other,
/// telling `observe` about each server measured. `None` when `connections` is 0 or no
/// contender runs here (a remote server's memory cannot be read). `stop` ends it early.
pub fn run(
    plan: &Plan,
    connections: u32,
    stop: &Arc<AtomicBool>,
    observe: &mut dyn FnMut(&IdleRecord),
) -> Option<IdleTable> {
    let local: Vec<&Contender> = plan
        .contenders
        .iter()
        .filter(|c| c.remote_url().is_none())
        .collect();
    if connections == 0 || local.is_empty() {
        return None;
    }
    let started = Instant::now();
    // Raised before any server starts: they inherit it.
    let limit = raise_file_limit(u64::from(connections) + SPARE_FILES);
    let count = usize::try_from(
        limit
            .saturating_sub(SPARE_FILES)
            .min(u64::from(connections)),
    )
    .unwrap_or(0);
    let mut servers = Vec::new();
    for contender in local {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mut record = visit(plan, contender, count);
        if count < connections as usize {
            let short = format!(
                "the open-file limit ({limit}) allows {count} of {connections} connections"
            );
            record.error = Some(match record.error {
                Some(error) => format!("{short}; {error}"),
                None => short,
            });
        }
        observe(&record);
        servers.push(record);
    }
    Some(IdleTable {
        connections,
        fresh_limit_ms: FRESH_LIMIT.as_secs_f64() * 1e3,
        servers,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Starts `contender`, holds `count` connections on it, stops it.
fn visit(plan: &Plan, contender: &Contender, count: usize) -> IdleRecord {
    let mut record = IdleRecord {
        contender: contender.label.clone(),
        held: 0,
        rss_before_kib: 0,
        rss_after_kib: 0,
        fresh_answer_us: None,
        error: None,
    };
    let outcome = start(plan, contender).and_then(|mut process| {
        let held = hold(
            process.addr(),
            process.pid(),
            count,
            plan.timeout(),
            &mut record,
        );
        // How it exits was judged in the rounds; here it only has to go.
        let _ = process.stop(contract::SHUTDOWN_GRACE + Duration::from_secs(2));
        held
    });
    if let Err(error) = outcome {
        record.error = Some(error.to_string());
    }
    record
}

/// Starts `contender` on the servers' CPUs with the rounds' arguments, its stderr appended to
/// its log in the results folder.
fn start(plan: &Plan, contender: &Contender) -> Result<ServerProcess, IdleError> {
    let path = plan.out.join(contender.stderr_log());
    let log_error = |source| IdleError::Log {
        path: path.display().to_string(),
        source,
    };
    let mut log: File = open_log(&path).map_err(log_error)?;
    writeln!(log, "--- idle connections ---").map_err(log_error)?;
    Ok(ServerProcess::spawn_with_stderr(
        contender.server.name,
        &contender.binary,
        &plan.server_args(),
        &plan.settings.cpus.server_launcher(),
        START_TIMEOUT,
        Stdio::from(log),
    )?)
}

/// The request each connection makes: the plaintext route.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: idle\r\n\r\n";

/// Measures the server `pid` at `addr` into `record`: its memory before and after `count`
/// connections each had one answer, and a fresh request while they are held.
fn hold(
    addr: SocketAddr,
    pid: u32,
    count: usize,
    timeout: Duration,
    record: &mut IdleRecord,
) -> Result<(), IdleError> {
    // One request first, so that what a server sets up on its first (buffers, lazily made
    // pools, the date header's timer) is not counted as the connections' cost.
    drop(answered(addr, count, timeout)?);
    record.rss_before_kib = resident_kib(pid).map_err(IdleError::Memory)?;
    let (clients, failed) = open(addr, count, timeout);
    record.held = u32::try_from(clients.len()).unwrap_or(u32::MAX);
    record.rss_after_kib = resident_kib(pid).map_err(IdleError::Memory)?;
    let started = Instant::now();
    let fresh = answered(addr, count, timeout);
    let took = started.elapsed();
    drop(clients);
    if fresh.is_ok() {
        record.fresh_answer_us = Some(took.as_secs_f64() * 1e6);
    }
    failed.map_or(Ok(()), Err)?;
    fresh.map(drop)
}

/// Opens `count` connections to `addr` from [`OPENERS`] threads, each answered once: those
/// opened, and the first failure, after which its thread opens no more.
fn open(addr: SocketAddr, count: usize, timeout: Duration) -> (Vec<RawClient>, Option<IdleError>) {
    let batches: Vec<(Vec<RawClient>, Option<IdleError>)> = std::thread::scope(|scope| {
        let openers: Vec<_> = (0..OPENERS)
            .map(|t| {
                scope.spawn(move || {
                    let mut clients = Vec::with_capacity(count / OPENERS + 1);
                    for index in (t..count).step_by(OPENERS) {
                        match answered(addr, index, timeout) {
                            Ok(client) => clients.push(client),
                            Err(error) => return (clients, Some(error)),
                        }
                    }
                    (clients, None)
                })
            })
            .collect();
        openers
            .into_iter()
            .map(|opener| {
                opener.join().unwrap_or_else(|_| {
                    (
                        Vec::new(),
                        Some(IdleError::Connection {
                            index: 0,
                            source: std::io::Error::other("an opener panicked"),
                        }),
                    )
                })
            })
            .collect()
    });
    let mut clients = Vec::with_capacity(count);
    let mut first_failure = None;
    for (batch, failure) in batches {
        clients.extend(batch);
        first_failure = first_failure.or(failure);
    }
    (clients, first_failure)
}

/// A new connection to `addr` whose request was answered 200.
fn answered(addr: SocketAddr, index: usize, timeout: Duration) -> Result<RawClient, IdleError> {
    let failed = |source| IdleError::Connection { index, source };
    let mut client = RawClient::connect(addr, timeout).map_err(failed)?;
    client.send(REQUEST).map_err(failed)?;
    let response = client.read_response(false).map_err(failed)?;
    if response.status == 200 {
        Ok(client)
    } else {
        Err(IdleError::Status {
            index,
            status: response.status,
        })
    }
}

/// Raises this process's open-file limit to `want`, or as far as its hard limit allows, and
/// returns the limit it has then.
fn raise_file_limit(want: u64) -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    let target = want.min(hard).max(soft);
    if setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
        target
    } else {
        soft
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpListener;

    /// A tiny keep-alive server on a thread per connection: every request gets `200 OK`.
    fn keep_alive_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().expect("its address");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => {
                                let _ = reader
                                    .get_mut()
                                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                            }
                            Ok(_) => {}
                        }
                    }
                });
            }
        });
        addr
    }

    #[test]
    fn connections_are_held_and_a_fresh_one_is_timed() {
        let addr = keep_alive_server();
        let mut record = IdleRecord {
            contender: "test".into(),
            held: 0,
            rss_before_kib: 0,
            rss_after_kib: 0,
            fresh_answer_us: None,
            error: None,
        };
        // The server is a thread of this process: its memory is this process's.
        hold(
            addr,
            std::process::id(),
            40,
            Duration::from_secs(5),
            &mut record,
        )
        .expect("held");
        assert_eq!(record.held, 40);
        assert!(record.rss_before_kib > 0 && record.rss_after_kib > 0);
        assert!(record.fresh_answer_us.is_some_and(|us| us > 0.0));
        assert!(record.kib_per_connection().is_some());
    }

    #[test]
    fn a_server_that_answers_otherwise_is_an_error_not_a_figure() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().expect("its address");
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut head = [0u8; 256];
                let _ = stream.read(&mut head);
                let _ = stream
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let (clients, failure) = open(addr, 8, Duration::from_secs(5));
        assert!(clients.is_empty());
        assert!(matches!(
            failure,
            Some(IdleError::Status { status: 503, .. })
        ));
    }

    #[test]
    fn memory_per_connection_is_the_growth_over_the_count() {
        let record = IdleRecord {
            contender: "test".into(),
            held: 1000,
            rss_before_kib: 10_000,
            rss_after_kib: 14_000,
            fresh_answer_us: Some(250.0),
            error: None,
        };
        assert_eq!(record.kib_per_connection(), Some(4.0));
        assert!(record.answered_within(0.3));
        assert!(!record.answered_within(0.2));
        let none = IdleRecord { held: 0, ..record };
        assert_eq!(none.kib_per_connection(), None);
    }
}
