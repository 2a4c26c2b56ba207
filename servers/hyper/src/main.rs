//! The http-rosetta service on hyper 1.x: an accept loop of our own, `service_fn`, and routing as
//! a `match` on method and path. The Go article's counterpart is net/http with its own Handler.
//!
//! hyper parses, frames, keeps connections alive and writes `Date` and `Content-Length`; the rest
//! (routing, the 404 and 405 answers, body limits, errors, graceful shutdown) is ours to write,
//! with hyper-util's helpers.
//!
//! Run it: `cargo run --release -p server-hyper -- --addr 127.0.0.1:8083`, then
//! `curl -i http://127.0.0.1:8083/json`.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use contract::{Message, ServerArgs, User};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

fn main() {
    let args = ServerArgs::parse_for("hyper");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads())
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    runtime.block_on(async {
        let listener = contract::bind_listener(args.addr)
            .and_then(|listener| {
                listener.set_nonblocking(true)?;
                TcpListener::from_std(listener)
            })
            .expect("cannot bind the address");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        contract::print_ready_line(addr);
        run(listener, args.header_timeout, contract::shutdown_signal()).await;
    });
}

/// Accepts connections and serves each on its own task until `shutdown` completes, then lets
/// the open connections finish (within the grace period). A request head must arrive within
/// `header_timeout` (slowloris).
async fn run(listener: TcpListener, header_timeout: Duration, shutdown: impl Future<Output = ()>) {
    let mut http = http1::Builder::new();
    // A slow head is dropped (slowloris); a huge one is refused with 431.
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(contract::MAX_HEAD_BYTES);
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
        // Step 3: serve the connection on its own task; the watcher lets shutdown drain it.
        let connection =
            graceful.watch(http.serve_connection(TokioIo::new(stream), service_fn(handle)));
        tokio::spawn(async move {
            // A connection error (a reset, a malformed request) is that connection's alone.
            if let Err(err) = connection.await
                && contract::log_requests()
            {
                eprintln!("connection error: {err}");
            }
        });
    }
    // Stop accepting, then give in-flight requests the grace period.
    drop(listener);
    let _ = tokio::time::timeout(contract::SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// The service: route, turn errors into responses, and name the server.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = route(req).await.unwrap_or_else(Error::into_response);
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("hyper"));
    Ok(response)
}

/// One arm per route; a known path with another method is a 405 that lists what it takes.
async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Error> {
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    match (req.method(), req.uri().path()) {
        (_, "/") if get => Ok(plaintext()),
        (_, "/json") if get => json(),
        (_, "/html") if get => Ok(html()),
        (&Method::POST, "/echo") => echo(req).await,
        (_, "/error") if get => error(),
        (_, "/" | "/json" | "/html" | "/error") => Ok(method_not_allowed("GET, HEAD")),
        (_, "/echo") => Ok(method_not_allowed("POST")),
        (_, path) => match path
            .strip_prefix("/users/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
        {
            Some(id) if get => user(id),
            Some(_) => Ok(method_not_allowed("GET, HEAD")),
            None => Ok(not_found()),
        },
    }
}

// route: plaintext
// GET /
fn plaintext() -> Response<Full<Bytes>> {
    response(StatusCode::OK, contract::TEXT_PLAIN, contract::HELLO)
}
// end route

// route: json
// GET /json
fn json() -> Result<Response<Full<Bytes>>, Error> {
    let body = serde_json::to_vec(&Message::hello())?;
    Ok(response(StatusCode::OK, contract::APPLICATION_JSON, body))
}
// end route

// route: html
// GET /html
fn html() -> Response<Full<Bytes>> {
    response(StatusCode::OK, contract::TEXT_HTML, contract::HTML_PAGE)
}
// end route

// route: users
// GET /users/{id}
fn user(id: &str) -> Result<Response<Full<Bytes>>, Error> {
    let id: u32 = id.parse().map_err(|_| Error::BadRequest)?;
    let body = serde_json::to_vec(&User::new(id))?;
    Ok(response(StatusCode::OK, contract::APPLICATION_JSON, body))
}
// end route

// route: echo
// POST /echo
async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Error> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|ct| ct.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case(contract::APPLICATION_JSON)
        });
    if !is_json {
        return Err(Error::BadRequest);
    }
    // `Limited` stops reading at the limit, whatever Content-Length claimed.
    let body = Limited::new(req.into_body(), contract::MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|err| {
            if err.is::<LengthLimitError>() {
                Error::PayloadTooLarge
            } else {
                Error::BadRequest
            }
        })?
        .to_bytes();
    let message: Message = serde_json::from_slice(&body).map_err(|_| Error::BadRequest)?;
    Ok(response(
        StatusCode::OK,
        contract::APPLICATION_JSON,
        serde_json::to_vec(&message)?,
    ))
}
// end route

// route: error
// GET /error
fn error() -> Result<Response<Full<Bytes>>, Error> {
    Err(Error::Internal("this route always fails".into()))
}
// end route

// route: not-found
// any other path
fn not_found() -> Response<Full<Bytes>> {
    response(
        StatusCode::NOT_FOUND,
        contract::TEXT_PLAIN,
        contract::NOT_FOUND,
    )
}
// end route

fn method_not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut res = response(
        StatusCode::METHOD_NOT_ALLOWED,
        contract::TEXT_PLAIN,
        contract::METHOD_NOT_ALLOWED,
    );
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    res
}

/// A response with a status, a content type and a body; hyper adds `Content-Length` and `Date`.
fn response(
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

/// What a handler can fail with; `handle` turns it into a response.
#[derive(Debug)]
enum Error {
    BadRequest,
    PayloadTooLarge,
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl Error {
    fn into_response(self) -> Response<Full<Bytes>> {
        let (status, body) = match self {
            Self::BadRequest => (StatusCode::BAD_REQUEST, contract::BAD_REQUEST),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, contract::PAYLOAD_TOO_LARGE),
            Self::Internal(cause) => {
                if contract::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    contract::INTERNAL_SERVER_ERROR,
                )
            }
        };
        response(status, contract::TEXT_PLAIN, body)
    }
}
