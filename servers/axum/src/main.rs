//! The http-rosetta service on axum 0.8: a `Router` of method routers, extractors for the path
//! and the JSON body, and an error enum that implements `IntoResponse` so handlers can use `?`.
//! The Go article's counterpart is echo.
//!
//! Run it: `cargo run --release -p server-axum -- --addr 127.0.0.1:8084`, then
//! `curl -i http://127.0.0.1:8084/json`.
//!
//! # Layout
//! `main` builds the runtime, binds and calls `serve`; `app` is the Router; the handlers follow
//! in contract order, then the error type; tests last. `serve.rs` holds hyper-util's accept loop
//! until `shutdown_signal`, and the Host check that `app` layers in.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::{Message, User};
use startup::ServerArgs;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

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
        startup::print_ready_line(addr);
        serve::serve(listener, app(), args.header_timeout, shutdown).await;
    });
}

/// The whole service, without a socket: tests drive it with `oneshot`.
fn app() -> Router {
    // aspect: routing: Router::route with method routers
    Router::new()
        .route("/", get(plaintext))
        .route("/json", get(json))
        .route("/html", get(html))
        .route("/users/{id}", get(user))
        .route("/echo", post(echo))
        .route("/error", get(error))
        // aspect: not-found: Router::fallback
        .fallback(not_found)
        // axum adds the `Allow` header to this answer itself.
        .method_not_allowed_fallback(method_not_allowed)
        // aspect: body-limit: the DefaultBodyLimit layer, which the Json extractor obeys
        .layer(DefaultBodyLimit::max(contract::MAX_BODY_BYTES))
        .layer(middleware::from_fn(serve::check_host))
        .layer(SetResponseHeaderLayer::overriding(
            header::SERVER,
            HeaderValue::from_static("axum"),
        ))
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

async fn method_not_allowed() -> (StatusCode, &'static str) {
    (StatusCode::METHOD_NOT_ALLOWED, contract::METHOD_NOT_ALLOWED)
}

/// What a handler can fail with; axum turns it into a response through `IntoResponse`.
#[derive(Debug)]
enum Error {
    BadRequest,
    PayloadTooLarge,
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl From<PathRejection> for Error {
    fn from(_: PathRejection) -> Self {
        Self::BadRequest
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        // The body limit shows up as a JSON rejection whose status is 413.
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::PayloadTooLarge
        } else {
            Self::BadRequest
        }
    }
}

// aspect: error-500: impl IntoResponse: handlers return Result and use ?
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::BadRequest => (StatusCode::BAD_REQUEST, contract::BAD_REQUEST),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, contract::PAYLOAD_TOO_LARGE),
            Self::Internal(cause) => {
                if startup::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    contract::INTERNAL_SERVER_ERROR,
                )
            }
        };
        (status, body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

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
        let res = app()
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
            if case.allow.is_some() {
                assert!(res.headers().contains_key(header::ALLOW), "{}", case.name);
            }
            assert_eq!(
                body_of(res).await.as_bytes(),
                case.response_body,
                "{}",
                case.name
            );
        }
    }
}
