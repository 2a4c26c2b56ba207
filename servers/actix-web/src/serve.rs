//! The connection side of server-actix-web: actix's `HttpServer` with its header timeout and
//! graceful shutdown on SIGINT or SIGTERM, and the limit on a request head that actix-http does
//! not let us lower, and the route helpers `app` uses ([`get_and_head`], [`method_not_allowed`]).
//! `main.rs` calls [`serve`] with the pool; `app` wraps [`limit_head`].

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::JsonPayloadError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, HttpServer, Resource, Responder, ResponseError, middleware, web};
use startup::ServerArgs;
use tokio::signal::unix::{SignalKind, signal};

/// actix-http's own limit on a request head is 128 KiB and cannot be lowered, so heads over the
/// contract's limit are refused here, as the other servers do (431).
pub async fn limit_head(
    req: ServiceRequest,
    next: middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    let headers: usize = (req.headers().iter())
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if target + headers > contract::MAX_HEAD_BYTES {
        let response = HttpResponse::build(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
            .content_type(contract::TEXT_PLAIN)
            .body("Request Header Fields Too Large");
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Binds `--addr`, prints the ready line and serves `app`, every worker's with the same `db`,
/// with one worker per `--threads` until SIGINT or SIGTERM, then lets open connections finish
/// (within the grace period).
pub async fn serve(args: &ServerArgs, db: crate::db::Db) -> std::io::Result<()> {
    let listener = startup::bind_listener(args.addr).expect("cannot bind the address");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    // Installed before the ready line, so that a signal sent right after it is not lost.
    let shutdown = shutdown_signal();
    startup::print_ready_line(addr);
    // aspect: connection-errors: actix-http logs them through `log`; env_logger prints them
    if startup::log_requests() {
        env_logger::Builder::new()
            .filter_module("actix_http::h1::dispatcher", log::LevelFilter::Trace)
            .init();
    }
    let db = web::Data::new(db);
    // aspect: pool: web::Data<Db> in each worker's App data, all sharing one deadpool Pool
    HttpServer::new(move || crate::app().app_data(db.clone()))
        .workers(args.threads())
        // Small responses go out at once, not after Nagle's ~40 ms delay.
        .tcp_nodelay(true)
        // aspect: header-timeout: client_request_timeout; actix answers 408
        .client_request_timeout(args.header_timeout)
        // aspect: graceful-shutdown: HttpServer::shutdown_signal (actix alone treats SIGINT as a forced stop)
        .shutdown_signal(shutdown)
        .shutdown_timeout(contract::SHUTDOWN_GRACE.as_secs())
        .listen(listener)?
        .run()
        .await
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this
/// is called, not when the future is first polled.
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let mut interrupt = signal(SignalKind::interrupt()).expect("cannot install a SIGINT handler");
    let mut terminate = signal(SignalKind::terminate()).expect("cannot install a SIGTERM handler");
    async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }
}

/// A 405 that lists the methods the path takes.
pub async fn method_not_allowed(allow: &'static str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .content_type(contract::TEXT_PLAIN)
        .insert_header((header::ALLOW, allow))
        .body(contract::METHOD_NOT_ALLOWED)
}

/// A resource that answers GET and HEAD with `handler` (actix strips the body from HEAD
/// answers) and any other method with a 405.
pub fn get_and_head<F, Args>(path: &str, handler: F) -> Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
        .default_service(web::to(|| method_not_allowed("GET, HEAD")))
}

impl From<JsonPayloadError> for crate::Error {
    fn from(err: JsonPayloadError) -> Self {
        // The body limit shows up as a JSON error whose status is 413.
        if err.status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::PayloadTooLarge
        } else {
            Self::BadRequest
        }
    }
}
