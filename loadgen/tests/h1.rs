//! The h1 engine against scripted servers in the same process: each answers every request with
//! the same bytes, framed one way or another, or misbehaves in one way. Every load is bounded in
//! requests or a fraction of a second.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use loadgen::engine::EngineKind;
use loadgen::load::{self, LoadOutcome, LoadSpec, Stop};
use loadgen::stats::ErrorKind;
use loadgen::target::Target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How a scripted server answers.
#[derive(Debug, Clone, Copy)]
struct Script {
    /// The bytes of one answer.
    answer: &'static [u8],
    /// Close the connection (FIN) after this many answers on it.
    close_after: Option<u64>,
}

impl Script {
    fn answering(answer: &'static [u8]) -> Self {
        Self {
            answer,
            close_after: None,
        }
    }
}

/// A scripted server on 127.0.0.1:0 on its own thread; dropping it stops it.
struct Scripted {
    addr: SocketAddr,
    /// Requests seen, over all connections.
    requests: Arc<AtomicU64>,
    /// Connections accepted.
    connections: Arc<AtomicU64>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Scripted {
    fn start(script: Script) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("an address");
        let requests = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let (seen, accepted) = (Arc::clone(&requests), Arc::clone(&connections));
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer_requests(stream, script, Arc::clone(&seen)));
            }
        });
        Self {
            addr,
            requests,
            connections,
            runtime: Some(runtime),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Answers each request (a head with no body: what GET and HEAD send) with the script's bytes,
/// as many as arrived together, then closes when the script says.
async fn answer_requests(mut stream: tokio::net::TcpStream, script: Script, seen: Arc<AtomicU64>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut answered = 0;
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut out = Vec::new();
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            seen.fetch_add(1, Ordering::SeqCst);
            out.extend_from_slice(script.answer);
            answered += 1;
            if script.close_after == Some(answered) {
                let _ = stream.write_all(&out).await;
                return;
            }
        }
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn spec(url: &str, method: &str, pipeline: u32, stop: Stop) -> LoadSpec {
    LoadSpec {
        target: Target::new(url, method, &[], Bytes::new()).expect("a valid test URL"),
        engine: EngineKind::H1,
        connections: 4,
        threads: 1,
        stop,
        rate: None,
        pipeline,
        warmup: Duration::ZERO,
        timeout: Duration::from_secs(5),
        http2: false,
        use_proxy: false,
    }
}

/// Runs a load, one test at a time: the tests of this file would otherwise share the
/// machine's cores, and the pacing test measures how punctually this process gets to run.
fn run(spec: &LoadSpec) -> LoadOutcome {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    load::run(spec, &Arc::new(AtomicBool::new(false)), &mut |_| {}).expect("the load runs")
}

const LENGTH: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";
const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n8;ext=1\r\n, World!\r\n0\r\nX-Trailer: yes\r\n\r\n";
const CONTINUE: &[u8] =
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
const CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";

/// Content-Length, chunked (with an extension and a trailer), and 1xx skipped: every answer
/// counted once with its status and body bytes, pipelined or not, and `-n` exact.
#[test]
fn answers_are_framed_and_counted_exactly() {
    for (answer, status, body) in [(LENGTH, 200, 13), (CHUNKED, 200, 13), (CONTINUE, 201, 2)] {
        let server = Scripted::start(Script::answering(answer));
        for pipeline in [1, 16] {
            let before = server.requests.load(Ordering::SeqCst);
            let outcome = run(&spec(
                &server.url("/"),
                "GET",
                pipeline,
                Stop::Requests(1001),
            ));
            let tally = &outcome.tally;
            let label = format!("{} pipeline {pipeline}", String::from_utf8_lossy(answer));
            assert_eq!(tally.status.get(&status), Some(&1001), "{label}");
            assert_eq!(tally.failures(), 0, "{label}: {:?}", tally.errors);
            assert_eq!(tally.body_bytes, 1001 * body, "{label}");
            assert_eq!(tally.latency.len(), 1001, "{label}");
            assert_eq!(server.requests.load(Ordering::SeqCst) - before, 1001);
        }
    }
}

/// HEAD answers carry a Content-Length but no body: reading one as if it had a body would hang
/// on the next answer's bytes.
#[test]
fn head_answers_have_no_body() {
    let server = Scripted::start(Script::answering(
        b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n",
    ));
    for pipeline in [1, 16] {
        let outcome = run(&spec(
            &server.url("/"),
            "HEAD",
            pipeline,
            Stop::Requests(500),
        ));
        assert_eq!(outcome.tally.status.get(&200), Some(&500));
        assert_eq!(outcome.tally.body_bytes, 0);
    }
}

/// A server that says `Connection: close` on every answer: each answer is counted, the
/// requests of a pipeline it did not answer go again on a new connection, and every new
/// connection after the first is counted as a reconnect.
#[test]
fn announced_closes_reconnect_and_resend() {
    let server = Scripted::start(Script {
        answer: CLOSE,
        close_after: Some(1),
    });
    for pipeline in [1, 16] {
        let accepted = server.connections.load(Ordering::SeqCst);
        let outcome = run(&spec(
            &server.url("/"),
            "GET",
            pipeline,
            Stop::Requests(200),
        ));
        let tally = &outcome.tally;
        assert_eq!(tally.status.get(&200), Some(&200), "pipeline {pipeline}");
        assert_eq!(
            tally.failures(),
            0,
            "pipeline {pipeline}: {:?}",
            tally.errors
        );
        // The run's own connections, plus the one that checks the target is up before the run.
        let opened = server.connections.load(Ordering::SeqCst) - accepted;
        assert_eq!(tally.reconnects + 4 + 1, opened, "pipeline {pipeline}");
        assert!(tally.reconnects >= 190, "{}", tally.reconnects);
    }
}

/// A server that closes without a word after three answers, in the middle of a pipeline of 16:
/// the three are answers, the other thirteen of that batch are errors, and the run goes on.
#[test]
fn a_close_in_the_middle_of_a_pipeline_fails_the_rest() {
    let server = Scripted::start(Script {
        answer: LENGTH,
        close_after: Some(3),
    });
    let outcome = run(&spec(&server.url("/"), "GET", 16, Stop::Requests(160)));
    let tally = &outcome.tally;
    assert_eq!(tally.status.get(&200), Some(&30), "{:?}", tally.status);
    assert_eq!(
        tally.errors.get(&ErrorKind::Reset),
        Some(&130),
        "{:?}",
        tally.errors
    );
    assert_eq!(tally.reconnects, 6);
}

/// Garbage instead of an answer is an error of kind "other", never a panic or a hang.
#[test]
fn garbage_is_an_error() {
    let server = Scripted::start(Script::answering(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"));
    for pipeline in [1, 16] {
        let outcome = run(&spec(&server.url("/"), "GET", pipeline, Stop::Requests(64)));
        assert_eq!(outcome.tally.responses(), 0);
        assert_eq!(
            outcome.tally.errors.get(&ErrorKind::Other),
            Some(&64),
            "{:?}",
            outcome.tally.errors
        );
    }
}

/// Against an instant server at 5,000 req/s, requests leave close to their due time: the
/// pacing, not tokio's millisecond timer, decides when a request goes out. The lag histogram
/// is what is checked, not the latency.
///
/// The bound tells the two apart with a margin this shared 2-core VM cannot break: sending on
/// a 1 ms timer tick, the five requests due per tick leave 0 to 800 µs late, a median near
/// 400 µs; pacing gives about 10 µs on an idle machine. So the median must be under
/// [`PACED_MEDIAN_US`]. The product's own bound, a p99 under 50 µs (`CLIENT_LAG_BOUND_US`), needs
/// a quiet machine and pinned CPUs, and is measured by `just calibrate` (the send-lag p99 it
/// prints), not here: under the load of parallel builds it failed here. A stalled process can
/// still miss any bound, so the run gets three tries.
#[test]
fn open_loop_sends_on_time() {
    let server = Scripted::start(Script::answering(LENGTH));
    let mut open = spec(
        &server.url("/"),
        "GET",
        1,
        Stop::After(Duration::from_millis(500)),
    );
    open.rate = Some(5000.0);
    let mut lags = Vec::new();
    for _ in 0..3 {
        let outcome = run(&open);
        let lag = &outcome.tally.send_lag;
        let sent = outcome.tally.responses() + outcome.tally.failures();
        assert_eq!(lag.len(), sent, "one lag per request sent");
        assert!((2400..=2510).contains(&sent), "{sent} requests");
        lags.push(lag.quantile(0.5));
        if lag.quantile(0.5) <= PACED_MEDIAN_US {
            return;
        }
    }
    panic!("send-lag median of each try {lags:?} µs, over the {PACED_MEDIAN_US} µs bound");
}

/// See [`open_loop_sends_on_time`]: half of what a millisecond timer would give.
const PACED_MEDIAN_US: u64 = 200;

/// With pipelining, the open loop writes the requests that are due together and measures each
/// answer from its own due time.
#[test]
fn the_open_loop_pipelines_too() {
    let server = Scripted::start(Script::answering(LENGTH));
    let mut open = spec(
        &server.url("/"),
        "GET",
        8,
        Stop::After(Duration::from_millis(300)),
    );
    open.rate = Some(4000.0);
    let outcome = run(&open);
    let sent = outcome.tally.responses();
    assert!((1100..=1210).contains(&sent), "{sent} requests");
    assert_eq!(outcome.tally.failures(), 0);
    assert_eq!(outcome.tally.send_lag.len(), sent);
}
