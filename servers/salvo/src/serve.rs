//! The connection side of server-salvo: salvo's `Server` with its header timeout, head limit and
//! pipelined flushing, graceful shutdown on SIGINT or SIGTERM, and the hoops that `app` installs
//! around every request: the Host rule, the `Server` header and the length of HEAD answers; and
//! [`render_json`], for the contract's JSON content type; how the handlers' `Error` is written.
//! `main.rs` calls [`serve`].

use std::time::Duration;

use salvo::conn::tcp::TcpAcceptor;
use salvo::fuse::FuseConfig;
use salvo::http::header::{self, HeaderValue};
use salvo::http::{Method, ParseError, Request, Response, StatusCode};
use salvo::prelude::{Json, Text};
use salvo::{Depot, FlowCtrl, Server, Service, Writer, async_trait, handler};
use serde::Serialize;
use tokio::signal::unix::{SignalKind, signal};

/// What a handler can fail with; salvo writes it through `Writer` (at the end of this file).
#[derive(Debug)]
pub enum Error {
    BadRequest,
    PayloadTooLarge,
    Internal(Box<dyn std::error::Error + Send + Sync>),
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
}

/// RFC 9112, 3.2: an HTTP/1.1 request without a `Host` line, or any request with two, is a 400.
#[handler]
pub async fn host_rules(req: &mut Request, res: &mut Response, ctrl: &mut FlowCtrl) {
    let hosts = req.headers().get_all(header::HOST).iter().count();
    let http11 = req.version() == salvo::http::Version::HTTP_11;
    if hosts > 1 || (hosts == 0 && http11) {
        Error::BadRequest.render(res);
        ctrl.skip_rest();
    }
}

/// The bound listener as salvo's acceptor, on the tokio runtime this is called in.
pub fn acceptor(listener: std::net::TcpListener) -> std::io::Result<TcpAcceptor> {
    listener.set_nonblocking(true)?;
    TcpAcceptor::try_from(tokio::net::TcpListener::from_std(listener)?)
}

/// Serves `app` until `shutdown` completes, then lets open connections finish (within the grace
/// period).
pub async fn serve(
    listener: TcpAcceptor,
    app: Service,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    // aspect: connection-errors: salvo reports them as tracing events; a subscriber prints them
    if startup::log_requests() {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let connections = tracing_subscriber::filter::Targets::new()
            .with_target("salvo_core::conn", tracing::Level::DEBUG);
        let print = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
        tracing_subscriber::registry()
            .with(print)
            .with(connections)
            .init();
    }
    // aspect: header-timeout: FuseConfig's HTTP/1 header timeout (it also bounds the first read)
    let fuse = FuseConfig::default().with_http1_header_timeout(header_timeout);
    let mut server = Server::new(listener).fuse_config(fuse);
    // A huge head is refused with 431. salvo's listener leaves Nagle's algorithm on, so
    // pipelined answers go out in one write, not one delayed write each (see the README).
    server
        .http1_mut()
        .max_buf_size(contract::MAX_HEAD_BYTES)
        .pipeline_flush(true);
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown.await;
        // aspect: graceful-shutdown: ServerHandle::stop_graceful, bounded by the grace period
        handle.stop_graceful(Some(contract::SHUTDOWN_GRACE));
    });
    server.serve(app).await;
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this
/// is called, not when the future is first polled.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let mut interrupt = signal(SignalKind::interrupt()).expect("cannot install a SIGINT handler");
    let mut terminate = signal(SignalKind::terminate()).expect("cannot install a SIGTERM handler");
    async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }
}
/// Every answer names the server.
#[handler]
pub async fn server_header(res: &mut Response) {
    res.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("salvo"));
}

/// salvo drops the body of a HEAD answer, and with it the `Content-Length` that the GET answer
/// has; RFC 9110, 9.3.2 says HEAD answers carry the GET's fields, so it is set from the body.
#[handler]
pub async fn head_length(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    ctrl.call_next(req, depot, res).await;
    if req.method() == Method::HEAD
        && let Some(length) = res.body.size()
    {
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
}

/// salvo's `Json` says `application/json; charset=utf-8`; the contract says `application/json`,
/// and salvo keeps a content type that is already set.
pub fn render_json(res: &mut Response, value: &(impl Serialize + Sync)) {
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(contract::APPLICATION_JSON),
    );
    res.render(Json(value));
}

impl From<ParseError> for Error {
    fn from(err: ParseError) -> Self {
        match err {
            ParseError::PayloadTooLarge => Self::PayloadTooLarge,
            _ => Self::BadRequest,
        }
    }
}

impl Error {
    fn render(self, res: &mut Response) {
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
            Self::Unavailable(cause) => {
                if startup::log_requests() {
                    eprintln!("503 Service Unavailable: {cause}");
                }
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    contract::SERVICE_UNAVAILABLE,
                )
            }
        };
        res.status_code(status);
        res.render(Text::Plain(body));
    }
}

// aspect: error-500: impl Writer for the error: handlers return Result and use ?
#[async_trait]
impl Writer for Error {
    async fn write(self, _req: &mut Request, _depot: &mut Depot, res: &mut Response) {
        self.render(res);
    }
}
