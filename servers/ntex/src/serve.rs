//! The connection side of server-ntex: ntex's `HttpServer` with its header timeout and head
//! limit, graceful shutdown on SIGINT or SIGTERM, and the rules of a request head that ntex leaves
//! to the application (Host, Transfer-Encoding), as a middleware that `app` wraps, and the route
//! helpers `app` uses ([`get`], [`method_not_allowed`]). `main.rs` calls [`serve`].

use std::time::Duration;

use ntex::SharedCfg;
use ntex::http::StatusCode;
use ntex::http::{HttpServiceConfig, Version, header};
use ntex::server::Server;
use ntex::service::{Identity, Service, ServiceCtx};
use ntex::time::Seconds;
use ntex::web::error::{JsonPayloadError, PathError};
use ntex::web::middleware::DefaultHeaders;
use ntex::web::stack::WebStack;
use ntex::web::{
    self, DefaultError, HttpRequest, HttpResponse, WebRequest, WebResponse, WebResponseError,
};

use crate::Error;
use crate::db::Db;

/// The App's middleware: the request rules (Host, Transfer-Encoding), with the Server header
/// around them.
pub type Middleware =
    WebStack<WebStack<Identity, RequestRules, DefaultError>, DefaultHeaders, DefaultError>;

/// The rules of RFC 9112 that ntex leaves to the application: an HTTP/1.1 request has exactly
/// one `Host` line, an HTTP/1.0 one at most one (3.2), and a `Transfer-Encoding` ends in chunked
/// (6.1). A middleware, so that the 400 is an ordinary answer.
#[derive(Debug)]
pub struct RequestRules;

impl<S> ntex::service::Middleware<S, SharedCfg> for RequestRules {
    type Service = RequestRulesService<S>;

    fn create(&self, service: S, _: SharedCfg) -> Self::Service {
        RequestRulesService { service }
    }
}

/// [`RequestRules`] in front of the service it wraps.
#[derive(Debug)]
pub struct RequestRulesService<S> {
    service: S,
}

impl<S> Service<WebRequest<DefaultError>> for RequestRulesService<S>
where
    S: Service<WebRequest<DefaultError>, Response = WebResponse, Error = web::Error>,
{
    type Response = WebResponse;
    type Error = web::Error;

    ntex::forward_ready!(service);

    async fn call(
        &self,
        req: WebRequest<DefaultError>,
        ctx: ServiceCtx<'_, Self>,
    ) -> Result<WebResponse, web::Error> {
        let hosts = req.headers().get_all(header::HOST).count();
        if hosts > 1 || (hosts == 0 && req.version() >= Version::HTTP_11) {
            return Ok(req.render_error(&Error::BadRequest));
        }
        // RFC 9112, 6.1: a Transfer-Encoding whose last coding is not chunked leaves the body's
        // length unknown: 400, then close. ntex's parser refuses every coding but chunked and
        // `identity`, which it lets through and then frames by Content-Length (or as no body).
        let final_coding = (req.headers().get_all(header::TRANSFER_ENCODING).last())
            .map(|value| value.to_str().ok().and_then(|v| v.rsplit(',').next()));
        if let Some(coding) = final_coding
            && !coding.is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"))
        {
            // `Connection: close` alone does not stop ntex serving requests pipelined behind
            // this one (RFC 9112, 9.6 says it MUST NOT): close the connection itself, after
            // this answer.
            if let Some(io) = req.io() {
                io.close();
            }
            return Ok(req.render_error(&Error::BadFraming));
        }
        ctx.call(&self.service, req).await
    }
}

/// Starts `threads` workers on `listener`, each with its own copy of the app; the returned
/// `Server` completes once it has stopped.
pub fn serve(
    listener: std::net::TcpListener,
    threads: usize,
    header_timeout: Duration,
    db: Db,
) -> std::io::Result<Server> {
    // aspect: connection-errors: ntex logs them through `log`; env_logger prints them
    if startup::log_requests() {
        env_logger::Builder::new()
            .filter_module("ntex::http", log::LevelFilter::Debug)
            .init();
    }
    // ntex counts timeouts in whole seconds: round up, never to zero.
    let seconds = header_timeout.as_secs_f64().ceil() as u64;
    let header_timeout = Seconds(u16::try_from(seconds).unwrap_or(u16::MAX).max(1));
    let http = HttpServiceConfig::new()
        // aspect: header-timeout: headers_read_rate: the head must arrive within the timeout, never extended
        .set_headers_read_rate(header_timeout, header_timeout, 256)
        .set_max_buf_size(contract::MAX_HEAD_BYTES);
    Ok(web::HttpServer::new(async move || crate::app(db.clone()))
        .workers(threads)
        .config(SharedCfg::new("http-rosetta").add(http))
        // ntex makes SIGINT a forced stop; the contract wants both signals graceful.
        .disable_signals()
        .shutdown_timeout(Seconds(contract::SHUTDOWN_GRACE.as_secs() as u16))
        .listen(listener)?
        .run())
}

/// On the first SIGINT or SIGTERM, stop accepting and give in-flight requests the grace period.
/// ntex's runtime has no signal stream of its own that leaves SIGINT graceful, so a thread of
/// signal-hook waits for them.
pub fn shutdown_signal(server: Server) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            // aspect: graceful-shutdown: Server::stop(true): stop accepting, drain within shutdown_timeout
            let _stopping = server.stop(true);
        }
    });
}

/// A 405 that lists the methods the path takes.
pub async fn method_not_allowed(allow: &'static str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .content_type(contract::TEXT_PLAIN)
        .header(header::ALLOW, allow)
        .body(contract::METHOD_NOT_ALLOWED)
}

/// A resource that answers GET and HEAD with `handler` (ntex strips the body from HEAD
/// answers) and any other method with a 405.
pub fn get<F, Args>(path: &str, handler: F) -> web::Resource<DefaultError>
where
    F: web::Handler<Args, DefaultError> + Clone + 'static,
    Args: web::FromRequest<DefaultError> + 'static,
    Args::Error: Into<web::Error>,
{
    web::resource(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
        .default_service(web::to(|| method_not_allowed("GET, HEAD")))
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
