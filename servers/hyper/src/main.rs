//! The http-rosetta service on hyper 1.x: an accept loop of our own, `service_fn`, and routing as
//! a `match` on the path. The Go article's counterpart is net/http with its own Handler.
//!
//! hyper parses, frames, keeps connections alive and writes `Date` and `Content-Length`; the rest
//! (routing, the 404 and 405 answers, the Host rules, body limits, errors, graceful shutdown) is
//! ours to write, with hyper-util's helpers. The database routes run on tokio-postgres with a
//! deadpool-postgres pool (`db.rs`), kept in an `Arc` that every connection's service shares.
//!
//! Run it: `cargo run --release -p server-hyper`, then `curl -i http://127.0.0.1:8083/json`.
//!
//! # Layout
//! `main` builds the runtime and the pool, then `serve::bind_and_serve`; `app` is the service
//! (routing, errors into responses); handlers in contract order, the error type, tests. `serve.rs`:
//! binding, accept loop, signals, what `app` reads from a request (Host, content type, `q`), the
//! response helpers, `Error::into_response`. `db.rs`: the pool, queries, `/fortunes` template.

use std::convert::Infallible;
use std::sync::Arc;

use askama::Template;
use bytes::Bytes;
use contract::{Message, User};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Body;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use startup::ServerArgs;

mod db;
mod serve;

use db::{Db, DbError, FortunesPage};
use serve::{method_not_allowed, response};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let args = ServerArgs::parse_for("hyper");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads())
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    // aspect: pool: a lazy deadpool-postgres Pool in an Arc<Db> that each connection's service_fn clones
    let db = Arc::new(Db::new(&args).expect("--database-url must be a postgres:// URL"));
    runtime.block_on(serve::bind_and_serve(&args, db));
}

/// The service: a match on the path, then the method (a known path with another method is a 405
/// with `Allow`); errors into responses; the server named. Generic over the body for the tests.
async fn app<B>(db: Arc<Db>, req: Request<B>) -> Result<Response<Full<Bytes>>, Infallible>
where
    B: Body<Error: Into<BoxError>>,
{
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    let post = req.method() == Method::POST;
    // aspect: routing: one match on the path inside service_fn
    let handled = match req.uri().path() {
        // RFC 9112, 3.2: hyper leaves the Host rules to the service.
        _ if !serve::has_valid_host(&req) => Err(Error::BadRequest),
        "/" if get => Ok(plaintext()),
        "/json" if get => json(),
        "/html" if get => Ok(html()),
        "/echo" if post => echo(req).await,
        "/error" if get => error(),
        "/db" if get => self::db(&db).await,
        "/queries" if get => queries(&db, serve::query_count(&req)).await,
        "/fortunes" if get => fortunes(&db).await,
        "/updates" if get => updates(&db, serve::query_count(&req)).await,
        "/" | "/json" | "/html" | "/error" => Ok(method_not_allowed("GET, HEAD")),
        "/db" | "/queries" | "/fortunes" | "/updates" => Ok(method_not_allowed("GET, HEAD")),
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
    B: Body<Error: Into<BoxError>>,
{
    if !serve::has_json_content_type(&req) {
        return Err(Error::BadRequest);
    }
    // aspect: body-limit: http_body_util::Limited stops reading at the limit, chunked or not
    let body = Limited::new(req.into_body(), contract::MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(Error::from_body)?
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

// route: db
// GET /db
async fn db(db: &Db) -> Result<Response<Full<Bytes>>, Error> {
    let body = serde_json::to_vec(&db.random_world().await?)?;
    Ok(response(StatusCode::OK, contract::APPLICATION_JSON, body))
}
// end route

// route: queries
// GET /queries?q=N
async fn queries(db: &Db, count: usize) -> Result<Response<Full<Bytes>>, Error> {
    let body = serde_json::to_vec(&db.random_worlds(count).await?)?;
    Ok(response(StatusCode::OK, contract::APPLICATION_JSON, body))
}
// end route

// route: fortunes
// GET /fortunes
async fn fortunes(db: &Db) -> Result<Response<Full<Bytes>>, Error> {
    let fortunes = db.fortunes().await?;
    // aspect: template: askama's derived Template::render (templates/fortunes.html), escaped for HTML
    let page = FortunesPage { fortunes }.render()?;
    Ok(response(StatusCode::OK, contract::TEXT_HTML, page))
}
// end route

// route: updates
// GET /updates?q=N
async fn updates(db: &Db, count: usize) -> Result<Response<Full<Bytes>>, Error> {
    let body = serde_json::to_vec(&db.update_worlds(count).await?)?;
    Ok(response(StatusCode::OK, contract::APPLICATION_JSON, body))
}
// end route

// route: not-found
// any other path
fn not_found() -> Response<Full<Bytes>> {
    let status = StatusCode::NOT_FOUND;
    response(status, contract::TEXT_PLAIN, contract::NOT_FOUND)
}
// end route

/// What a handler can fail with; `app` turns it into a response.
#[derive(Debug)]
enum Error {
    BadRequest,
    PayloadTooLarge,
    Database(DbError),
    Internal(BoxError),
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
            let res = app(Arc::default(), req.body(body).unwrap()).await.unwrap();
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

    #[tokio::test]
    async fn without_a_database_the_database_routes_answer_503_and_name_the_server() {
        for route in contract::DATABASE_ROUTES {
            let req = Request::get(route.path).header(header::HOST, "localhost");
            let res = app(Arc::default(), req.body(Full::new(Bytes::new())).unwrap());
            let res = res.await.unwrap();
            assert_eq!(
                res.status(),
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                route.path
            );
            assert_eq!(res.headers()[header::SERVER], "hyper");
            assert_eq!(res.headers()[header::CONTENT_TYPE], contract::TEXT_PLAIN);
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, contract::SERVICE_UNAVAILABLE);
        }
    }

    #[test]
    fn q_is_read_from_the_query_string() {
        for (uri, rows) in [("/queries", 1), ("/queries?q=7", 7), ("/q?a=1&q=20&b", 20)] {
            let req = Request::get(uri).body(()).unwrap();
            assert_eq!(serve::query_count(&req), rows, "{uri}");
        }
    }
}
