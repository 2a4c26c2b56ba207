//! The connection side of server-axum: hyper-util's accept loop with a header timeout and
//! pipelined flushing (what `axum::serve` lacks), graceful shutdown on SIGINT or SIGTERM, the
//! Host rule that hyper leaves to the service, and how the handlers' `Error` (and the extractors'
//! rejections) become responses. `main.rs` builds the Router and calls [`serve`].

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::http::{StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::Error;

/// RFC 9112, 3.2, which hyper leaves to the service: an HTTP/1.1 request has exactly one Host
/// line, an HTTP/1.0 one at most one.
pub async fn check_host(req: Request, next: Next) -> Result<Response, Error> {
    match req.headers().get_all(header::HOST).iter().count() {
        0 if req.version() >= Version::HTTP_11 => Err(Error::BadRequest),
        0 | 1 => Ok(next.run(req).await),
        _ => Err(Error::BadRequest),
    }
}

/// The 405 of a known path; axum adds the `Allow` header that lists its methods itself.
pub async fn method_not_allowed() -> (StatusCode, &'static str) {
    (StatusCode::METHOD_NOT_ALLOWED, contract::METHOD_NOT_ALLOWED)
}

/// Serves `app` until `shutdown` completes, then lets open connections finish (within the grace
/// period). `axum::serve` would be the one-liner, but it sets no header read timeout, so a client
/// that never finishes its request head keeps its connection forever (slowloris). As axum's
/// `serve-with-hyper` example does, the Router is served with hyper-util instead.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    // aspect: header-timeout: hyper's header_read_timeout (axum::serve has none)
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // A head larger than this is refused with 431.
        .max_buf_size(contract::MAX_HEAD_BYTES)
        // One write for all the answers to a batch of pipelined requests, not one each: 5-7x the
        // pipelined throughput, no cost measured without pipelining (see the README).
        .pipeline_flush(true);
    // aspect: graceful-shutdown: hyper-util's GracefulShutdown (axum::serve sets no header timeout)
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
        // A Router is a tower Service; hyper wants its own Service trait.
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // aspect: connection-errors: returned by the connection's future, printed in its task
            if let Err(err) = connection.await
                && startup::log_requests()
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

impl From<PathRejection> for Error {
    fn from(_: PathRejection) -> Self {
        Self::BadRequest
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        // The body limit shows up as a JSON rejection whose status is 413.
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::PayloadTooLarge
        } else {
            Self::BadRequest
        }
    }
}

// aspect: error-500: impl IntoResponse: handlers return Result and use ?
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::BadRequest => (StatusCode::BAD_REQUEST, contract::BAD_REQUEST),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, contract::PAYLOAD_TOO_LARGE),
            Self::Internal(cause) => {
                if startup::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    contract::INTERNAL_SERVER_ERROR,
                )
            }
            Self::Unavailable(cause) => {
                if startup::log_requests() {
                    eprintln!("503 Service Unavailable: {cause}");
                }
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    contract::SERVICE_UNAVAILABLE,
                )
            }
        };
        (status, body).into_response()
    }
}
