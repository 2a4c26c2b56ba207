//! The http-rosetta service on hyper 1.x: an accept loop of our own, `service_fn`, and routing as
//! a `match` on the path. The Go article's counterpart is net/http with its own Handler.
//!
//! hyper parses, frames, keeps connections alive and writes `Date` and `Content-Length`; the rest
//! (routing, the 404 and 405 answers, the Host rules, body limits, errors, graceful shutdown) is
//! ours to write, with hyper-util's helpers.
//!
//! Run it: `cargo run --release -p server-hyper -- --addr 127.0.0.1:8083`, then
//! `curl -i http://127.0.0.1:8083/json`.
//!
//! # Layout
//! `main` builds the runtime, binds and calls `serve`; `app` is the service (routing, then
//! errors into responses); the handlers follow in contract order, then the error type; `serve`
//! is the accept loop until `shutdown_signal`; tests last.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use contract::{Message, ServerArgs, User};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Body;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
        // Installed before the ready line, so that a signal sent right after it is not lost.
        let shutdown = shutdown_signal();
        contract::print_ready_line(addr);
        serve(listener, args.header_timeout, shutdown).await;
    });
}

/// The service: one arm per route, a match on the path, then the method (a known path with
/// another method is a 405 that lists what it takes); errors into responses; the server named.
/// Generic over the body, so that tests call it with a `Full` body and no socket.
async fn app<B>(req: Request<B>) -> Result<Response<Full<Bytes>>, Infallible>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    let post = req.method() == Method::POST;
    // aspect: routing: one match on the path inside service_fn
    let handled = match req.uri().path() {
        // RFC 9112, 3.2: hyper leaves the Host rules to the service.
        _ if !has_valid_host(&req) => Err(Error::BadRequest),
        "/" if get => Ok(plaintext()),
        "/json" if get => json(),
        "/html" if get => Ok(html()),
        "/echo" if post => echo(req).await,
        "/error" if get => error(),
        "/" | "/json" | "/html" | "/error" => Ok(method_not_allowed("GET, HEAD")),
        "/echo" => Ok(method_not_allowed("POST")),
        path => match path
            .strip_prefix("/users/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
        {
            Some(id) if get => user(id),
            Some(_) => Ok(method_not_allowed("GET, HEAD")),
            // aspect: not-found: the last match arm
            None => Ok(not_found()),
        },
    };
    let mut res = handled.unwrap_or_else(Error::into_response);
    res.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("hyper"));
    Ok(res)
}

/// An HTTP/1.1 request has exactly one Host line; an HTTP/1.0 one at most one.
fn has_valid_host<B>(req: &Request<B>) -> bool {
    match req.headers().get_all(header::HOST).iter().count() {
        0 => req.version() < Version::HTTP_11,
        count => count == 1,
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
    // aspect: path-parameter: strip_prefix in the match, then str::parse::<u32>
    let id: u32 = id.parse().map_err(|_| Error::BadRequest)?;
    let body = serde_json::to_vec(&User::new(id))?;
    Ok(response(StatusCode::OK, contract::APPLICATION_JSON, body))
}
// end route

// route: echo
// POST /echo
async fn echo<B>(req: Request<B>) -> Result<Response<Full<Bytes>>, Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
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
    // aspect: body-limit: http_body_util::Limited stops reading at the limit, chunked or not
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
    // aspect: json-body: collect the body, then serde_json
    let message: Message = serde_json::from_slice(&body).map_err(|_| Error::BadRequest)?;
    let body = serde_json::to_vec(&message)?;
    Ok(response(StatusCode::OK, contract::APPLICATION_JSON, body))
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
    let status = StatusCode::NOT_FOUND;
    response(status, contract::TEXT_PLAIN, contract::NOT_FOUND)
}
// end route

fn method_not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let status = StatusCode::METHOD_NOT_ALLOWED;
    let mut res = response(status, contract::TEXT_PLAIN, contract::METHOD_NOT_ALLOWED);
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

/// What a handler can fail with; `app` turns it into a response.
#[derive(Debug)]
enum Error {
    BadRequest,
    PayloadTooLarge,
    Internal(BoxError),
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl Error {
    // aspect: error-500: Error::into_response, called by app
    fn into_response(self) -> Response<Full<Bytes>> {
        let (status, body) = match self {
            Self::BadRequest => (StatusCode::BAD_REQUEST, contract::BAD_REQUEST),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, contract::PAYLOAD_TOO_LARGE),
            Self::Internal(cause) => {
                if contract::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                let status = StatusCode::INTERNAL_SERVER_ERROR;
                (status, contract::INTERNAL_SERVER_ERROR)
            }
        };
        response(status, contract::TEXT_PLAIN, body)
    }
}

/// Accepts connections and serves each on its own task until `shutdown` completes, then lets
/// the open connections finish (within the grace period). A request head must arrive within
/// `header_timeout` (slowloris).
async fn serve(
    listener: TcpListener,
    header_timeout: Duration,
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
        // Step 3: serve the connection on its own task; the watcher lets shutdown drain it.
        let connection = http.serve_connection(TokioIo::new(stream), service_fn(app));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // aspect: connection-errors: returned by the connection's future, printed in its task
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

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this
/// is called, not when the future is first polled.
fn shutdown_signal() -> impl Future<Output = ()> {
    let mut interrupt = signal(SignalKind::interrupt()).expect("cannot install a SIGINT handler");
    let mut terminate = signal(SignalKind::terminate()).expect("cannot install a SIGTERM handler");
    async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn app_answers_every_row_of_the_contract() {
        for case in contract::cases() {
            let mut req = Request::builder().method(case.method).uri(&case.path);
            for host in case.host.values() {
                req = req.header(header::HOST, *host);
            }
            if let Some(ct) = case.content_type {
                req = req.header(header::CONTENT_TYPE, ct);
            }
            let body = Full::new(Bytes::from(case.body.clone()));
            let res = app(req.body(body).unwrap()).await.unwrap();
            let name = case.name;
            assert_eq!(res.status().as_u16(), case.status, "{name}");
            assert_eq!(res.headers()[header::SERVER], "hyper", "{name}");
            let content_type = &res.headers()[header::CONTENT_TYPE];
            assert_eq!(content_type, case.response_content_type, "{name}");
            if let Some(allow) = case.allow {
                assert_eq!(res.headers()[header::ALLOW], allow, "{name}");
            }
            // hyper drops the body of a HEAD answer on the wire.
            let body = res.into_body().collect().await.unwrap().to_bytes();
            if case.method != "HEAD" {
                assert_eq!(body, case.response_body, "{name}");
            }
        }
    }
}
