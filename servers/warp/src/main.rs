//! The http-rosetta service on warp 0.4: every route is a filter, the routes are combined with
//! `or()`, and rejections are turned into responses by `recover`. The Go article's counterpart is
//! fasthttp with fasthttprouter.
//!
//! Run it: `cargo run --release -p server-warp -- --addr 127.0.0.1:8086`, then
//! `curl -i http://127.0.0.1:8086/json`.

use std::convert::Infallible;
use std::net::SocketAddr;

use contract::{Message, ServerArgs, User};
use socket2::{Domain, Socket, Type};
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
        let listener = bind(args.addr).expect("cannot bind the address");
        contract::print_ready_line(
            listener
                .local_addr()
                .expect("a bound listener has an address"),
        );
        let (signal, deadline) = contract::shutdown_signal_and_deadline();
        tokio::select! {
            () = warp::serve(routes()).incoming(listener).graceful(signal).run() => {}
            // Requests still running after the grace period are cut off.
            () = deadline => {}
        }
    });
}

/// Binds with TCP_NODELAY set on the listening socket. warp gives no hook on accepted
/// connections, and on Linux they inherit the option from the listener, so small responses go
/// out at once instead of after Nagle's ~40 ms delay.
fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    tokio::net::TcpListener::from_std(socket.into())
}

/// Every route, the 404 for anything else, and the `Server` header on every answer.
fn routes() -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    // GET /
    let plaintext = known(warp::path::end().and(get()).map(plaintext), "GET, HEAD");
    // GET /json
    let json = known(warp::path!("json").and(get()).map(json), "GET, HEAD");
    // GET /html
    let html = known(warp::path!("html").and(get()).map(html), "GET, HEAD");
    // GET /users/{id}: the id is taken as text so that a bad one is a 400, not a 404.
    let user = known(
        warp::path!("users" / String).and(get()).and_then(user),
        "GET, HEAD",
    );
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
    // GET /error
    let error = known(warp::path!("error").and(get()).and_then(error), "GET, HEAD");

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
