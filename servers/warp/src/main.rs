//! The http-rosetta service on warp 0.4: every route is a filter, the routes are combined with
//! `or()`, and rejections are turned into responses by `recover`. The Go article's counterpart is
//! fasthttp with fasthttprouter.
//!
//! Run it: `cargo run --release -p server-warp -- --addr 127.0.0.1:8086`, then
//! `curl -i http://127.0.0.1:8086/json`.
//!
//! # Layout
//! `main`, `app` (the filter of all routes), the handlers in contract order, tests last.
//! `serve.rs`: the accept loop, the filters `app` uses, `Error`, `recover`; `db.rs`: the database.

use std::convert::Infallible;

use bytes::{Buf, BufMut};
use contract::{Message, User};
use futures_util::{Stream, TryStreamExt};
use startup::ServerArgs;
use warp::http::StatusCode;
use warp::reply::{self, Reply, Response};
use warp::{Filter, Rejection};

mod db;
mod serve;

use db::{Db, DbError, query_count, with_db};
use serve::{Error, get_or_head, text};

fn main() {
    let args = ServerArgs::parse_for("warp");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads())
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    runtime.block_on(async {
        let (listener, addr) = serve::bind(args.addr).expect("cannot bind the address");
        // Installed before the ready line, so that a signal sent right after it is not lost.
        let shutdown = serve::shutdown_signal();
        let db = Db::new(&args).expect("the database URL is not a valid postgres:// URL");
        startup::print_ready_line(addr);
        serve::serve(listener, app(&db), args.header_timeout, shutdown).await;
    });
}

/// Every route and the 404 for anything else, behind the Host rule, with the `Server` header.
fn app(
    db: &Db,
) -> impl Filter<Extract = (impl Reply + use<>,), Error = Infallible> + Clone + use<> {
    // route: plaintext
    // GET /
    let plaintext = warp::path::end().and(get_or_head()).map(plaintext);
    let plaintext = serve::known(plaintext, "GET, HEAD");
    // end route
    // route: json
    // GET /json
    let json = warp::path!("json").and(get_or_head()).map(json);
    let json = serve::known(json, "GET, HEAD");
    // end route
    // route: html
    // GET /html
    let html = warp::path!("html").and(get_or_head()).map(html);
    let html = serve::known(html, "GET, HEAD");
    // end route
    // route: users
    // GET /users/{id}: the id is taken as text so that a bad one is a 400, not a 404.
    // aspect: path-parameter: path! takes a String; the handler parses it
    let route = warp::path!("users" / String).and(get_or_head());
    let user = serve::known(route.and_then(user), "GET, HEAD");
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
    let error = warp::path!("error").and(get_or_head()).and_then(error);
    let error = serve::known(error, "GET, HEAD");
    // end route
    // route: db
    // GET /db
    let route = warp::path!("db").and(get_or_head()).and(with_db(db));
    let single = serve::known(route.then(single_query), "GET, HEAD");
    // end route
    // route: queries
    // GET /queries?q=N
    let route = warp::path!("queries").and(get_or_head()).and(query_count());
    let queries = serve::known(route.and(with_db(db)).then(queries), "GET, HEAD");
    // end route
    // route: fortunes
    // GET /fortunes
    let route = warp::path!("fortunes").and(get_or_head()).and(with_db(db));
    let fortunes = serve::known(route.then(fortunes), "GET, HEAD");
    // end route
    // route: updates
    // GET /updates?q=N
    let route = warp::path!("updates").and(get_or_head()).and(query_count());
    let updates = serve::known(route.and(with_db(db)).then(updates), "GET, HEAD");
    // end route

    // aspect: routing: filters combined with or()
    let routes = plaintext.or(json).or(html).or(user).or(echo).or(error);
    let routes = routes.or(single).or(queries).or(fortunes).or(updates);
    // aspect: not-found: a final recover: nothing matched
    serve::host_rule_and_server_header(routes.recover(not_found))
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
    // body::json() needs content_length_limit, which refuses chunked bodies (411): read a stream.
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

// route: db
// GET /db
async fn single_query(db: Db) -> Result<impl Reply, DbError> {
    Ok(reply::json(&db.random_world().await?))
}
// end route
// route: queries
// GET /queries?q=N
async fn queries(count: usize, db: Db) -> Result<impl Reply, DbError> {
    Ok(reply::json(&db.random_worlds(count).await?))
}
// end route
// route: fortunes
// GET /fortunes
async fn fortunes(db: Db) -> Result<impl Reply, DbError> {
    Ok(reply::html(db.fortunes_page().await?))
}
// end route
// route: updates
// GET /updates?q=N
async fn updates(count: usize, db: Db) -> Result<impl Reply, DbError> {
    Ok(reply::json(&db.update_worlds(count).await?))
}
// end route

#[cfg(test)]
mod tests {
    use warp::http::header;

    use super::*;

    #[tokio::test]
    async fn filters_answer_the_contract_in_process() {
        let app = app(&Db::default());
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
