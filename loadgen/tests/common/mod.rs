//! A small HTTP server in the test process, with knobs for the faults the tests need.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// How the test server misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Block the whole server (every connection) once, this long after the first request, for
    /// `stall_for`, like a stop-the-world pause.
    pub stall_after: Option<Duration>,
    /// See `stall_after`.
    pub stall_for: Duration,
    /// Go away (close the listener and every connection) after this many answers.
    pub die_after: Option<u64>,
}

/// A running test server; dropping it stops it.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    pub answered: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1:0: `/` is 200 `ok`, `/error` 500, anything else 404.
    pub fn start(faults: Faults) -> Self {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let answered = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&answered);
        let thread = std::thread::spawn(move || {
            // One thread for everything, so a blocking stall stops every connection at once.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(serve(faults, counter, addr_tx, stopped));
        });
        let addr = addr_rx.recv().expect("the test server starts");
        Self {
            addr,
            answered,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    faults: Faults,
    answered: Arc<AtomicU64>,
    addr_tx: std::sync::mpsc::Sender<SocketAddr>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    addr_tx.send(addr).expect("the test waits for the address");
    let (die, mut dead) = tokio::sync::watch::channel(false);
    let first_request: Arc<std::sync::OnceLock<Instant>> = Arc::default();
    let stalled = Arc::new(AtomicBool::new(false));
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted { Ok(pair) => pair, Err(_) => continue },
            _ = &mut stopped => return,
            _ = dead.changed() => return,
        };
        let (faults, answered, die, first_request, stalled) = (
            faults.clone(),
            Arc::clone(&answered),
            die.clone(),
            Arc::clone(&first_request),
            Arc::clone(&stalled),
        );
        let mut dead = die.subscribe();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let started = *first_request.get_or_init(Instant::now);
                if let Some(after) = faults.stall_after
                    && started.elapsed() >= after
                    && !stalled.swap(true, Ordering::SeqCst)
                {
                    // Blocks the runtime's only thread: every connection waits.
                    std::thread::sleep(faults.stall_for);
                }
                let n = answered.fetch_add(1, Ordering::SeqCst) + 1;
                if faults.die_after.is_some_and(|limit| n >= limit) {
                    let _ = die.send(true);
                }
                let status = match req.uri().path() {
                    "/" => StatusCode::OK,
                    "/error" => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::NOT_FOUND,
                };
                let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                *response.status_mut() = status;
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                // Going away: drop the connection mid-flight.
                _ = dead.changed() => {}
            }
        });
    }
}
