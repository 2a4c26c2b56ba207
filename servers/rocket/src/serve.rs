//! The connection side of server-rocket: its `Config` from the command line, launching the Rocket
//! until the shutdown signal, the rules on a request head that Rocket leaves to the application
//! (its size, the Host rule), run by the fairing that `app` attaches, the fairing that prints the
//! ready line, the error's response, and the exit code. `main.rs` calls [`config`] and [`serve`].

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rocket::config::{Config, Ident, LogLevel, Shutdown};
use rocket::data::{Limits, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::fs::relative;
use rocket::http::{ContentType, Header, Status};
use rocket::serde::json::Error as JsonError;
use rocket::{Build, Orbit, Request, Rocket, catch};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

use crate::Error;

/// Rocket's settings, from the command line rather than Rocket.toml.
pub fn config(addr: SocketAddr, threads: usize) -> Figment {
    // Shutdown: `grace` for requests in flight, then `mercy` for connections to close (Rocket's
    // `config::Shutdown` docs). The contract lets requests in flight run SHUTDOWN_GRACE, so that
    // is the grace (Rocket's default is 2 s). Mercy is for a close handshake such as TLS's
    // close_notify, which plain TCP has none of: 0, so that Rocket's worst case (grace, mercy,
    // then 1 s for runaway I/O) stays within the SHUTDOWN_GRACE + 2 s the suites wait. The
    // signals are ours (see `serve`): Rocket would install its handlers after the ready line.
    let shutdown = Shutdown {
        ctrlc: false,
        signals: HashSet::new(),
        grace: contract::SHUTDOWN_GRACE.as_secs() as u32,
        mercy: 0,
        ..Shutdown::default()
    };
    let config = Config {
        address: addr.ip(),
        port: addr.port(),
        workers: threads,
        ident: Ident::try_new("rocket").expect("a valid Server header"),
        // aspect: body-limit: Limits: the "json" limit that the Json guard reads up to
        limits: Limits::default().limit("json", contract::MAX_BODY_BYTES.bytes()),
        shutdown,
        // aspect: connection-errors: Rocket's own log, which reports them; off unless ROSETTA_LOG
        log_level: match startup::log_requests() {
            true => LogLevel::Normal,
            false => LogLevel::Off,
        },
        cli_colors: false,
        ..Config::release_default()
    };
    // The templates' folder is the crate's, wherever the server is started from.
    Figment::from(config).merge(("template_dir", relative!("templates")))
}

/// What Rocket leaves to the application: a head over the contract's size is a 431 (hyper's own
/// buffer allows about 400 KiB and Rocket cannot lower it), and, RFC 9112, 3.2, a request
/// without a `Host` line or with two is a 400. Rocket does not tell a request's HTTP version, so
/// an HTTP/1.0 one needs its `Host` too.
pub fn head_rules(req: &Request<'_>) -> Result<(), Error> {
    let head_bytes: usize = req.uri().to_string().len()
        + req
            .headers()
            .iter()
            .map(|h| h.name().as_str().len() + h.value().len() + 4)
            .sum::<usize>();
    if head_bytes > contract::MAX_HEAD_BYTES {
        return Err(Error::HeadTooLarge);
    }
    if req.headers().get("Host").count() != 1 {
        return Err(Error::BadRequest);
    }
    Ok(())
}

/// The fairing that runs [`head_rules`] on every request and answers a refusal instead.
pub fn head_rules_fairing() -> AdHoc {
    AdHoc::on_response("request head rules", |req, res| {
        Box::pin(async move {
            if let Err(refusal) = head_rules(req) {
                let _ = res.body_mut().take();
                res.merge(refusal.response());
            }
        })
    })
}

/// The fairing that prints the ready line at liftoff, once Rocket listens.
pub fn ready_line() -> AdHoc {
    AdHoc::on_liftoff("ready line", |rocket| {
        Box::pin(async move {
            let config = rocket.config();
            startup::print_ready_line(SocketAddr::new(config.address, config.port));
        })
    })
}

/// Launches `app` and waits until `shutdown` has shut it down: Rocket's `Shutdown` handle stops
/// accepting and lets requests finish within the grace and mercy periods.
pub async fn serve(
    app: Rocket<Build>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> ExitCode {
    let rocket = match app.ignite().await {
        Ok(rocket) => rocket,
        Err(err) => return failed(&err),
    };
    let handle = rocket.shutdown();
    let (signalled, signalled_at) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        shutdown.await;
        let _ = signalled.send(Instant::now());
        // aspect: graceful-shutdown: Shutdown::notify, then grace and mercy from Config
        handle.notify();
    });
    // aspect: header-timeout: none: Rocket turns hyper's header read timeout off (a known deviation)
    match rocket.launch().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            if let rocket::error::ErrorKind::Shutdown(rocket, _) = err.kind() {
                let since = signalled_at.await.ok();
                drain(rocket, since).await;
            }
            failed(&err)
        }
    }
}

/// Waits until no connection holds the Rocket any more, or the grace period since the signal
/// has passed. Rocket 0.5.2's `http_server` can return as soon as its accept loop ends, without
/// waiting: its `select!` polls the `Shutdown` future first (`biased`), but the signal may trip
/// it from another worker thread between that poll and the poll of the accept loop, which then
/// ends first; that branch ("Server shutdown nominally") returns `Error::shutdown` at once when
/// a connection still holds an `Arc` of the Rocket. The connections' tasks go on running on the
/// runtime (Rocket's grace and mercy still bound them), so waiting here lets them finish.
async fn drain(rocket: &Arc<Rocket<Orbit>>, signalled: Option<Instant>) {
    let deadline = signalled.unwrap_or_else(Instant::now) + contract::SHUTDOWN_GRACE;
    while Arc::strong_count(rocket) > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The exit code of a Rocket that failed to ignite or launch, or ended by the shutdown.
fn failed(err: &rocket::Error) -> ExitCode {
    match err.kind() {
        // Connections that outlived grace and mercy were cut: still the shutdown asked for.
        rocket::error::ErrorKind::Shutdown(..) => ExitCode::SUCCESS,
        _ => {
            eprintln!("server-rocket: {err}");
            ExitCode::FAILURE
        }
    }
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

/// Whether a route's path (`/users/<id>`) matches a request path segment by segment.
pub fn path_matches(route: &str, path: &str) -> bool {
    let (route, path) = (route.split('/'), path.split('/'));
    route.clone().count() == path.clone().count()
        && route
            .zip(path)
            .all(|(r, p)| r == p || (r.starts_with('<') && !p.is_empty()))
}

/// Whatever else Rocket refuses (a malformed request, an oversized form): the reason phrase, as
/// plain text.
#[catch(default)]
pub fn other_errors(status: Status, _req: &Request<'_>) -> (Status, &'static str) {
    (status, status.reason().unwrap_or("Error"))
}

impl From<JsonError<'_>> for Error {
    fn from(err: JsonError<'_>) -> Self {
        match err {
            // The Json guard reports a body over the limit as a read that ended early.
            JsonError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Self::PayloadTooLarge
            }
            _ => Self::BadRequest,
        }
    }
}

// aspect: error-500: impl Responder for the error: handlers return Result and use ?
impl<'r> rocket::response::Responder<'r, 'static> for Error {
    fn respond_to(self, _req: &'r Request<'_>) -> rocket::response::Result<'static> {
        Ok(self.response())
    }
}

impl Error {
    pub(crate) fn response(self) -> rocket::Response<'static> {
        let (status, body) = match &self {
            Self::BadRequest => (Status::BadRequest, contract::BAD_REQUEST),
            Self::PayloadTooLarge => (Status::PayloadTooLarge, contract::PAYLOAD_TOO_LARGE),
            Self::HeadTooLarge => (
                Status::RequestHeaderFieldsTooLarge,
                "Request Header Fields Too Large",
            ),
            Self::NotFound => (Status::NotFound, contract::NOT_FOUND),
            Self::MethodNotAllowed(_) => (Status::MethodNotAllowed, contract::METHOD_NOT_ALLOWED),
            Self::Internal(cause) => {
                if startup::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                (Status::InternalServerError, contract::INTERNAL_SERVER_ERROR)
            }
            Self::Unavailable(cause) => {
                if startup::log_requests() {
                    eprintln!("503 Service Unavailable: {cause}");
                }
                (Status::ServiceUnavailable, contract::SERVICE_UNAVAILABLE)
            }
        };
        let mut response = rocket::Response::build()
            .status(status)
            .header(ContentType::Plain)
            .sized_body(body.len(), std::io::Cursor::new(body))
            .finalize();
        if let Self::MethodNotAllowed(allow) = self {
            response.set_header(Header::new("Allow", allow));
        }
        response
    }
}
