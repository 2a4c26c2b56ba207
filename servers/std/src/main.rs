//! The http-rosetta service on `std::net` alone: blocking sockets and one OS thread per
//! connection. The Go article's counterpart is net/http with `HandleFunc`, the bare basics.
//!
//! It shows what every framework does for you: parsing with httparse (through the shared
//! `h1-codec` crate), keep-alive and pipelining, read timeouts, size limits, a cached `Date`,
//! routing by hand, turning handler errors into responses, and a graceful shutdown.
//!
//! Run it: `cargo run --release -p server-std -- --addr 127.0.0.1:8081`, then
//! `curl -i http://127.0.0.1:8081/json`.
//!
//! # Layout
//! `main` binds and starts the accept threads; `serve_connection` is the per-connection loop;
//! `respond` routes; the handlers follow in contract order; then the error type and shutdown.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use contract::{Message, ServerArgs, User};
use h1_codec::{DateCache, Limits, ParseError, Parsed, Request, ResponseOptions};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

const SERVER: &str = "std";
/// How often a blocked read wakes up to check the clock and the shutdown flag.
const POLL: Duration = Duration::from_millis(250);
/// An idle keep-alive connection is closed after this time.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once; beyond this, new ones get a 503 and are closed.
const MAX_CONNECTIONS: usize = 10_000;
/// Stack of each connection thread: the handlers need little, and thousands of threads
/// with the default 2 MiB would reserve gigabytes of address space.
const STACK_SIZE: usize = 256 * 1024;

fn main() {
    let args = ServerArgs::parse_for(SERVER);
    let listener = contract::bind_listener(args.addr).expect("cannot bind the address");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    // A request must arrive whole within this time once its first byte has (slowloris).
    let state = Arc::new(State {
        request_timeout: args.header_timeout,
        ..State::default()
    });

    // Each accept thread blocks in `accept` and spawns a thread per connection; `--threads`
    // sets how many accept threads there are, not how many connections are served at once.
    let accept_threads = args.threads();
    for _ in 0..accept_threads {
        let listener = listener.try_clone().expect("cannot clone the listener");
        let state = Arc::clone(&state);
        thread::spawn(move || accept_loop(&listener, &state));
    }
    // Only the accept threads hold the socket now: when they stop, it closes and new
    // connections are refused.
    drop(listener);
    contract::print_ready_line(addr);

    wait_for_signal();
    shutdown(&state, addr, accept_threads);
}

/// What the accept threads and the connection threads share.
#[derive(Debug, Default)]
struct State {
    shutting_down: AtomicBool,
    request_timeout: Duration,
    /// Open connections; the condition variable wakes the shutdown when it reaches zero.
    connections: Mutex<usize>,
    drained: Condvar,
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    for stream in listener.incoming() {
        if state.shutting_down.load(Ordering::SeqCst) {
            break;
        }
        // An accept error (a reset before accept, too many open files) concerns one
        // connection, never the server: go on.
        let Ok(stream) = stream else { continue };
        if !register(state) {
            refuse(stream);
            continue;
        }
        let state_for_thread = Arc::clone(state);
        let spawned = thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn(move || {
                // A broken connection ends its own thread, nothing else.
                let _ = serve_connection(stream, &state_for_thread);
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

/// Over the connection cap: say so and close, rather than let the client wait.
fn refuse(mut stream: TcpStream) {
    let mut out = Vec::new();
    let opts = ResponseOptions {
        keep_alive: false,
        ..Default::default()
    };
    h1_codec::write_response(
        &mut out,
        SERVER,
        &DateCache::default(),
        503,
        contract::TEXT_PLAIN,
        b"Service Unavailable",
        opts,
    );
    let _ = stream.write_all(&out);
}

/// The per-connection loop: read, answer every complete request in the buffer (pipelined
/// requests in order), write the answers in one go, repeat until the client or a limit closes.
fn serve_connection(mut stream: TcpStream, state: &State) -> io::Result<()> {
    let shutting_down = &state.shutting_down;
    // Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACKs can hold a small
    // response back for ~40 ms.
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POLL))?;
    let limits = Limits {
        max_body_bytes: contract::MAX_BODY_BYTES,
        ..Limits::default()
    };
    let mut buf = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let mut date = DateCache::default();
    let mut waiting_since = Instant::now();
    let mut sent_continue = false;
    loop {
        let mut consumed = 0;
        let mut close = false;
        loop {
            match h1_codec::parse(&buf[consumed..], &limits) {
                Ok(Parsed::Complete(req)) => {
                    date.refresh();
                    let keep_alive = req.keep_alive && !shutting_down.load(Ordering::Relaxed);
                    let response = respond(&req).unwrap_or_else(Error::into_response);
                    response.write(&mut out, &date, &req, keep_alive);
                    consumed += req.len;
                    sent_continue = false;
                    if !keep_alive {
                        close = true;
                        break;
                    }
                }
                Ok(Parsed::Partial { expects_continue }) => {
                    if expects_continue && !sent_continue {
                        out.extend_from_slice(h1_codec::CONTINUE);
                        sent_continue = true;
                    }
                    break;
                }
                Err(err) => {
                    date.refresh();
                    write_parse_error(&mut out, &date, &err);
                    close = true;
                    break;
                }
            }
        }
        buf.drain(..consumed);
        if consumed > 0 {
            waiting_since = Instant::now();
        }
        if !out.is_empty() {
            stream.write_all(&out)?;
            out.clear();
        }
        if close {
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
                let idle = buf.is_empty();
                let waited = waiting_since.elapsed();
                let expired = if idle {
                    shutting_down.load(Ordering::Relaxed) || waited > IDLE_TIMEOUT
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

fn write_parse_error(out: &mut Vec<u8>, date: &DateCache, err: &ParseError) {
    let status = err.status();
    let opts = ResponseOptions {
        keep_alive: false,
        ..Default::default()
    };
    h1_codec::write_response(
        out,
        SERVER,
        date,
        status,
        contract::TEXT_PLAIN,
        h1_codec::reason(status).as_bytes(),
        opts,
    );
}

/// A response built by a handler, written out by the connection loop.
#[derive(Debug)]
struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    allow: Option<&'static str>,
}

impl Response {
    fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            content_type,
            body: body.into(),
            allow: None,
        }
    }

    fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            content_type: contract::TEXT_PLAIN,
            body: body.into(),
            allow: None,
        }
    }

    fn write(&self, out: &mut Vec<u8>, date: &DateCache, req: &Request<'_>, keep_alive: bool) {
        let opts = ResponseOptions {
            head: req.method == "HEAD",
            keep_alive,
            http10: req.minor_version == 0,
            allow: self.allow,
        };
        h1_codec::write_response(
            out,
            SERVER,
            date,
            self.status,
            self.content_type,
            &self.body,
            opts,
        );
    }
}

/// Routing by hand: match the path first, then the method, so that a known path with another
/// method is a 405 that lists the methods it takes.
fn respond(req: &Request<'_>) -> Result<Response, Error> {
    let path = req
        .path
        .split_once('?')
        .map_or(req.path, |(path, _query)| path);
    let get = matches!(req.method, "GET" | "HEAD");
    let post = req.method == "POST";
    match path {
        "/" if get => Ok(plaintext()),
        "/json" if get => json(),
        "/html" if get => Ok(html()),
        "/echo" if post => echo(req),
        "/error" if get => error(),
        "/" | "/json" | "/html" | "/error" => Ok(method_not_allowed("GET, HEAD")),
        "/echo" => Ok(method_not_allowed("POST")),
        _ => match path.strip_prefix("/users/") {
            Some(id) if !id.is_empty() && !id.contains('/') && get => user(id),
            Some(id) if !id.is_empty() && !id.contains('/') => Ok(method_not_allowed("GET, HEAD")),
            _ => Ok(not_found()),
        },
    }
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
    let id: u32 = id.parse().map_err(|_| Error::BadRequest)?;
    let body = serde_json::to_vec(&User::new(id))?;
    Ok(Response::ok(contract::APPLICATION_JSON, body))
}
// end route

// route: echo
// POST /echo (the codec has already refused bodies over the limit with a 413)
fn echo(req: &Request<'_>) -> Result<Response, Error> {
    if !req.has_json_body() {
        return Err(Error::BadRequest);
    }
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

/// What a handler can fail with; the connection loop turns it into a response.
#[derive(Debug)]
enum Error {
    BadRequest,
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl Error {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest => Response::text(400, contract::BAD_REQUEST),
            Self::Internal(cause) => {
                if contract::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                Response::text(500, contract::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// Blocks until SIGINT or SIGTERM.
fn wait_for_signal() {
    let mut signals = Signals::new([SIGINT, SIGTERM]).expect("cannot install signal handlers");
    // `forever` only ends on an error, and then shutting down is the right thing to do too.
    let _ = signals.forever().next();
}

/// Stops accepting, lets open connections finish their requests within the grace period, and
/// returns so that `main` exits 0.
fn shutdown(state: &State, addr: SocketAddr, accept_threads: usize) {
    state.shutting_down.store(true, Ordering::SeqCst);
    // Each accept thread is blocked in `accept`: one connection each wakes them up to see the
    // flag. A wildcard address is reached through loopback.
    let wake = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    for _ in 0..accept_threads {
        let _ = TcpStream::connect_timeout(&wake, Duration::from_millis(100));
    }
    let deadline = Instant::now() + contract::SHUTDOWN_GRACE;
    let mut open = state.connections.lock().unwrap_or_else(|e| e.into_inner());
    while *open > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        open = state
            .drained
            .wait_timeout(open, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}
