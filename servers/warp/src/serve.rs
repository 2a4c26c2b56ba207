//! The connection side of server-warp: hyper-util's accept loop with a header timeout and
//! pipelined flushing (what `warp::serve` lacks), graceful shutdown on SIGINT or SIGTERM, and the
//! filters of the protocol rules that `app` combines with the routes: GET with HEAD, and the Host
//! rule that hyper leaves to the service.
//! `main.rs` calls [`serve`].

use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use warp::http::{HeaderMap, header};
use warp::{Filter, Rejection};

use crate::Error;

/// RFC 9112, 3.2, which hyper leaves to the service: one Host line, no more, no less. A filter
/// cannot see the HTTP version, so an HTTP/1.0 request without Host is refused too.
pub fn one_host() -> impl Filter<Extract = (), Error = Rejection> + Copy {
    warp::header::headers_cloned()
        .and_then(|headers: HeaderMap| async move {
            match headers.get_all(header::HOST).iter().count() {
                1 => Ok(()),
                _ => Err(warp::reject::custom(Error::BadRequest)),
            }
        })
        .untuple_one()
}

/// Serves `app` until `shutdown` completes, then lets open connections finish (within the
/// grace period). `warp::serve(...).graceful(...)` would be the one-liner, but it sets no header
/// read timeout (slowloris) and no TCP_NODELAY; `warp::service` turns the filters into a tower
/// Service that hyper-util serves with both.
pub async fn serve(
    listener: TcpListener,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let app = crate::app();
    let mut http = http1::Builder::new();
    // aspect: header-timeout: hyper's header_read_timeout (warp::serve has none)
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // A head larger than this is refused with 431.
        .max_buf_size(contract::MAX_HEAD_BYTES)
        // One write for all the answers to a batch of pipelined requests, not one each: 5-7x the
        // pipelined throughput, no cost measured without pipelining (see the README).
        .pipeline_flush(true);
    // aspect: graceful-shutdown: hyper-util's GracefulShutdown over warp::service
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                // One failed accept (a reset, a passing lack of file descriptors) must not
                // end the server.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small responses go out at once, not after Nagle's ~40 ms delay.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(warp::service(app.clone()));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // aspect: connection-errors: returned by the connection's future, printed in its task
            if let Err(err) = connection.await
                && contract::log_requests()
            {
                eprintln!("connection error: {err}");
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(contract::SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this
/// is called, not when the future is first polled.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    let mut interrupt = signal(SignalKind::interrupt()).expect("cannot install a SIGINT handler");
    let mut terminate = signal(SignalKind::terminate()).expect("cannot install a SIGTERM handler");
    async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }
}
/// GET and HEAD (`warp::get()` alone does not take HEAD; hyper strips the body of HEAD answers).
pub fn get_or_head() -> impl Filter<Extract = (), Error = Rejection> + Copy {
    warp::get().or(warp::head()).unify()
}
