//! The http-rosetta service on warp 0.4: every route is a filter, the routes are combined with
//! `or()`, and rejections are turned into responses by `recover`. The Go article's counterpart is
//! fasthttp with fasthttprouter.
//!
//! Run it: `cargo run --release -p server-warp -- --addr 127.0.0.1:8086`, then
//! `curl -i http://127.0.0.1:8086/json`.

use std::convert::Infallible;
use std::time::Duration;

use contract::{Message, ServerArgs, User};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use warp::http::{StatusCode, header};
use warp::reject::{MethodNotAllowed, PayloadTooLarge, Reject};
use warp::reply::{self, Reply, Response};
use warp::{Filter, Rejection};

fn main() {
    let args = ServerArgs::parse_for("warp");
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
        contract::print_ready_line(
            listener
                .local_addr()
                .expect("a bound listener has an address"),
        );
        serve(listener, args.header_timeout, contract::shutdown_signal()).await;
    });
}

/// Serves the routes until `shutdown` completes, then lets open connections finish (within the
/// grace period). `warp::serve(...).graceful(...)` would be the one-liner, but it sets no header
/// read timeout (slowloris) and no TCP_NODELAY; `warp::service` turns the filters into a tower
/// Service that hyper-util serves with both.
async fn serve(
    listener: TcpListener,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let routes = routes();
    let mut http = http1::Builder::new();
    // A slow head is dropped (slowloris); a huge one is refused with 431.
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(contract::MAX_HEAD_BYTES);
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
        let service = TowerToHyperService::new(warp::service(routes.clone()));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(contract::SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// Every route, the 404 for anything else, and the `Server` header on every answer.
fn routes() -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    // route: plaintext
    // GET /
    let plaintext = known(warp::path::end().and(get()).map(plaintext), "GET, HEAD");
    // end route
    // route: json
    // GET /json
    let json = known(warp::path!("json").and(get()).map(json), "GET, HEAD");
    // end route
    // route: html
    // GET /html
    let html = known(warp::path!("html").and(get()).map(html), "GET, HEAD");
    // end route
    // route: users
    // GET /users/{id}: the id is taken as text so that a bad one is a 400, not a 404.
    let user = known(
        warp::path!("users" / String).and(get()).and_then(user),
        "GET, HEAD",
    );
    // end route
    // route: echo
    // POST /echo
    let echo = warp::path!("echo")
        .and(warp::post())
        .and(json_content_type())
        .and(warp::body::content_length_limit(
            contract::MAX_BODY_BYTES as u64,
        ))
        .and(warp::body::json())
        .map(echo);
    let echo = known(echo, "POST");
    // end route
    // route: error
    // GET /error
    let error = known(warp::path!("error").and(get()).and_then(error), "GET, HEAD");
    // end route

    plaintext
        .or(json)
        .or(html)
        .or(user)
        .or(echo)
        .or(error)
        .recover(not_found)
        .with(reply::with::header(header::SERVER, "warp"))
}

/// GET and HEAD (`warp::get()` alone does not take HEAD; hyper strips the body of HEAD answers).
fn get() -> impl Filter<Extract = (), Error = Rejection> + Copy {
    warp::get().or(warp::head()).unify()
}

/// A route on a known path, its rejections recovered here: another method is a 405 that lists
/// `allow`, a bad body a 400 or 413. Only "not this path" goes on to the next route; otherwise
/// `or()` would try the next route, and a bad body would end as a 404.
fn known<F, R>(
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

// route: plaintext
// GET /
fn plaintext() -> impl Reply {
    text(StatusCode::OK, contract::HELLO)
}
// end route

// route: json
// GET /json
fn json() -> impl Reply {
    reply::json(&Message::hello())
}
// end route

// route: html
// GET /html
fn html() -> impl Reply {
    reply::html(contract::HTML_PAGE)
}
// end route

// route: users
// GET /users/{id}
async fn user(id: String) -> Result<impl Reply, Rejection> {
    let id: u32 = id.parse().map_err(|_| Error::BadRequest)?;
    Ok(reply::json(&User::new(id)))
}
// end route

// route: echo
// POST /echo
fn echo(message: Message) -> impl Reply {
    reply::json(&message)
}
// end route

// route: error
// GET /error
async fn error() -> Result<Response, Rejection> {
    Err(Error::Internal("this route always fails".into()).into())
}
// end route

// route: not-found
// any other path
async fn not_found(_: Rejection) -> Result<impl Reply, Infallible> {
    Ok(text(StatusCode::NOT_FOUND, contract::NOT_FOUND))
}
// end route

/// warp's `json()` takes a body without any content type; the contract wants JSON declared.
fn json_content_type() -> impl Filter<Extract = (), Error = Rejection> + Copy {
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

fn text(status: StatusCode, body: &'static str) -> Response {
    let body = reply::with_header(body, header::CONTENT_TYPE, contract::TEXT_PLAIN);
    reply::with_status(body, status).into_response()
}

/// What a handler can fail with, carried in a rejection.
#[derive(Debug)]
enum Error {
    BadRequest,
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl Reject for Error {}

/// Turns a rejection on a known path into its response; "not this path" is passed on.
async fn recover(rejection: Rejection, allow: &'static str) -> Result<Response, Rejection> {
    let response = if rejection.is_not_found() {
        return Err(rejection);
    } else if rejection.find::<MethodNotAllowed>().is_some() {
        let body = text(StatusCode::METHOD_NOT_ALLOWED, contract::METHOD_NOT_ALLOWED);
        reply::with_header(body, header::ALLOW, allow).into_response()
    } else if rejection.find::<PayloadTooLarge>().is_some() {
        text(StatusCode::PAYLOAD_TOO_LARGE, contract::PAYLOAD_TOO_LARGE)
    } else if let Some(Error::Internal(cause)) = rejection.find::<Error>() {
        if contract::log_requests() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn filters_answer_the_contract_in_process() {
        let routes = routes();
        for case in contract::cases() {
            let mut req = warp::test::request()
                .method(case.method)
                .path(&case.path)
                .body(case.body.clone());
            if let Some(ct) = case.content_type {
                req = req.header("content-type", ct);
            }
            let res = req.reply(&routes).await;
            assert_eq!(res.status().as_u16(), case.status, "{}", case.name);
            assert_eq!(res.headers()[header::SERVER], "warp", "{}", case.name);
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                case.response_content_type,
                "{}",
                case.name
            );
            if let Some(allow) = case.allow {
                assert_eq!(res.headers()[header::ALLOW], allow, "{}", case.name);
            }
            if case.method != "HEAD" {
                assert_eq!(res.body().as_ref(), case.response_body, "{}", case.name);
            }
        }
    }
}
