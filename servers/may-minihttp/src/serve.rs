//! The connection side of server-may-minihttp: starting may_minihttp's accept coroutine, the
//! checks of a request head that the engine leaves to the service (its size, the Host rule, a
//! body framing it can trust, whether the connection goes on), [`App`], the service that checks
//! each head before `app` routes it and writes an `Error` as the answer, the handlers' [`Error`]
//! type, and the exit on SIGINT or SIGTERM. `main.rs` calls [`serve`]; `app` calls [`path_of`]
//! and [`query_count`].

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use may::coroutine::JoinHandle;
use may_minihttp::{HttpService, HttpServiceFactory, Request, Response};
use nix::sys::socket::{Shutdown, SockaddrStorage, getpeername, getsockname};

use crate::app;
use crate::db::{Database, DbError};

/// The service of one connection: may_minihttp makes one for each ([`Apps::new_service`]) and
/// calls it once per request, in order (pipelined requests included), so its state is the
/// connection's.
#[derive(Debug)]
pub struct App {
    /// The connection's socket, to end it after an answer that says `Connection: close`.
    connection: Connection,
    /// The connection is ending (an answer said `Connection: close`): its reading side is shut,
    /// and a request already read behind that answer is refused, not served. After a refused
    /// body framing, may_minihttp would read the rest of that body as the next request.
    closing: bool,
    // aspect: pool: an Option<Database> (the r2d2 pool behind its threads) in the service that may_minihttp makes for each connection
    db: Option<Database>,
}

/// Makes each connection's [`App`]: may_minihttp's per-connection hook.
#[derive(Debug, Clone)]
struct Apps {
    /// The port the server listens on, to check what may_minihttp names a connection by.
    port: u16,
    db: Option<Database>,
}

impl HttpServiceFactory for Apps {
    type Service = App;

    fn new_service(&self, id: usize) -> App {
        App {
            connection: Connection::named(id, self.port),
            closing: false,
            db: self.db.clone(),
        }
    }
}

/// A connection's socket, as may_minihttp names it to [`HttpServiceFactory::new_service`]: its
/// file descriptor (`let id = stream.as_raw_fd() as usize`, `src/http_server.rs:56` of
/// may_minihttp 0.1.11), open for as long as the connection's service is called.
#[derive(Debug, Clone, Copy)]
struct Connection(Option<RawFd>);

impl Connection {
    /// The connection named `id`, checked to be a connected socket on the server's `port`, so
    /// that a may_minihttp that meant anything else by `id` never has another file shut (the
    /// answers then fail the conformance suite instead: they say close, and nothing closes).
    fn named(id: usize, port: u16) -> Self {
        let fd = RawFd::try_from(id).ok().filter(|&fd| {
            let local = getsockname::<SockaddrStorage>(fd).ok();
            let local_port = local.and_then(|a| match (a.as_sockaddr_in(), a.as_sockaddr_in6()) {
                (Some(v4), _) => Some(v4.port()),
                (None, Some(v6)) => Some(v6.port()),
                (None, None) => None,
            });
            local_port == Some(port) && getpeername::<SockaddrStorage>(fd).is_ok()
        });
        Self(fd)
    }

    /// Ends the connection once the answers made so far are written. may_minihttp's connection
    /// loop writes every answer made from what it has read (`src/http_server.rs:165`), then reads
    /// again (`:142`): with the reading side shut, that read is the end of the stream, which
    /// ends the loop (`:92`), and the socket is shut and closed (`:64-66`).
    fn close_after_answers(self) {
        if let Some(fd) = self.0 {
            // An error leaves the connection as may_minihttp would: open.
            let _ = nix::sys::socket::shutdown(fd, Shutdown::Read);
        }
    }
}

/// What a handler can fail with; `App::call` writes it as the response instead.
#[derive(Debug)]
pub enum Error {
    BadRequest,
    /// A body whose length cannot be trusted: answered 400, and the connection ends after it
    /// (`App::call`); a request already read behind it gets the same answer (`App::closing`).
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
        let persistence = persistence(&req);
        let answer = match self.closing {
            true => Err(Error::BadFraming),
            false => check_head(&req).and_then(|()| app(req, rsp, self.db.as_ref())),
        };
        let framing_lost = matches!(answer, Err(Error::BadFraming));
        if let Err(err) = answer {
            err.write_to(rsp);
        }
        // may_minihttp answers every request HTTP/1.1 and never closes: the service says how the
        // connection goes on, and ends it itself.
        if framing_lost || persistence == Persistence::Close {
            rsp.header("Connection: close");
            if !self.closing {
                self.closing = true;
                self.connection.close_after_answers();
            }
        } else if persistence == Persistence::KeepHttp10 {
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
            // `App::call` adds `Connection: close` and ends the connection after it.
            Self::BadFraming => text(rsp, 400, "Bad Request", contract::BAD_REQUEST),
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

/// Whether the connection goes on after a request (RFC 9112, 9.3), which may_minihttp leaves to
/// the service: it answers every request `HTTP/1.1` and never closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persistence {
    /// HTTP/1.1 without `Connection: close`.
    Keep,
    /// HTTP/1.0 with `Connection: keep-alive` (`ab -k`): the answer must say `keep-alive` too,
    /// or an HTTP/1.0 client reads until a close that never comes.
    KeepHttp10,
    /// `Connection: close`, or HTTP/1.0 without `keep-alive`.
    Close,
}

/// How `req`'s connection goes on, from its version and its `Connection` options.
fn persistence(req: &Request) -> Persistence {
    let has = |option: &[u8]| {
        req.headers().iter().any(|h| {
            h.name.eq_ignore_ascii_case("connection")
                && h.value
                    .split(|&b| b == b',')
                    .any(|token| token.trim_ascii().eq_ignore_ascii_case(option))
        })
    };
    match (req.version(), has(b"close"), has(b"keep-alive")) {
        (_, true, _) => Persistence::Close,
        (0, false, true) => Persistence::KeepHttp10,
        (0, false, false) => Persistence::Close,
        _ => Persistence::Keep,
    }
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
    let apps = Apps {
        port: addr.port(),
        db,
    };
    let server = apps.start(addr)?;
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
