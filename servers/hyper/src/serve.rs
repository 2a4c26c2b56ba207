//! The connection side of server-hyper: binding and the ready line, the accept loop with hyper's
//! header timeout and pipelined flushing, graceful shutdown on SIGINT or SIGTERM; what the
//! service reads from a request (the Host rule that hyper leaves to the service, the content
//! type, `q`); and the helpers that build a response, errors included. `main.rs` calls
//! [`bind_and_serve`], which serves the service `app` with the shared database.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use startup::ServerArgs;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::db::{Db, DbError};
use crate::{BoxError, Error};

/// Binds `--addr`, prints the ready line, and serves until SIGINT or SIGTERM.
pub async fn bind_and_serve(args: &ServerArgs, db: Arc<Db>) {
    let listener = startup::bind_listener(args.addr)
        .and_then(|listener| {
            listener.set_nonblocking(true)?;
            TcpListener::from_std(listener)
        })
        .expect("cannot bind the address");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    // Installed before the ready line, so that a signal sent right after it is not lost.
    let shutdown = shutdown_signal();
    startup::print_ready_line(addr);
    serve(listener, args.header_timeout, db, shutdown).await;
}

/// An HTTP/1.1 request has exactly one Host line; an HTTP/1.0 one at most one.
pub fn has_valid_host<B>(req: &Request<B>) -> bool {
    match req.headers().get_all(header::HOST).iter().count() {
        0 => req.version() < Version::HTTP_11,
        count => count == 1,
    }
}

/// The essence of a request's `Content-Type` is `application/json`, parameters aside.
pub fn has_json_content_type<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|ct| ct.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case(contract::APPLICATION_JSON)
        })
}

/// The rows `/queries` and `/updates` answer with, from the raw `q` of the query string: hyper
/// has no query parser, and `contract::query_count` reads the value.
pub fn query_count<B>(req: &Request<B>) -> usize {
    let query = req.uri().query();
    let q = query.and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("q=")));
    contract::query_count(q)
}

/// Accepts connections and serves each on its own task until `shutdown` completes, then lets
/// the open connections finish (within the grace period). A request head must arrive within
/// `header_timeout` (slowloris). Every connection's service shares `db`.
pub async fn serve(
    listener: TcpListener,
    header_timeout: Duration,
    db: Arc<Db>,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    // aspect: header-timeout: hyper's header_read_timeout, with a timer
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // A head larger than this is refused with 431.
        .max_buf_size(contract::MAX_HEAD_BYTES)
        // One write for all the answers to a batch of pipelined requests, not one each: 5-7x the
        // pipelined throughput, no cost measured without pipelining (see the README).
        .pipeline_flush(true);
    // aspect: graceful-shutdown: hyper-util's GracefulShutdown watches every connection
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // Step 1: wait for a connection, or for the signal to stop.
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
        // Step 2: small responses go out at once, not after Nagle's ~40 ms delay.
        let _ = stream.set_nodelay(true);
        // Step 3: serve the connection on its own task; the watcher lets shutdown drain it. Each
        // request gets its own handle on the shared database (a cheap `Arc` clone).
        let db = Arc::clone(&db);
        let service = service_fn(move |req| crate::app(Arc::clone(&db), req));
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // aspect: connection-errors: returned by the connection's future, printed in its task
            if let Err(err) = connection.await
                && startup::log_requests()
            {
                eprintln!("connection error: {err}");
            }
        });
    }
    // Stop accepting, then give in-flight requests the grace period.
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

/// A 405 that lists the methods the path takes.
pub fn method_not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let status = StatusCode::METHOD_NOT_ALLOWED;
    let mut res = response(status, contract::TEXT_PLAIN, contract::METHOD_NOT_ALLOWED);
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    res
}

/// A response with a status, a content type and a body; hyper adds `Content-Length` and `Date`.
pub fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

impl Error {
    /// A body that could not be read: past the limit (413), or broken (400).
    pub(crate) fn from_body(err: BoxError) -> Self {
        if err.is::<http_body_util::LengthLimitError>() {
            Self::PayloadTooLarge
        } else {
            Self::BadRequest
        }
    }

    // aspect: error-500: Error::into_response, called by app
    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let (status, body) = match self {
            Self::BadRequest => (StatusCode::BAD_REQUEST, contract::BAD_REQUEST),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, contract::PAYLOAD_TOO_LARGE),
            // aspect: db-error: DbError inside Error::into_response: no connection in time 503, a failed query 500
            Self::Database(err) if err.unavailable() => {
                if startup::log_requests() {
                    eprintln!("503 Service Unavailable: {err}");
                }
                let status = StatusCode::SERVICE_UNAVAILABLE;
                (status, contract::SERVICE_UNAVAILABLE)
            }
            Self::Database(err) => return Self::Internal(err.into()).into_response(),
            Self::Internal(cause) => {
                if startup::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                let status = StatusCode::INTERNAL_SERVER_ERROR;
                (status, contract::INTERNAL_SERVER_ERROR)
            }
        };
        response(status, contract::TEXT_PLAIN, body)
    }
}

impl From<DbError> for Error {
    fn from(err: DbError) -> Self {
        Self::Database(err)
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<askama::Error> for Error {
    fn from(err: askama::Error) -> Self {
        Self::Internal(err.into())
    }
}
