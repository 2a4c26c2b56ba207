//! The http-rosetta service on axum 0.8: a `Router` of method routers, extractors for the path
//! and the JSON body, and an error enum that implements `IntoResponse` so handlers can use `?`.
//! The Go article's counterpart is echo. The database routes use sqlx and an askama template.
//!
//! Run it: `cargo run --release -p server-axum -- --addr 127.0.0.1:8084`, then
//! `curl -i http://127.0.0.1:8084/json`.
//!
//! # Layout
//! `main` builds the runtime, binds and calls `serve`; `app` is the Router; the handlers follow
//! in contract order, then the error type; tests last. `serve.rs` holds hyper-util's accept loop
//! until `shutdown_signal`, and the Host check that `app` layers in; `db.rs` the pool, the
//! connection extractor and the queries.

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::{Fortune, Message, User, World};
use db::DbConnection;
use startup::ServerArgs;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

mod db;
mod serve;

fn main() {
    let args = ServerArgs::parse_for("axum");
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
        let pool = db::pool(args.database_url.as_deref(), args.pool_size)
            .expect("the database URL is not a valid postgres:// URL");
        startup::print_ready_line(addr);
        serve::serve(listener, app(pool), args.header_timeout, shutdown).await;
    });
}

/// The whole service, without a socket: tests drive it with `oneshot`. No pool: the routes 503.
fn app(pool: Option<sqlx::PgPool>) -> Router {
    // aspect: routing: Router::route with method routers
    Router::new()
        .route("/", get(plaintext))
        .route("/json", get(json))
        .route("/html", get(html))
        .route("/users/{id}", get(user))
        .route("/echo", post(echo))
        .route("/error", get(error))
        .route("/db", get(single_query))
        .route("/queries", get(queries))
        .route("/fortunes", get(fortunes))
        .route("/updates", get(updates))
        // aspect: not-found: Router::fallback
        .fallback(not_found)
        .method_not_allowed_fallback(serve::method_not_allowed)
        // aspect: body-limit: the DefaultBodyLimit layer, which the Json extractor obeys
        .layer(DefaultBodyLimit::max(contract::MAX_BODY_BYTES))
        .layer(middleware::from_fn(serve::check_host))
        .layer(SetResponseHeaderLayer::overriding(
            header::SERVER,
            HeaderValue::from_static("axum"),
        ))
        // aspect: pool: the Option<PgPool> is the Router's State, which DbConnection reads
        .with_state(pool)
}

// route: plaintext
// GET /
async fn plaintext() -> &'static str {
    contract::HELLO
}
// end route

// route: json
// GET /json
async fn json() -> Json<Message> {
    Json(Message::hello())
}
// end route

// route: html
// GET /html
async fn html() -> Html<&'static str> {
    Html(contract::HTML_PAGE)
}
// end route

// route: users
// GET /users/{id}
// aspect: path-parameter: the Path<u32> extractor; its rejection becomes our 400
async fn user(id: Result<Path<u32>, PathRejection>) -> Result<Json<User>, Error> {
    let Path(id) = id?;
    Ok(Json(User::new(id)))
}
// end route

// route: echo
// POST /echo
// aspect: json-body: the Json<Message> extractor
async fn echo(message: Result<Json<Message>, JsonRejection>) -> Result<Json<Message>, Error> {
    let Json(message) = message?;
    Ok(Json(message))
}
// end route

// route: error
// GET /error
async fn error() -> Result<(), Error> {
    Err(Error::Internal("this route always fails".into()))
}
// end route

// route: not-found
// any other path
async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, contract::NOT_FOUND)
}
// end route

// route: db
// GET /db
async fn single_query(DbConnection(mut conn): DbConnection) -> Result<Json<World>, Error> {
    Ok(Json(db::random_world(&mut conn).await?))
}
// end route

// route: queries
// GET /queries?q=N
async fn queries(
    DbConnection(mut conn): DbConnection,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<World>>, Error> {
    let count = db::query_count(&params);
    Ok(Json(db::random_worlds(&mut conn, count).await?))
}
// end route

// route: fortunes
// GET /fortunes
async fn fortunes(DbConnection(mut conn): DbConnection) -> Result<Html<String>, Error> {
    let mut fortunes = db::fortunes(&mut conn).await?;
    fortunes.push(Fortune::extra());
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    // aspect: template: an askama Template struct, rendered to a String and answered as Html
    Ok(Html(FortunesPage { fortunes }.render()?))
}
// end route

// route: updates
// GET /updates?q=N
async fn updates(
    DbConnection(mut conn): DbConnection,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<World>>, Error> {
    let count = db::query_count(&params);
    let mut worlds = db::random_worlds(&mut conn, count).await?;
    for world in &mut worlds {
        world.random_number = db::random_id();
    }
    db::update_worlds(&mut conn, &mut worlds).await?;
    Ok(Json(worlds))
}
// end route

/// The `/fortunes` page: askama compiles `templates/fortunes.html`, escaping HTML, into `render`.
#[derive(Template)]
#[template(path = "fortunes.html")]
struct FortunesPage {
    fortunes: Vec<Fortune>,
}

/// What a handler can fail with; axum turns it into a response through `IntoResponse`.
#[derive(Debug)]
enum Error {
    BadRequest,
    PayloadTooLarge,
    Internal(Box<dyn std::error::Error + Send + Sync>),
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use axum::http::Uri;
    use axum::response::Response;

    use super::*;

    async fn call(
        method: &str,
        uri: &str,
        hosts: &[&str],
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Response) {
        let mut req = Request::builder().method(method).uri(uri);
        for host in hosts {
            req = req.header(header::HOST, *host);
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let res = app(None)
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        (res.status(), res)
    }

    async fn body_of(res: Response) -> String {
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn handlers_answer_the_contract_in_process() {
        for case in contract::cases() {
            let (status, res) = call(
                case.method,
                &case.path,
                case.host.values(),
                case.content_type,
                case.body.clone(),
            )
            .await;
            assert_eq!(status.as_u16(), case.status, "{}", case.name);
            assert_eq!(res.headers()[header::SERVER], "axum", "{}", case.name);
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                case.response_content_type,
                "{}",
                case.name
            );
            if let Some(allow) = case.allow {
                let got = res
                    .headers()
                    .get(header::ALLOW)
                    .map(|v| v.to_str().unwrap());
                assert_eq!(
                    got.map(conformance::method_set),
                    Some(conformance::method_set(allow)),
                    "{}",
                    case.name
                );
            }
            assert_eq!(
                body_of(res).await.as_bytes(),
                case.response_body,
                "{}",
                case.name
            );
        }
    }

    #[tokio::test]
    async fn without_a_database_the_routes_answer_503() {
        for route in contract::DATABASE_ROUTES {
            let (status, res) = call("GET", route.path, &["localhost"], None, Vec::new()).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{}", route.path);
            assert_eq!(res.headers()[header::SERVER], "axum", "{}", route.path);
            assert_eq!(res.headers()[header::CONTENT_TYPE], contract::TEXT_PLAIN);
            assert_eq!(body_of(res).await, contract::SERVICE_UNAVAILABLE);
        }
    }

    #[test]
    fn the_query_extractor_reads_q_by_the_contract_rule() {
        let mut table = contract::QUERY_COUNT_TABLE.to_vec();
        // Two q's: the last one counts, and the request is not refused.
        table.push((Some("3&q=4"), 4));
        for (q, rows) in table {
            let uri: Uri = match q {
                Some(q) => format!("/queries?q={q}").parse().unwrap(),
                None => "/queries".parse().unwrap(),
            };
            let Query(params) = Query::try_from_uri(&uri).unwrap();
            assert_eq!(db::query_count(&params), rows, "q = {q:?}");
        }
    }
}
