//! The http-rosetta service on ntex 3: actix-web's sibling, rebuilt for speed by one of
//! actix's authors. The code reads like actix-web (an `App` of resources, typed extractors, an
//! error type that renders itself), but underneath are ntex's own runtime (neon: one
//! single-threaded event loop per worker, no tokio), its own buffers and its own HTTP/1 codec.
//! The Go article's closest idea is gin, as for actix-web.
//!
//! Run it: `cargo run --release -p server-ntex -- --addr 127.0.0.1:8087`, then
//! `curl -i http://127.0.0.1:8087/json`.
//!
//! # Layout
//! `main` binds, starts `serve` and waits; `app` is the App; the handlers follow in contract
//! order, then the error type; tests last. `serve.rs` holds ntex's HttpServer with one worker per
//! `--threads`, stopped by `shutdown_signal`, the Host middleware of the request rules, and the
//! route helpers `app` uses (`get`, `method_not_allowed`).

use contract::{Message, User};
use ntex::SharedCfg;
use ntex::http::{StatusCode, header};
use ntex::service::ServiceFactory;
use ntex::web::error::{JsonPayloadError, PathError};
use ntex::web::middleware::DefaultHeaders;
use ntex::web::types::{Json, JsonConfig, Path};
use ntex::web::{self, App, DefaultError, HttpRequest, HttpResponse, WebRequest, WebResponseError};
use startup::ServerArgs;

use crate::serve::{Middleware, RequestRules, get, method_not_allowed};

mod serve;

#[ntex::main]
async fn main() -> std::io::Result<()> {
    let args = ServerArgs::parse_for("ntex");
    let listener = startup::bind_listener(args.addr).expect("cannot bind the address");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let server = serve::serve(listener, args.threads(), args.header_timeout)?;
    // Installed before the ready line, so that a signal sent right after it is not lost.
    serve::shutdown_signal(server.clone());
    startup::print_ready_line(addr);
    server.await
}

/// The whole service, without a socket: tests drive it with `test::init_service`.
fn app() -> App<
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

impl From<PathError> for Error {
    fn from(_: PathError) -> Self {
        Self::BadRequest
    }
}

impl From<JsonPayloadError> for Error {
    fn from(err: JsonPayloadError) -> Self {
        match err {
            JsonPayloadError::Overflow => Self::PayloadTooLarge,
            _ => Self::BadRequest,
        }
    }
}

// aspect: error-500: impl WebResponseError: handlers return Result and use ?
impl WebResponseError<DefaultError> for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest | Self::BadFraming => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self, _: &HttpRequest) -> HttpResponse {
        let body = match self {
            Self::BadRequest | Self::BadFraming => contract::BAD_REQUEST,
            Self::PayloadTooLarge => contract::PAYLOAD_TOO_LARGE,
            Self::Internal(cause) => {
                if startup::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                contract::INTERNAL_SERVER_ERROR
            }
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Self::BadFraming = self {
            // The rest of the connection's bytes cannot be framed: nothing more is read.
            response.force_close();
        }
        response.content_type(contract::TEXT_PLAIN).body(body)
    }
}

#[cfg(test)]
mod tests {
    use ntex::web::test;

    use super::*;

    #[ntex::test]
    async fn handlers_answer_the_contract_in_process() {
        let service = test::init_service(app()).await;
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
}
