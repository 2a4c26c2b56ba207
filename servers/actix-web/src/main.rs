//! The http-rosetta service on actix-web 4: an `App` of resources, typed extractors configured
//! through `app_data`, and an error type that implements `ResponseError`. The Go article's
//! counterpart is gin.
//!
//! actix runs one single-threaded worker per `--threads`, each with its own copy of the `App`.
//!
//! Run it: `cargo run --release -p server-actix-web -- --addr 127.0.0.1:8085`, then
//! `curl -i http://127.0.0.1:8085/json`.
//!
//! # Layout
//! `main` reads the arguments and calls `serve`; `app` is the App; the handlers follow in contract order, then
//! the error type; tests last. `serve.rs` holds actix's HttpServer until `shutdown_signal`, the
//! head limit, the route helpers `app` uses (GET-and-HEAD resources, the 405); `db.rs` the pool.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpResponse, Responder, ResponseError, middleware, web};
use contract::{Message, User, World};
use startup::ServerArgs;

mod db;
mod serve;

use db::{Count, Db, DbError, FortunesPage};
use serve::{get_and_head, method_not_allowed};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = ServerArgs::parse_for("actix-web");
    let db = Db::new(&args).map_err(std::io::Error::other)?;
    serve::serve(&args, db).await
}

/// The whole service, without a socket: tests drive it with `test::init_service`.
fn app() -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    // aspect: routing: App::service of resources with routes
    App::new()
        .app_data(web::PathConfig::default().error_handler(|_, _| Error::BadRequest.into()))
        .app_data(
            web::JsonConfig::default()
                // aspect: body-limit: JsonConfig::limit, chunked bodies included
                .limit(contract::MAX_BODY_BYTES)
                .error_handler(|err, _| Error::from(err).into()),
        )
        .service(get_and_head("/", plaintext))
        .service(get_and_head("/json", json))
        .service(get_and_head("/html", html))
        .service(get_and_head("/users/{id}", user))
        .service(
            web::resource("/echo")
                .route(web::post().to(echo))
                .default_service(web::to(|| method_not_allowed("POST"))),
        )
        .service(get_and_head("/error", error))
        .service(get_and_head("/db", db))
        .service(get_and_head("/queries", queries))
        .service(get_and_head("/fortunes", fortunes))
        .service(get_and_head("/updates", updates))
        // aspect: not-found: App::default_service
        .default_service(web::to(not_found))
        .wrap(middleware::from_fn(serve::limit_head))
        .wrap(middleware::DefaultHeaders::new().add((header::SERVER, "actix-web")))
}

// route: plaintext
// GET /
async fn plaintext() -> impl Responder {
    HttpResponse::Ok()
        .content_type(contract::TEXT_PLAIN)
        .body(contract::HELLO)
}
// end route

// route: json
// GET /json
async fn json() -> impl Responder {
    web::Json(Message::hello())
}
// end route

// route: html
// GET /html
async fn html() -> impl Responder {
    HttpResponse::Ok()
        .content_type(contract::TEXT_HTML)
        .body(contract::HTML_PAGE)
}
// end route

// route: users
// GET /users/{id}
// aspect: path-parameter: the web::Path<u32> extractor; PathConfig maps its error
async fn user(id: web::Path<u32>) -> impl Responder {
    web::Json(User::new(id.into_inner()))
}
// end route

// route: echo
// POST /echo
// aspect: json-body: the web::Json<Message> extractor
async fn echo(message: web::Json<Message>) -> impl Responder {
    web::Json(message.into_inner())
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
async fn not_found() -> impl Responder {
    HttpResponse::NotFound()
        .content_type(contract::TEXT_PLAIN)
        .body(contract::NOT_FOUND)
}
// end route

// route: db
// GET /db
async fn db(db: web::Data<Db>) -> Result<web::Json<World>, DbError> {
    Ok(web::Json(db.random_world().await?))
}
// end route

// route: queries
// GET /queries?q=N
async fn queries(db: web::Data<Db>, q: web::Query<Count>) -> Result<impl Responder, DbError> {
    let count = contract::query_count(q.q.as_deref());
    Ok(web::Json(db.random_worlds(count).await?))
}
// end route

// route: fortunes
// GET /fortunes
async fn fortunes(db: web::Data<Db>) -> Result<FortunesPage, DbError> {
    let fortunes = db.fortunes().await?;
    Ok(FortunesPage { fortunes })
}
// end route

// route: updates
// GET /updates?q=N
async fn updates(db: web::Data<Db>, q: web::Query<Count>) -> Result<impl Responder, DbError> {
    let count = contract::query_count(q.q.as_deref());
    Ok(web::Json(db.update_worlds(count).await?))
}
// end route

/// What a handler or an extractor can fail with; actix turns it into a response through
/// `ResponseError`.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("bad request")]
    BadRequest,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

// aspect: error-500: impl ResponseError: handlers return Result and use ?
impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            Self::BadRequest => contract::BAD_REQUEST,
            Self::PayloadTooLarge => contract::PAYLOAD_TOO_LARGE,
            Self::Internal(cause) => {
                if startup::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                contract::INTERNAL_SERVER_ERROR
            }
        };
        HttpResponse::build(self.status_code())
            .content_type(contract::TEXT_PLAIN)
            .body(body)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test;

    use super::*;

    #[actix_web::test]
    async fn handlers_answer_the_contract_in_process() {
        let service = test::init_service(app().app_data(no_database())).await;
        // actix-http applies the Host rules while parsing, before the App: see
        // contract::DEVIATIONS, pinned on the wire by the conformance suite.
        let cases = contract::cases().into_iter();
        for case in cases.filter(|case| case.host == contract::HostHeader::One) {
            let mut req = test::TestRequest::default()
                .method(case.method.parse().unwrap())
                .uri(&case.path)
                .set_payload(case.body.clone());
            if let Some(ct) = case.content_type {
                req = req.insert_header((header::CONTENT_TYPE, ct));
            }
            let res = test::call_service(&service, req.to_request()).await;
            assert_eq!(res.status().as_u16(), case.status, "{}", case.name);
            assert_eq!(
                res.headers().get(header::SERVER).unwrap(),
                "actix-web",
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

    fn no_database() -> web::Data<Db> {
        web::Data::new(Db::default())
    }

    #[actix_web::test]
    async fn without_a_database_the_routes_answer_503() {
        let service = test::init_service(app().app_data(no_database())).await;
        for route in contract::DATABASE_ROUTES {
            let req = test::TestRequest::get().uri(route.path).to_request();
            let res = test::call_service(&service, req).await;
            assert_eq!(
                res.status(),
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                route.path
            );
            assert_eq!(res.headers().get(header::SERVER).unwrap(), "actix-web");
            let content_type = res.headers().get(header::CONTENT_TYPE).unwrap();
            assert_eq!(content_type, contract::TEXT_PLAIN, "{}", route.path);
            assert_eq!(test::read_body(res).await, contract::SERVICE_UNAVAILABLE);
        }
    }

    #[actix_web::test]
    async fn the_query_extractor_follows_the_q_rule() {
        for (q, count) in contract::QUERY_COUNT_TABLE {
            let query = q.map(|q| format!("q={q}")).unwrap_or_default();
            let extracted = web::Query::<Count>::from_query(&query).unwrap();
            let counted = contract::query_count(extracted.q.as_deref());
            assert_eq!(counted, *count, "?{query}");
        }
    }
}
