//! The http-rosetta service hand-written on tokio's `TcpListener` and httparse: a small async
//! HTTP/1.1 server built for speed. The Go article's counterpart is fasthttp.
//!
//! Like fasthttp, handlers do not build response objects: they write into a context whose
//! buffers live as long as the connection, so a request in the steady state allocates next to
//! nothing. Parsing and response heads come from the shared `h1-codec` crate; reading, timeouts,
//! pipelining, routing and shutdown are here.
//!
//! Run it: `cargo run --release -p server-tokio -- --addr 127.0.0.1:8082`, then
//! `curl -i http://127.0.0.1:8082/json`.
//!
//! # Layout
//! `main` builds the runtime; `run` is the accept loop; `serve_connection` the per-connection
//! loop; `respond` routes; the handlers follow in contract order; then the error type.

use std::io;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use contract::{Message, ServerArgs, User};
use h1_codec::{DateCache, Limits, Parsed, Request, ResponseOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

const SERVER: &str = "tokio";
/// An idle keep-alive connection is closed after this time.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

fn main() {
    let args = ServerArgs::parse_for(SERVER);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads())
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    runtime.block_on(async {
        let listener = contract::bind_listener(args.addr)
            .and_then(|listener| {
                listener.set_nonblocking(true)?;
                TcpListener::from_std(listener)
            })
            .expect("cannot bind the address");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        contract::print_ready_line(addr);
        run(listener, args.header_timeout, contract::shutdown_signal()).await;
    });
}

/// Accepts connections until `shutdown` completes, then waits (within the grace period) for the
/// open connections to finish the requests they are serving. A request must arrive whole within
/// `request_timeout` of its first byte (slowloris).
async fn run(listener: TcpListener, request_timeout: Duration, shutdown: impl Future<Output = ()>) {
    // Connections watch this to stop reading new requests once the server shuts down.
    let (stop, stopped) = watch::channel(false);
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // An accept error concerns one connection (or a passing lack of file
                // descriptors): never stop the server for it.
                let Ok((stream, _peer)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let stopped = stopped.clone();
                connections.spawn(async move {
                    // One broken connection ends its own task, nothing else.
                    let _ = serve_connection(stream, request_timeout, stopped).await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    // Closing the listener first makes new connections fail at once instead of waiting.
    drop(listener);
    let _ = stop.send(true);
    connections.close();
    let _ = tokio::time::timeout(contract::SHUTDOWN_GRACE, connections.wait()).await;
}

/// The per-connection loop: read, answer every complete request in the buffer (pipelined
/// requests in order), write the answers in one go, repeat until the client or a limit closes.
async fn serve_connection(
    mut stream: TcpStream,
    request_timeout: Duration,
    mut stopped: watch::Receiver<bool>,
) -> io::Result<()> {
    // Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACKs can hold a small
    // response back for ~40 ms.
    stream.set_nodelay(true)?;
    let limits = Limits {
        max_body_bytes: contract::MAX_BODY_BYTES,
        ..Limits::default()
    };
    let mut buf = BytesMut::with_capacity(8192);
    let mut out = Vec::with_capacity(8192);
    let mut ctx = Ctx::default();
    let mut date = DateCache::default();
    let mut waiting_since = Instant::now();
    let mut sent_continue = false;
    loop {
        let mut consumed = 0;
        let mut close = false;
        let draining = *stopped.borrow();
        while !close {
            match h1_codec::parse(&buf[consumed..], &limits) {
                Ok(Parsed::Complete(req)) => {
                    date.refresh();
                    ctx.reset();
                    if let Err(err) = respond(&req, &mut ctx) {
                        err.write_to(&mut ctx);
                    }
                    close = !req.keep_alive || draining;
                    ctx.write(&mut out, &date, &req, !close);
                    consumed += req.len;
                    sent_continue = false;
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
                    let status = err.status();
                    let opts = ResponseOptions {
                        keep_alive: false,
                        ..Default::default()
                    };
                    let body = h1_codec::reason(status).as_bytes();
                    h1_codec::write_response(
                        &mut out,
                        SERVER,
                        &date,
                        status,
                        contract::TEXT_PLAIN,
                        body,
                        opts,
                    );
                    close = true;
                }
            }
        }
        buf.advance(consumed);
        if consumed > 0 {
            waiting_since = Instant::now();
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if close {
            return stream.shutdown().await;
        }
        let idle = buf.is_empty();
        let deadline = waiting_since + if idle { IDLE_TIMEOUT } else { request_timeout };
        tokio::select! {
            read = stream.read_buf(&mut buf) => {
                if read? == 0 {
                    return Ok(());
                }
            }
            () = tokio::time::sleep_until(deadline) => return Ok(()),
            // An idle connection closes at once on shutdown; a busy one finishes its request.
            _ = stopped.changed(), if idle => return Ok(()),
        }
    }
}

/// What a handler writes its response into, like fasthttp's `RequestCtx`: the body buffer is
/// reused by every request on the connection.
#[derive(Debug)]
struct Ctx {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    allow: Option<&'static str>,
}

impl Default for Ctx {
    fn default() -> Self {
        Self {
            status: 200,
            content_type: contract::TEXT_PLAIN,
            body: Vec::with_capacity(1024),
            allow: None,
        }
    }
}

impl Ctx {
    fn reset(&mut self) {
        self.status = 200;
        self.content_type = contract::TEXT_PLAIN;
        self.body.clear();
        self.allow = None;
    }

    fn text(&mut self, status: u16, body: &str) {
        self.status = status;
        self.content_type = contract::TEXT_PLAIN;
        self.body.clear();
        self.body.extend_from_slice(body.as_bytes());
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

/// Routing by hand, fasthttp style: match the path first, then the method, so that a known path
/// with another method is a 405 that lists the methods it takes.
fn respond(req: &Request<'_>, ctx: &mut Ctx) -> Result<(), Error> {
    let path = req
        .path
        .split_once('?')
        .map_or(req.path, |(path, _query)| path);
    let get = matches!(req.method, "GET" | "HEAD");
    match path {
        "/" if get => plaintext(ctx),
        "/json" if get => json(ctx)?,
        "/html" if get => html(ctx),
        "/echo" if req.method == "POST" => echo(req, ctx)?,
        "/error" if get => error()?,
        "/" | "/json" | "/html" | "/error" => method_not_allowed(ctx, "GET, HEAD"),
        "/echo" => method_not_allowed(ctx, "POST"),
        _ => match path
            .strip_prefix("/users/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
        {
            Some(id) if get => user(id, ctx)?,
            Some(_) => method_not_allowed(ctx, "GET, HEAD"),
            None => not_found(ctx),
        },
    }
    Ok(())
}

// route: plaintext
// GET /
fn plaintext(ctx: &mut Ctx) {
    ctx.body.extend_from_slice(contract::HELLO.as_bytes());
}
// end route

// route: json
// GET /json
fn json(ctx: &mut Ctx) -> Result<(), Error> {
    ctx.content_type = contract::APPLICATION_JSON;
    serde_json::to_writer(&mut ctx.body, &Message::hello())?;
    Ok(())
}
// end route

// route: html
// GET /html
fn html(ctx: &mut Ctx) {
    ctx.content_type = contract::TEXT_HTML;
    ctx.body.extend_from_slice(contract::HTML_PAGE.as_bytes());
}
// end route

// route: users
// GET /users/{id}
fn user(id: &str, ctx: &mut Ctx) -> Result<(), Error> {
    let id: u32 = id.parse().map_err(|_| Error::BadRequest)?;
    ctx.content_type = contract::APPLICATION_JSON;
    serde_json::to_writer(&mut ctx.body, &User::new(id))?;
    Ok(())
}
// end route

// route: echo
// POST /echo (the codec has already refused bodies over the limit with a 413)
fn echo(req: &Request<'_>, ctx: &mut Ctx) -> Result<(), Error> {
    if !req.has_json_body() {
        return Err(Error::BadRequest);
    }
    let message: Message = serde_json::from_slice(&req.body).map_err(|_| Error::BadRequest)?;
    ctx.content_type = contract::APPLICATION_JSON;
    serde_json::to_writer(&mut ctx.body, &message)?;
    Ok(())
}
// end route

// route: error
// GET /error
fn error() -> Result<(), Error> {
    Err(Error::Internal("this route always fails".into()))
}
// end route

// route: not-found
// any other path
fn not_found(ctx: &mut Ctx) {
    ctx.text(404, contract::NOT_FOUND);
}
// end route

fn method_not_allowed(ctx: &mut Ctx, allow: &'static str) {
    ctx.text(405, contract::METHOD_NOT_ALLOWED);
    ctx.allow = Some(allow);
}

/// What a handler can fail with; the connection loop writes it as the response instead.
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
    fn write_to(self, ctx: &mut Ctx) {
        match self {
            Self::BadRequest => ctx.text(400, contract::BAD_REQUEST),
            Self::Internal(cause) => {
                if contract::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                ctx.text(500, contract::INTERNAL_SERVER_ERROR);
            }
        }
    }
}
