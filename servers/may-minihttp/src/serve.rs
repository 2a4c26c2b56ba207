//! The connection side of server-may-minihttp: starting may_minihttp's accept coroutine, the
//! checks of a request head that the engine leaves to the service (its size, the Host rule, a
//! body framing it can trust, HTTP/1.0 keep-alive), [`App`], the service that checks each head
//! before `app` routes it and writes an `Error` as the answer, the handlers' [`Error`] type, and
//! the exit on SIGINT or SIGTERM. `main.rs` calls [`serve`]; `app` calls [`path_of`] and
//! [`query_count`].

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use may::coroutine::JoinHandle;
use may_minihttp::{HttpServer, HttpService, Request, Response};

use crate::app;
use crate::db::{Database, DbError};

/// The service: may_minihttp clones it into every connection's coroutine and calls it once per
/// request, in order (pipelined requests included), so its state is the connection's.
#[derive(Debug, Clone, Default)]
pub struct App {
    /// A request's body framing was refused: may_minihttp cannot close the connection, and
    /// would read the rest of that body as the next request, so nothing more on it is served.
    framing_lost: bool,
    // aspect: pool: an Option<Database> (the r2d2 pool behind its threads) in the service that may_minihttp clones into each connection
    db: Option<Database>,
}

/// What a handler can fail with; `App::call` writes it as the response instead.
#[derive(Debug)]
pub enum Error {
    BadRequest,
    /// A body whose length cannot be trusted: answered 400 with `Connection: close`, and the
    /// connection's later requests too (see `App::framing_lost`).
    BadFraming,
    PayloadTooLarge,
    HeadTooLarge,
    /// No database, or no connection in time.
    Unavailable(Option<Box<dyn std::error::Error + Send + Sync>>),
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<DbError> for Error {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(cause) => Self::Unavailable(cause.map(Into::into)),
            DbError::Query(cause) => Self::Internal(cause.into()),
        }
    }
}

/// Requests being answered right now, for the shutdown to wait on.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

impl HttpService for App {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
        let head = req.method() == "HEAD";
        let keep_alive = http10_keep_alive(&req);
        let answer = match self.framing_lost {
            true => Err(Error::BadFraming),
            false => check_head(&req).and_then(|()| app(req, rsp, self.db.as_ref())),
        };
        if let Err(err) = answer {
            self.framing_lost |= matches!(err, Error::BadFraming);
            err.write_to(rsp);
        }
        if keep_alive && !self.framing_lost {
            rsp.header("Connection: keep-alive");
        }
        // may_minihttp sends the body for HEAD too, and counts its length from what is sent.
        if head {
            rsp.body("");
        }
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
        // An `Err` here would make may_minihttp answer 500 with the error's text: never.
        Ok(())
    }
}

impl Error {
    // aspect: error-500: Error::write_to, called by App::call for every handler's Err
    fn write_to(self, rsp: &mut Response) {
        match self {
            Self::BadRequest => text(rsp, 400, "Bad Request", contract::BAD_REQUEST),
            Self::BadFraming => {
                // The client should close, since may_minihttp will not.
                rsp.header("Connection: close");
                text(rsp, 400, "Bad Request", contract::BAD_REQUEST);
            }
            Self::PayloadTooLarge => {
                text(rsp, 413, "Payload Too Large", contract::PAYLOAD_TOO_LARGE)
            }
            Self::HeadTooLarge => text(
                rsp,
                431,
                "Request Header Fields Too Large",
                "Request Header Fields Too Large",
            ),
            // aspect: db-error: DbError into Error (From), then no connection -> 503, a failed query -> 500
            Self::Unavailable(cause) => {
                if let Some(cause) = cause.filter(|_| startup::log_requests()) {
                    eprintln!("503 Service Unavailable: {cause}");
                }
                text(
                    rsp,
                    503,
                    "Service Unavailable",
                    contract::SERVICE_UNAVAILABLE,
                );
            }
            Self::Internal(cause) => {
                if startup::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                text(
                    rsp,
                    500,
                    "Internal Server Error",
                    contract::INTERNAL_SERVER_ERROR,
                );
            }
        }
    }
}

/// What may_minihttp leaves to the service: the head's size, the `Host` rules of RFC 9112, and
/// a body framing it can trust. may_minihttp frames a body by the first `Content-Length` alone
/// (and panics on one that is not a number), so anything else is refused as [`Error::BadFraming`]:
/// a `Transfer-Encoding` (RFC 9112, 6.1), a length that is not `1*DIGIT` (`+15`, `0x2`, a list;
/// RFC 9110, 8.6), or two lines that differ.
pub fn check_head(req: &Request) -> Result<(), Error> {
    let mut hosts = 0;
    let mut lengths = Vec::new();
    let mut head_bytes = req.path().len();
    for header in req.headers() {
        head_bytes += header.name.len() + header.value.len() + 4;
        if header.name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if header.name.eq_ignore_ascii_case("content-length") {
            // `str::parse::<usize>` takes a leading `+`: only digits are a length.
            let digits = !header.value.is_empty() && header.value.iter().all(u8::is_ascii_digit);
            let length = std::str::from_utf8(header.value)
                .ok()
                .filter(|_| digits)
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or(Error::BadFraming)?;
            lengths.push(length);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Error::BadFraming);
        }
    }
    if head_bytes > contract::MAX_HEAD_BYTES {
        return Err(Error::HeadTooLarge);
    }
    if hosts > 1 || (hosts == 0 && req.version() == 1) {
        return Err(Error::BadRequest);
    }
    if lengths.windows(2).any(|pair| pair[0] != pair[1]) {
        return Err(Error::BadFraming);
    }
    Ok(())
}

/// Whether an HTTP/1.0 request asked to keep its connection (`Connection: keep-alive`). HTTP/1.0
/// clients (`ab -k`) then wait for the answer to say `Connection: keep-alive` too, or they read
/// until the close; may_minihttp never says it.
pub fn http10_keep_alive(req: &Request) -> bool {
    req.version() == 0
        && req.headers().iter().any(|h| {
            h.name.eq_ignore_ascii_case("connection")
                && h.value
                    .split(|&b| b == b',')
                    .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"keep-alive"))
        })
}

/// Starts the accept coroutine on `addr`; each connection gets a coroutine of its own.
/// may_minihttp binds the listener itself and does not say which port it got, so a port is
/// held first with `SO_REUSEPORT` (which may's own bind sets too) and let go once it is bound.
pub fn serve(addr: SocketAddr, db: Option<Database>) -> io::Result<(JoinHandle<()>, SocketAddr)> {
    use socket2::{Domain, Socket, Type};
    let hold = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    hold.set_reuse_address(true)?;
    hold.set_reuse_port(true)?;
    hold.bind(&addr.into())?;
    let addr = hold
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("not an IP address"))?;
    // aspect: connection-errors: may_minihttp logs them through `log`; env_logger prints them
    if startup::log_requests() {
        env_logger::Builder::new()
            .filter_module("may_minihttp", log::LevelFilter::Error)
            .init();
    }
    // aspect: header-timeout: none: may_minihttp's connection loop has no timeout (a known deviation)
    let app = App {
        framing_lost: false,
        db,
    };
    let server = HttpServer(app).start(addr)?;
    Ok((server, addr))
}

/// On the first SIGINT or SIGTERM, wait (within the grace period) until no request is being
/// answered, then exit 0. may_minihttp can neither stop its accept coroutine nor close its
/// connections (cancelling a coroutine is `unsafe` in may), so this is as graceful as it gets:
/// the answer a call has made is written right after it returns, hence the short pause.
pub fn shutdown_signal() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let deadline = Instant::now() + contract::SHUTDOWN_GRACE;
            while IN_FLIGHT.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(10));
            // aspect: graceful-shutdown: signal-hook; wait for no request in flight, then exit
            std::process::exit(0);
        }
    });
}

/// `answer` to the request, then its body, if it has one, skipped. may_minihttp parses the next
/// request where this one's body ends, and knows where only once the body is read (BodyReader's
/// Drop skips the rest): unread, the body is parsed as the next request, that fails, and the
/// connection ends before this answer is written.
pub fn skipping_body<T>(req: Request, answer: impl FnOnce(&Request) -> T) -> T {
    let answer = answer(&req);
    drop(req.body());
    answer
}

/// Whether the request's Content-Type is `application/json`, parameters aside.
pub fn declares_json(req: &Request) -> bool {
    req.headers().iter().any(|h| {
        h.name.eq_ignore_ascii_case("content-type")
            && std::str::from_utf8(h.value).is_ok_and(|v| {
                let media_type = v.split(';').next().unwrap_or_default().trim();
                media_type.eq_ignore_ascii_case(contract::APPLICATION_JSON)
            })
    })
}

/// The path of a request target: an absolute-form target (`http://host/json`) is served by its
/// path (RFC 9112, 3.2.2), and the query is not part of the route.
pub fn path_of(target: &str) -> &str {
    let path = match target.split_once("://") {
        Some((_scheme, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => target,
    };
    path.split_once('?').map_or(path, |(path, _query)| path)
}

/// The row count of `/queries` and `/updates`: the raw `q` of the target's query string (the
/// first `q=` pair, not percent-decoded: it is a number), then the contract's clamping.
pub fn query_count(target: &str) -> usize {
    let q = target
        .split_once('?')
        .and_then(|(_, query)| query.split('&').find_map(|pair| pair.strip_prefix("q=")));
    contract::query_count(q)
}

/// A 405 whose `Allow` header (`allow`, the whole line) lists the methods the path takes.
pub fn method_not_allowed(rsp: &mut Response, allow: &'static str) {
    text(rsp, 405, "Method Not Allowed", contract::METHOD_NOT_ALLOWED);
    rsp.header(allow);
}

/// A plain-text answer: `status`, its `reason` phrase and `body`.
pub fn text(rsp: &mut Response, status: usize, reason: &'static str, body: &'static str) {
    rsp.status_code(status, reason)
        .header("Content-Type: text/plain; charset=utf-8")
        .body(body);
}
