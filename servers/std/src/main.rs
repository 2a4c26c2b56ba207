//! The http-rosetta service on `std::net` alone: blocking sockets and one OS thread per
//! connection. The Go article's counterpart is net/http with `HandleFunc`, the bare basics.
//!
//! It shows what every framework does for you: routing by hand, turning handler errors into
//! responses, keep-alive and pipelining, read timeouts, a connection cap and a graceful
//! shutdown. The HTTP/1.1 framing (httparse, chunked bodies, size limits, the `Date` cache) is
//! the `h1-codec` crate it shares with `server-tokio`.
//!
//! Run it: `cargo run --release -p server-std -- --addr 127.0.0.1:8081`, then
//! `curl -i http://127.0.0.1:8081/json`.
//!
//! # Layout
//! `main` binds and calls `serve`; `app` is the request -> response function (routing, then
//! errors into responses); the handlers follow in contract order, then the error type; `serve`
//! runs the accept threads and a thread per connection until `shutdown_signal`; tests last.
//! `db.rs` holds the database side: the r2d2 pool, the queries and the `/fortunes` template.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use askama::Template;
use contract::{Message, User};
use db::{Db, DbError, FortunesPage, Pool};
use h1_codec::{DateCache, Limits, Request, Response, Session};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use startup::ServerArgs;

mod db;

const SERVER: &str = "std";

fn main() {
    let args = ServerArgs::parse_for(SERVER);
    // No URL: no pool, and the database routes answer 503.
    let pool = args.database_url.as_deref().map(|url| {
        db::pool(url, args.pool_size).unwrap_or_else(|err| {
            eprintln!("server-std: invalid --database-url: {err}");
            std::process::exit(2);
        })
    });
    let listener = startup::bind_listener(args.addr).expect("cannot bind the address");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    // Installed before the ready line, so that a signal sent right after it is not lost.
    let shutdown = shutdown_signal();
    startup::print_ready_line(addr);
    serve(
        listener,
        args.threads(),
        args.header_timeout,
        pool,
        shutdown,
    );
}

/// The service as a function from request to response: a match on the path, then the method,
/// so that a known path with another method is a 405 that lists the methods it takes. `pool` is
/// the database's, `None` without one.
fn app(req: &Request<'_>, pool: Option<&Pool>) -> Response {
    let get = matches!(req.method, "GET" | "HEAD");
    let post = req.method == "POST";
    // aspect: routing: a match on the path, then the method, by hand
    let handled = match req.path {
        "/" if get => Ok(plaintext()),
        "/json" if get => json(),
        "/html" if get => Ok(html()),
        "/echo" if post => echo(req),
        "/error" if get => error(),
        "/db" if get => db(pool),
        "/queries" if get => queries(req, pool),
        "/fortunes" if get => fortunes(pool),
        "/updates" if get => updates(req, pool),
        "/" | "/json" | "/html" | "/error" | "/db" | "/queries" | "/fortunes" | "/updates" => {
            Ok(method_not_allowed("GET, HEAD"))
        }
        "/echo" => Ok(method_not_allowed("POST")),
        path => match path
            .strip_prefix("/users/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
        {
            Some(id) if get => user(id),
            Some(_) => Ok(method_not_allowed("GET, HEAD")),
            // aspect: not-found: the last match arm
            None => Ok(not_found()),
        },
    };
    handled.unwrap_or_else(Error::into_response)
}

// route: plaintext
// GET /
fn plaintext() -> Response {
    Response::ok(contract::TEXT_PLAIN, contract::HELLO)
}
// end route

// route: json
// GET /json
fn json() -> Result<Response, Error> {
    let body = serde_json::to_vec(&Message::hello())?;
    Ok(Response::ok(contract::APPLICATION_JSON, body))
}
// end route

// route: html
// GET /html
fn html() -> Response {
    Response::ok(contract::TEXT_HTML, contract::HTML_PAGE)
}
// end route

// route: users
// GET /users/{id}
fn user(id: &str) -> Result<Response, Error> {
    // aspect: path-parameter: strip_prefix in the match, then str::parse::<u32>
    let id: u32 = id.parse().map_err(|_| Error::BadRequest)?;
    let body = serde_json::to_vec(&User::new(id))?;
    Ok(Response::ok(contract::APPLICATION_JSON, body))
}
// end route

// route: echo
// POST /echo (h1-codec has framed the body, and refused one over the limit)
fn echo(req: &Request<'_>) -> Result<Response, Error> {
    if !req.has_json_body() {
        return Err(Error::BadRequest);
    }
    // aspect: json-body: serde_json on the body h1-codec framed
    let message: Message = serde_json::from_slice(&req.body).map_err(|_| Error::BadRequest)?;
    let body = serde_json::to_vec(&message)?;
    Ok(Response::ok(contract::APPLICATION_JSON, body))
}
// end route

// route: error
// GET /error
fn error() -> Result<Response, Error> {
    Err(Error::Internal("this route always fails".into()))
}
// end route

// route: db
// GET /db
fn db(pool: Option<&Pool>) -> Result<Response, Error> {
    // aspect: query: a prepared statement on a connection checked out of the r2d2 pool (db.rs)
    let world = Db::get(pool)?.random_world()?;
    let body = serde_json::to_vec(&world)?;
    Ok(Response::ok(contract::APPLICATION_JSON, body))
}
// end route

// route: queries
// GET /queries?q=N
fn queries(req: &Request<'_>, pool: Option<&Pool>) -> Result<Response, Error> {
    let count = contract::query_count(query_param(req.target, "q"));
    let worlds = Db::get(pool)?.random_worlds(count)?;
    let body = serde_json::to_vec(&worlds)?;
    Ok(Response::ok(contract::APPLICATION_JSON, body))
}
// end route

// route: fortunes
// GET /fortunes
fn fortunes(pool: Option<&Pool>) -> Result<Response, Error> {
    let fortunes = Db::get(pool)?.fortunes()?;
    // aspect: template: askama's compile-time template (templates/fortunes.html), escaped for HTML
    let body = FortunesPage { fortunes }
        .render()
        .map_err(|e| Error::Internal(e.into()))?;
    Ok(Response::ok(contract::TEXT_HTML, body))
}
// end route

// route: updates
// GET /updates?q=N
fn updates(req: &Request<'_>, pool: Option<&Pool>) -> Result<Response, Error> {
    let count = contract::query_count(query_param(req.target, "q"));
    let worlds = Db::get(pool)?.update_worlds(count)?;
    let body = serde_json::to_vec(&worlds)?;
    Ok(Response::ok(contract::APPLICATION_JSON, body))
}
// end route

/// The raw value of the query parameter `name` in `target`, by hand as the routing is: the first
/// `name=value` pair after the `?`, not percent-decoded (`q` is a number).
fn query_param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = target.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

// route: not-found
// any other path
fn not_found() -> Response {
    Response::text(404, contract::NOT_FOUND)
}
// end route

fn method_not_allowed(allow: &'static str) -> Response {
    Response {
        allow: Some(allow),
        ..Response::text(405, contract::METHOD_NOT_ALLOWED)
    }
}

/// What a handler can fail with; `app` turns it into a response.
#[derive(Debug)]
enum Error {
    BadRequest,
    /// No database, or no connection in time.
    Unavailable(Option<Box<dyn std::error::Error + Send + Sync>>),
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl From<DbError> for Error {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(cause) => Self::Unavailable(cause.map(Into::into)),
            DbError::Query(cause) => Self::Internal(cause.into()),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl Error {
    // aspect: error-500: Error::into_response, called by app
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest => Response::text(400, contract::BAD_REQUEST),
            // aspect: db-error: DbError into Error (From), then no connection -> 503, a failed query -> 500
            Self::Unavailable(cause) => {
                if let Some(cause) = cause.filter(|_| startup::log_requests()) {
                    eprintln!("503 Service Unavailable: {cause}");
                }
                Response::text(503, contract::SERVICE_UNAVAILABLE)
            }
            Self::Internal(cause) => {
                if startup::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                Response::text(500, contract::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// How often a blocked read wakes up to check the clock and the shutdown flag.
const POLL: Duration = Duration::from_millis(250);
/// An idle keep-alive connection is closed after this time.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once; beyond this, new ones get a 503 and are closed.
const MAX_CONNECTIONS: usize = 10_000;
/// Stack of each connection thread: the handlers need little, and thousands of threads with
/// the default 2 MiB would reserve gigabytes of address space.
const STACK_SIZE: usize = 256 * 1024;

/// What the accept threads and the connection threads share.
#[derive(Debug, Default)]
struct State {
    // aspect: pool: an Option<r2d2::Pool> in the state every connection thread shares
    pool: Option<Pool>,
    shutting_down: AtomicBool,
    request_timeout: Duration,
    /// Open connections; the condition variable wakes the shutdown when it reaches zero.
    connections: Mutex<usize>,
    drained: Condvar,
}

/// Serves on `threads` accept threads, each connection on a thread of its own, until
/// `shutdown` delivers a signal; then lets open connections finish within the grace period.
/// A request must arrive whole within `request_timeout` of its first byte (slowloris).
fn serve(
    listener: TcpListener,
    threads: usize,
    request_timeout: Duration,
    pool: Option<Pool>,
    mut shutdown: Signals,
) {
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let state = Arc::new(State {
        request_timeout,
        pool,
        ..State::default()
    });
    // `--threads` sets how many threads block in `accept`, not how many connections are
    // served at once.
    for _ in 0..threads {
        let listener = listener.try_clone().expect("cannot clone the listener");
        let state = Arc::clone(&state);
        thread::spawn(move || accept_loop(&listener, &state));
    }
    // Only the accept threads hold the socket now: when they stop, new connections are refused.
    drop(listener);
    // `forever` only ends on an error, and then shutting down is the right thing to do too.
    let _ = shutdown.forever().next();
    // aspect: graceful-shutdown: signal-hook; wake the accept threads, wait on a Condvar
    state.shutting_down.store(true, Ordering::SeqCst);
    // Each accept thread is blocked in `accept`: one connection each wakes it up to see the
    // flag. A wildcard address is reached through loopback.
    let wake = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    for _ in 0..threads {
        let _ = TcpStream::connect_timeout(&wake, Duration::from_millis(100));
    }
    let deadline = Instant::now() + contract::SHUTDOWN_GRACE;
    let mut open = state.connections.lock().unwrap_or_else(|e| e.into_inner());
    while *open > 0 && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        open = state
            .drained
            .wait_timeout(open, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    for stream in listener.incoming() {
        if state.shutting_down.load(Ordering::SeqCst) {
            break;
        }
        // An accept error (a reset before accept, too many open files) concerns one
        // connection, never the server: go on.
        let Ok(mut stream) = stream else { continue };
        if !register(state) {
            // Over the cap: say so and close, rather than let the client wait.
            let mut out = Vec::new();
            h1_codec::write_error(&mut out, SERVER, &DateCache::default(), 503);
            let _ = stream.write_all(&out);
            continue;
        }
        let state_for_thread = Arc::clone(state);
        let spawned = thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn(move || {
                // aspect: connection-errors: returned by the connection's thread, printed there
                if let Err(err) = serve_connection(stream, &state_for_thread)
                    && startup::log_requests()
                {
                    eprintln!("connection error: {err}");
                }
                unregister(&state_for_thread);
            });
        if spawned.is_err() {
            unregister(state);
        }
    }
}

fn register(state: &State) -> bool {
    let mut open = state.connections.lock().unwrap_or_else(|e| e.into_inner());
    if *open >= MAX_CONNECTIONS {
        return false;
    }
    *open += 1;
    true
}

fn unregister(state: &State) {
    let mut open = state.connections.lock().unwrap_or_else(|e| e.into_inner());
    *open -= 1;
    if *open == 0 {
        state.drained.notify_all();
    }
}

/// One connection: read, let the session answer every complete request in the buffer, write
/// the answers in one go, repeat until the client, a limit or the shutdown closes it.
fn serve_connection(mut stream: TcpStream, state: &State) -> io::Result<()> {
    // Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACKs can hold a small
    // response back for ~40 ms.
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POLL))?;
    // aspect: body-limit: h1-codec's Limits (the contract's): 413 before the body is read
    let mut session = Session::new(SERVER, Limits::default());
    let mut buf = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let mut waiting_since = Instant::now();
    loop {
        let closing = state.shutting_down.load(Ordering::Relaxed);
        let answered = session.answer(&buf, &mut out, closing, |req, res| {
            *res = app(req, state.pool.as_ref());
        });
        buf.drain(..answered.consumed);
        if answered.consumed > 0 {
            waiting_since = Instant::now();
        }
        if !out.is_empty() {
            stream.write_all(&out)?;
            out.clear();
        }
        if answered.close {
            // Say we are done writing, so the client sees the end of the response at once.
            return stream.shutdown(Shutdown::Write);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let waited = waiting_since.elapsed();
                // aspect: header-timeout: a read timeout polls the clock; a request must arrive whole within --header-timeout
                let expired = if buf.is_empty() {
                    state.shutting_down.load(Ordering::Relaxed) || waited > IDLE_TIMEOUT
                } else {
                    waited > state.request_timeout
                };
                if expired {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// SIGINT and SIGTERM, caught from now on; `serve` waits on them.
fn shutdown_signal() -> Signals {
    Signals::new([SIGINT, SIGTERM]).expect("cannot install the signal handlers")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_answers_every_row_of_the_contract() {
        let mismatches = conformance::check_in_process(SERVER, |request| {
            let mut out = Vec::new();
            let mut session = Session::new(SERVER, Limits::default());
            session.answer(request, &mut out, false, |req, res| *res = app(req, None));
            out
        });
        assert_eq!(mismatches, Vec::<String>::new());
    }

    /// Answers `request` as a connection without a database would.
    fn answer(request: &str) -> String {
        let mut out = Vec::new();
        let mut session = Session::new(SERVER, Limits::default());
        session.answer(request.as_bytes(), &mut out, false, |req, res| {
            *res = app(req, None);
        });
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn without_a_database_the_database_routes_answer_503() {
        for route in contract::DATABASE_ROUTES {
            let answer = answer(&format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", route.path));
            assert!(
                answer.starts_with("HTTP/1.1 503 "),
                "{}: {answer}",
                route.path
            );
            assert!(answer.ends_with(contract::SERVICE_UNAVAILABLE), "{answer}");
        }
        let post = answer("POST /db HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
        assert!(post.contains("allow: GET, HEAD\r\n"), "{post}");
        let hello = answer("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(hello.starts_with("HTTP/1.1 200 "), "{hello}");
    }

    #[test]
    fn q_is_read_from_the_query_string_then_clamped_by_the_contract() {
        for (q, rows) in contract::QUERY_COUNT_TABLE {
            let target = match q {
                Some(q) => format!("/queries?a=1&q={q}&q=7"),
                None => "/queries?a=1".to_owned(),
            };
            let count = contract::query_count(query_param(&target, "q"));
            assert_eq!(count, *rows, "{target}");
        }
        assert_eq!(query_param("/queries", "q"), None);
        assert_eq!(query_param("/queries?qq=3", "q"), None);
    }
}
