//! The http-rosetta service on warp 0.4: every route is a filter, the routes are combined with
//! `or()`, and rejections are turned into responses by `recover`. The Go article's counterpart is
//! fasthttp with fasthttprouter.
//!
//! Run it: `cargo run --release -p server-warp -- --addr 127.0.0.1:8086`, then
//! `curl -i http://127.0.0.1:8086/json`.
//!
//! # Layout
//! `main` binds and calls `serve`; `app` is the filter of all routes; the handlers follow in
//! contract order, then the error type; tests last. `serve.rs`: the accept loop,
//! `shutdown_signal`, the filters `app` is built from (GET-with-HEAD, the Host rule, the JSON
//! content type, `known`) and `recover`.

use std::convert::Infallible;

use bytes::{Buf, BufMut};
use contract::{Message, User};
use futures_util::{Stream, TryStreamExt};
use startup::ServerArgs;
use tokio::net::TcpListener;
use warp::http::{StatusCode, header};
use warp::reject::Reject;
use warp::reply::{self, Reply, Response};
use warp::{Filter, Rejection};

mod serve;

fn main() {
    let args = ServerArgs::parse_for("warp");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads())
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    runtime.block_on(async {
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
        let shutdown = serve::shutdown_signal();
        startup::print_ready_line(addr);
        serve::serve(listener, args.header_timeout, shutdown).await;
    });
}

/// Every route, the 404 for anything else, the Host rules, and the `Server` header on every
/// answer.
fn app() -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    // route: plaintext
    // GET /
    let plaintext = serve::known(
        warp::path::end().and(serve::get_or_head()).map(plaintext),
        "GET, HEAD",
    );
    // end route
    // route: json
    // GET /json
    let json = serve::known(
        warp::path!("json").and(serve::get_or_head()).map(json),
        "GET, HEAD",
    );
    // end route
    // route: html
    // GET /html
    let html = serve::known(
        warp::path!("html").and(serve::get_or_head()).map(html),
        "GET, HEAD",
    );
    // end route
    // route: users
    // GET /users/{id}: the id is taken as text so that a bad one is a 400, not a 404.
    // aspect: path-parameter: path! takes a String; the handler parses it
    let user = warp::path!("users" / String)
        .and(serve::get_or_head())
        .and_then(user);
    let user = serve::known(user, "GET, HEAD");
    // end route
    // route: echo
    // POST /echo
    let echo = warp::path!("echo")
        .and(warp::post())
        .and(serve::json_content_type())
        .and(warp::body::stream())
        .and_then(echo);
    let echo = serve::known(echo, "POST");
    // end route
    // route: error
    // GET /error
    let error = serve::known(
        warp::path!("error")
            .and(serve::get_or_head())
            .and_then(error),
        "GET, HEAD",
    );
    // end route

    // aspect: routing: filters combined with or()
    let routes = plaintext.or(json).or(html).or(user).or(echo).or(error);
    // aspect: not-found: a final recover: nothing matched
    let routes = routes.recover(not_found);
    serve::one_host()
        .and(routes)
        .recover(|_| async {
            Ok::<_, Infallible>(text(StatusCode::BAD_REQUEST, contract::BAD_REQUEST))
        })
        .with(reply::with::header(header::SERVER, "warp"))
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
async fn echo(
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<impl Reply, Rejection> {
    // warp's `body::json()` is bounded by `content_length_limit`, which refuses a chunked body
    // (411): the body is read as a stream instead, and refused once it passes the limit.
    let mut body = std::pin::pin!(body);
    let mut bytes = Vec::new();
    while let Some(chunk) = body.try_next().await.map_err(|_| Error::BadRequest)? {
        // aspect: body-limit: body::stream(), refused as it passes the limit
        if bytes.len() + chunk.remaining() > contract::MAX_BODY_BYTES {
            return Err(Error::PayloadTooLarge.into());
        }
        bytes.put(chunk);
    }
    // aspect: json-body: the bytes of body::stream(), then serde_json
    let message: Message = serde_json::from_slice(&bytes).map_err(|_| Error::BadRequest)?;
    Ok(reply::json(&message))
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

fn text(status: StatusCode, body: &'static str) -> Response {
    let body = reply::with_header(body, header::CONTENT_TYPE, contract::TEXT_PLAIN);
    reply::with_status(body, status).into_response()
}

/// What a handler can fail with, carried in a rejection.
#[derive(Debug)]
enum Error {
    BadRequest,
    PayloadTooLarge,
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl Reject for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn filters_answer_the_contract_in_process() {
        let app = app();
        // warp::test's builder keeps one value per header name: two Host lines are checked on
        // the wire, by the conformance suite.
        let cases = contract::cases().into_iter();
        for case in cases.filter(|case| case.host != contract::HostHeader::Twice) {
            let mut req = warp::test::request()
                .method(case.method)
                .path(&case.path)
                .body(case.body.clone());
            for host in case.host.values() {
                req = req.header("host", *host);
            }
            if let Some(ct) = case.content_type {
                req = req.header("content-type", ct);
            }
            let res = req.reply(&app).await;
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
