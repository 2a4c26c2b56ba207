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
    /// After going away, come back on the same address this much later.
    pub restart_after: Option<Duration>,
    /// Reset every connection (RST, not FIN) as soon as a request arrives on it.
    pub reset_connections: bool,
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
    /// Starts a server on 127.0.0.1:0: `/` is 200 `ok`, `/error` 500, `/slow` 200 after 300 ms,
    /// anything else 404.
    pub fn start(faults: Faults) -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_in(faults, loopback, || Ok(()))
    }

    /// Starts the server on `bind`, on a thread of its own that runs `enter` first (to enter
    /// a network namespace: the sockets it opens belong to that namespace).
    pub fn start_in(
        faults: Faults,
        bind: SocketAddr,
        enter: impl FnOnce() -> std::io::Result<()> + Send + 'static,
    ) -> Self {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let answered = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&answered);
        let thread = std::thread::spawn(move || {
            enter().expect("the server thread enters its namespace");
            // One thread for everything, so a blocking stall stops every connection at once.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(serve(faults, bind, counter, addr_tx, stopped));
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
    bind: SocketAddr,
    answered: Arc<AtomicU64>,
    addr_tx: std::sync::mpsc::Sender<SocketAddr>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut listener = TcpListener::bind(bind).await.expect("bind the test server");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    addr_tx.send(addr).expect("the test waits for the address");
    let first_request: Arc<std::sync::OnceLock<Instant>> = Arc::default();
    let stalled = Arc::new(AtomicBool::new(false));
    loop {
        let (die, mut dead) = tokio::sync::watch::channel(false);
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted { Ok(pair) => pair, Err(_) => continue },
                _ = &mut stopped => return,
                _ = dead.changed() => break,
            };
            if faults.reset_connections {
                tokio::spawn(reset_on_request(stream));
                continue;
            }
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
                    // Once: after a restart the count goes on past the limit.
                    if faults.die_after == Some(n) {
                        let _ = die.send(true);
                    }
                    let (status, delay) = match req.uri().path() {
                        "/" => (StatusCode::OK, Duration::ZERO),
                        "/slow" => (StatusCode::OK, Duration::from_millis(300)),
                        "/error" => (StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO),
                        _ => (StatusCode::NOT_FOUND, Duration::ZERO),
                    };
                    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                    *response.status_mut() = status;
                    async move {
                        tokio::time::sleep(delay).await;
                        Ok::<_, Infallible>(response)
                    }
                });
                let connection =
                    http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    // Going away: drop the connection mid-flight.
                    _ = dead.changed() => {}
                }
            });
        }
        // Gone: the listener closes (new connections are refused) and so does every connection.
        drop(listener);
        let Some(pause) = faults.restart_after else {
            return;
        };
        tokio::time::sleep(pause).await;
        listener = TcpListener::bind(addr)
            .await
            .expect("rebind the same address");
    }
}

/// Reads a request's first bytes, then closes with SO_LINGER 0: the client sees a reset.
async fn reset_on_request(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    let _ = stream.read(&mut buf).await;
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
}
