//! The http-rosetta service on ntex 3: actix-web's sibling, rebuilt for speed by one of
//! actix's authors. The code reads like actix-web (an `App` of resources, typed extractors, an
//! error type that renders itself), but underneath are ntex's own runtime (neon: one
//! single-threaded event loop per worker on epoll, no tokio), its own buffers and its own HTTP/1
//! codec.
//! The Go article's closest idea is gin, as for actix-web. The database routes use
//! deadpool-postgres over tokio-postgres, on a tokio runtime of their own, and askama.
//!
//! Run it: `cargo run --release -p server-ntex -- --addr 127.0.0.1:8087`, then
//! `curl -i http://127.0.0.1:8087/json`.
//!
//! # Layout
//! `main` binds, starts `serve` and waits; `app` is the App; the handlers follow in contract
//! order, then the error type; tests last. `serve.rs` holds ntex's HttpServer with one worker per
//! `--threads`, stopped by `shutdown_signal`, the Host middleware of the request rules, and the
//! route helpers `app` uses (`get`, `method_not_allowed`), how `Error` renders; `db.rs` the DB.

use std::collections::HashMap;

use contract::{Message, User, World};
use db::{Db, DbError, FortunesPage};
use ntex::SharedCfg;
use ntex::http::header;
use ntex::service::ServiceFactory;
use ntex::web::error::{JsonPayloadError, PathError};
use ntex::web::middleware::DefaultHeaders;
use ntex::web::types::{Json, JsonConfig, Path, Query, State};
use ntex::web::{self, App, DefaultError, HttpResponse, WebRequest};
use startup::ServerArgs;

use crate::serve::{Middleware, RequestRules, get, method_not_allowed};

mod db;
mod serve;

#[ntex::main(ping_interval = 0)] // no worker pings: they could panic a SIGTERM (README)
async fn main() -> std::io::Result<()> {
    let args = ServerArgs::parse_for("ntex");
    let listener = startup::bind_listener(args.addr).expect("cannot bind the address");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let db = Db::new(&args).map_err(std::io::Error::other)?;
    let server = serve::serve(listener, args.threads(), args.header_timeout, db)?;
    // Installed before the ready line, so that a signal sent right after it is not lost.
    serve::shutdown_signal(server.clone());
    startup::print_ready_line(addr);
    server.await
}

/// The whole service, without a socket: tests drive it with `test::init_service`. Without a
/// pool in `db` the database routes answer 503.
fn app(
    db: Db,
) -> App<
    Middleware,
    impl ServiceFactory<
        WebRequest<DefaultError>,
        SharedCfg,
        Response = WebRequest<DefaultError>,
        Error = web::Error,
        InitError = (),
    >,
    DefaultError,
> {
    App::new()
        // aspect: body-limit: JsonConfig::limit, kept as app state for the Json extractor
        .state(JsonConfig::default().limit(contract::MAX_BODY_BYTES))
        // aspect: pool: App::state(Db): each worker's App holds a clone of the one pool
        .state(db)
        // aspect: routing: App::service of resources, a route per method
        .service(get("/", plaintext))
        .service(get("/json", json))
        .service(get("/html", html))
        .service(get("/users/{id}", user))
        .service(
            web::resource("/echo")
                .route(web::post().to(echo))
                .default_service(web::to(|| method_not_allowed("POST"))),
        )
        .service(get("/error", error))
        .service(get("/db", single_query))
        .service(get("/queries", queries))
        .service(get("/fortunes", fortunes))
        .service(get("/updates", updates))
        // aspect: not-found: App::default_service
        .default_service(web::to(not_found))
        // The last middleware is the outermost: the Server header goes on RequestRules' 400 too.
        .middleware(RequestRules)
        .middleware(DefaultHeaders::new().header(header::SERVER, "ntex"))
}

// route: plaintext
// GET /
async fn plaintext() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(contract::TEXT_PLAIN)
        .body(contract::HELLO)
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
async fn html() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(contract::TEXT_HTML)
        .body(contract::HTML_PAGE)
}
// end route

// route: users
// GET /users/{id}
// aspect: path-parameter: the Path<u32> extractor taken as a Result; its error becomes our 400
async fn user(id: Result<Path<u32>, PathError>) -> Result<Json<User>, Error> {
    let id = id?.into_inner();
    Ok(Json(User::new(id)))
}
// end route

// route: echo
// POST /echo
// aspect: json-body: the Json<Message> extractor taken as a Result
async fn echo(message: Result<Json<Message>, JsonPayloadError>) -> Result<Json<Message>, Error> {
    Ok(Json(message?.into_inner()))
}
// end route

// route: error
// GET /error
async fn error() -> Result<HttpResponse, Error> {
    Err(Error::Internal("this route always fails".into()))
}
// end route

// route: not-found
// any other path
async fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type(contract::TEXT_PLAIN)
        .body(contract::NOT_FOUND)
}
// end route

// route: db
// GET /db
async fn single_query(db: State<Db>) -> Result<Json<World>, DbError> {
    Ok(Json(db.random_world().await?))
}
// end route

// route: queries
// GET /queries?q=N
async fn queries(
    db: State<Db>,
    params: Query<HashMap<String, String>>,
) -> Result<Json<Vec<World>>, DbError> {
    Ok(Json(db.random_worlds(db::query_count(&params)).await?))
}
// end route

// route: fortunes
// GET /fortunes
async fn fortunes(db: State<Db>) -> Result<FortunesPage, DbError> {
    let fortunes = db.fortunes().await?;
    Ok(FortunesPage { fortunes })
}
// end route

// route: updates
// GET /updates?q=N
async fn updates(
    db: State<Db>,
    params: Query<HashMap<String, String>>,
) -> Result<Json<Vec<World>>, DbError> {
    Ok(Json(db.update_worlds(db::query_count(&params)).await?))
}
// end route

/// What a handler, an extractor or the filter can fail with; ntex renders it through
/// `WebResponseError`.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("bad request")]
    BadRequest,
    /// A body whose length cannot be trusted: 400, and the connection closed after it.
    #[error("bad request framing")]
    BadFraming,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

#[cfg(test)]
mod tests {
    use ntex::web::test;

    use super::*;

    #[ntex::test]
    async fn handlers_answer_the_contract_in_process() {
        let service = test::init_service(app(Db::default())).await;
        for case in contract::cases() {
            let mut req = test::TestRequest::default()
                .method(case.method.parse().unwrap())
                .uri(&case.path)
                .set_payload(case.body.clone());
            for host in case.host.values() {
                req = req.header(header::HOST, *host);
            }
            if let Some(ct) = case.content_type {
                req = req.header(header::CONTENT_TYPE, ct);
            }
            let res = test::call_service(&service, req.to_request()).await;
            assert_eq!(res.status().as_u16(), case.status, "{}", case.name);
            assert_eq!(
                res.headers().get(header::SERVER).unwrap(),
                "ntex",
                "{}",
                case.name
            );
            assert_eq!(
                res.headers().get(header::CONTENT_TYPE).unwrap(),
                case.response_content_type,
                "{}",
                case.name
            );
            if let Some(allow) = case.allow {
                assert_eq!(
                    res.headers().get(header::ALLOW).unwrap(),
                    allow,
                    "{}",
                    case.name
                );
            }
            // The in-process service does not strip HEAD bodies; the codec does on the wire.
            if case.method != "HEAD" {
                assert_eq!(
                    test::read_body(res).await,
                    case.response_body,
                    "{}",
                    case.name
                );
            }
        }
    }

    #[ntex::test]
    async fn without_a_database_the_routes_answer_503() {
        let service = test::init_service(app(Db::default())).await;
        for route in contract::DATABASE_ROUTES {
            let req = test::TestRequest::with_uri(route.path)
                .header(header::HOST, "localhost")
                .to_request();
            let res = test::call_service(&service, req).await;
            assert_eq!(res.status().as_u16(), 503, "{}", route.path);
            assert_eq!(res.headers().get(header::SERVER).unwrap(), "ntex");
            assert_eq!(
                res.headers().get(header::CONTENT_TYPE).unwrap(),
                contract::TEXT_PLAIN
            );
            assert_eq!(test::read_body(res).await, contract::SERVICE_UNAVAILABLE);
        }
    }
}
