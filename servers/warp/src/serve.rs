//! The connection side of server-warp: hyper-util's accept loop with a header timeout and
//! pipelined flushing (what `warp::serve` lacks), graceful shutdown on SIGINT or SIGTERM, and the
//! filters of the protocol rules that `app` combines with the routes: GET with HEAD, the Host
//! rule that hyper leaves to the service, the JSON content type, and `known` with its `recover`,
//! which turns a rejection on a known path into its response; the handlers' `Error` and `text`.
//! `main.rs` calls [`bind`] and [`serve`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use warp::http::{HeaderMap, StatusCode, header};
use warp::reject::{MethodNotAllowed, Reject};
use warp::reply::{self, Reply, Response};
use warp::{Filter, Rejection};

/// What a handler can fail with, carried in a rejection.
#[derive(Debug)]
pub enum Error {
    BadRequest,
    PayloadTooLarge,
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl Reject for Error {}

/// A plain-text answer.
pub fn text(status: StatusCode, body: &'static str) -> Response {
    let body = reply::with_header(body, header::CONTENT_TYPE, contract::TEXT_PLAIN);
    reply::with_status(body, status).into_response()
}

/// Binds `addr` as the contract says (`startup::bind_listener`), for tokio; and its address.
pub fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = startup::bind_listener(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    Ok((TcpListener::from_std(listener)?, addr))
}

/// `routes` behind the Host rule (a 400 without exactly one Host line), every answer with the
/// `Server` header.
pub fn host_rule_and_server_header(
    routes: impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone + Send + Sync + 'static,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    one_host()
        .and(routes)
        .recover(|_| async {
            Ok::<_, Infallible>(text(StatusCode::BAD_REQUEST, contract::BAD_REQUEST))
        })
        .with(reply::with::header(header::SERVER, "warp"))
}

/// RFC 9112, 3.2, which hyper leaves to the service: one Host line, no more, no less. A filter
/// cannot see the HTTP version, so an HTTP/1.0 request without Host is refused too.
fn one_host() -> impl Filter<Extract = (), Error = Rejection> + Copy {
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
pub async fn serve<F>(
    listener: TcpListener,
    app: F,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) where
    F: Filter<Error = Infallible> + Clone + Send + Sync + 'static,
    F::Extract: Reply,
{
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

/// GET and HEAD (`warp::get()` alone does not take HEAD; hyper strips the body of HEAD answers).
pub fn get_or_head() -> impl Filter<Extract = (), Error = Rejection> + Copy {
    warp::get().or(warp::head()).unify()
}

/// warp's `json()` takes a body without any content type; the contract wants JSON declared.
pub fn json_content_type() -> impl Filter<Extract = (), Error = Rejection> + Copy {
    warp::header::optional::<String>(header::CONTENT_TYPE.as_str())
        .and_then(|content_type: Option<String>| async move {
            let essence = content_type
                .as_deref()
                .and_then(|ct| ct.split(';').next())
                .map(str::trim);
            match essence {
                Some(essence) if essence.eq_ignore_ascii_case(contract::APPLICATION_JSON) => Ok(()),
                _ => Err(warp::reject::custom(Error::BadRequest)),
            }
        })
        .untuple_one()
}

/// A route on a known path, its rejections recovered here: another method is a 405 that lists
/// `allow`, a bad body a 400 or 413. Only "not this path" goes on to the next route; otherwise
/// `or()` would try the next route, and a bad body would end as a 404.
pub fn known<F, R>(
    route: F,
    allow: &'static str,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone
where
    F: Filter<Extract = (R,), Error = Rejection> + Clone + Send + Sync + 'static,
    R: Reply,
{
    route
        .map(Reply::into_response)
        .recover(move |rejection| recover(rejection, allow))
        .unify()
}

/// Turns a rejection on a known path into its response; "not this path" is passed on.
// aspect: error-500: a custom rejection turned into a reply by recover
pub async fn recover(rejection: Rejection, allow: &'static str) -> Result<Response, Rejection> {
    let response = if rejection.is_not_found() {
        return Err(rejection);
    } else if rejection.find::<MethodNotAllowed>().is_some() {
        let body = text(StatusCode::METHOD_NOT_ALLOWED, contract::METHOD_NOT_ALLOWED);
        reply::with_header(body, header::ALLOW, allow).into_response()
    } else if let Some(Error::PayloadTooLarge) = rejection.find::<Error>() {
        text(StatusCode::PAYLOAD_TOO_LARGE, contract::PAYLOAD_TOO_LARGE)
    } else if let Some(Error::Internal(cause)) = rejection.find::<Error>() {
        if startup::log_requests() {
            eprintln!("500 Internal Server Error: {cause}");
        }
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            contract::INTERNAL_SERVER_ERROR,
        )
    } else {
        // Our own bad request, a body that is not the JSON we want, a missing length.
        text(StatusCode::BAD_REQUEST, contract::BAD_REQUEST)
    };
    Ok(response)
}
