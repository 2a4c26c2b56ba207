//! The http-rosetta service hand-written on tokio's `TcpListener` and httparse: a small async
//! HTTP/1.1 server built for speed. The Go article's counterpart is fasthttp.
//!
//! Like fasthttp, handlers do not build response objects: they write into one whose buffer
//! lives as long as the connection, so a request in the steady state allocates next to nothing.
//! The HTTP/1.1 framing is the `h1-codec` crate it shares with `server-std`; reading, timeouts,
//! routing and shutdown are here.
//!
//! Run it: `cargo run --release -p server-tokio -- --addr 127.0.0.1:8082`, then
//! `curl -i http://127.0.0.1:8082/json`.
//!
//! # Layout
//! `main` builds the runtime, binds and calls `serve`; `app` is the request -> response
//! function (routing, then errors into the response); the handlers follow in contract order,
//! then the error type; `serve` runs a task per connection until `shutdown_signal`; tests last.

use std::io;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use contract::{Message, User};
use h1_codec::{Limits, Request, Response, Session};
use startup::ServerArgs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

const SERVER: &str = "tokio";

fn main() {
    let args = ServerArgs::parse_for(SERVER);
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
        let shutdown = shutdown_signal();
        startup::print_ready_line(addr);
        serve(listener, args.header_timeout, shutdown).await;
    });
}

/// The service as a function from request to response, fasthttp style: a match on the path,
/// then the method (a known path with another method is a 405 that lists the methods it
/// takes); the handler writes into `res`.
fn app(req: &Request<'_>, res: &mut Response) {
    let get = matches!(req.method, "GET" | "HEAD");
    let post = req.method == "POST";
    // aspect: routing: a match on the path, then the method, writing into the response
    let handled = match req.path {
        "/" if get => plaintext(res),
        "/json" if get => json(res),
        "/html" if get => html(res),
        "/echo" if post => echo(req, res),
        "/error" if get => error(),
        "/" | "/json" | "/html" | "/error" => method_not_allowed(res, "GET, HEAD"),
        "/echo" => method_not_allowed(res, "POST"),
        path => match path
            .strip_prefix("/users/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
        {
            Some(id) if get => user(id, res),
            Some(_) => method_not_allowed(res, "GET, HEAD"),
            // aspect: not-found: the last match arm
            None => not_found(res),
        },
    };
    if let Err(err) = handled {
        err.write_to(res);
    }
}

// route: plaintext
// GET /
fn plaintext(res: &mut Response) -> Result<(), Error> {
    res.body.extend_from_slice(contract::HELLO.as_bytes());
    Ok(())
}
// end route

// route: json
// GET /json
fn json(res: &mut Response) -> Result<(), Error> {
    res.content_type = contract::APPLICATION_JSON;
    serde_json::to_writer(&mut res.body, &Message::hello())?;
    Ok(())
}
// end route

// route: html
// GET /html
fn html(res: &mut Response) -> Result<(), Error> {
    res.content_type = contract::TEXT_HTML;
    res.body.extend_from_slice(contract::HTML_PAGE.as_bytes());
    Ok(())
}
// end route

// route: users
// GET /users/{id}
fn user(id: &str, res: &mut Response) -> Result<(), Error> {
    // aspect: path-parameter: strip_prefix in the match, then str::parse::<u32>
    let id: u32 = id.parse().map_err(|_| Error::BadRequest)?;
    res.content_type = contract::APPLICATION_JSON;
    serde_json::to_writer(&mut res.body, &User::new(id))?;
    Ok(())
}
// end route

// route: echo
// POST /echo (h1-codec has framed the body, and refused one over the limit)
fn echo(req: &Request<'_>, res: &mut Response) -> Result<(), Error> {
    if !req.has_json_body() {
        return Err(Error::BadRequest);
    }
    // aspect: json-body: serde_json on the body h1-codec framed
    let message: Message = serde_json::from_slice(&req.body).map_err(|_| Error::BadRequest)?;
    res.content_type = contract::APPLICATION_JSON;
    serde_json::to_writer(&mut res.body, &message)?;
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
fn not_found(res: &mut Response) -> Result<(), Error> {
    res.status = 404;
    res.body.extend_from_slice(contract::NOT_FOUND.as_bytes());
    Ok(())
}
// end route

fn method_not_allowed(res: &mut Response, allow: &'static str) -> Result<(), Error> {
    res.status = 405;
    res.body
        .extend_from_slice(contract::METHOD_NOT_ALLOWED.as_bytes());
    res.allow = Some(allow);
    Ok(())
}

/// What a handler can fail with; `app` writes it into the response instead.
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
    // aspect: error-500: Error::write_to, called by app
    fn write_to(self, res: &mut Response) {
        res.reset();
        match self {
            Self::BadRequest => {
                res.status = 400;
                res.body.extend_from_slice(contract::BAD_REQUEST.as_bytes());
            }
            Self::Internal(cause) => {
                if startup::log_requests() {
                    eprintln!("500 Internal Server Error: {cause}");
                }
                res.status = 500;
                res.body
                    .extend_from_slice(contract::INTERNAL_SERVER_ERROR.as_bytes());
            }
        }
    }
}

/// An idle keep-alive connection is closed after this time.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves each connection on a task of its own until `shutdown` completes, then waits (within
/// the grace period) for open connections to finish the requests they are serving. A request
/// must arrive whole within `request_timeout` of its first byte (slowloris).
async fn serve(
    listener: TcpListener,
    request_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    // Connections watch this to stop reading new requests once the server shuts down.
    let (stop, stopped) = watch::channel(false);
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                // One failed accept (a reset, a passing lack of file descriptors) must not
                // end the server.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let stopped = stopped.clone();
        connections.spawn(async move {
            // aspect: connection-errors: returned by the connection's task, printed there
            if let Err(err) = serve_connection(stream, request_timeout, stopped).await
                && startup::log_requests()
            {
                eprintln!("connection error: {err}");
            }
        });
    }
    // aspect: graceful-shutdown: a watch channel closes idle connections; TaskTracker::wait
    drop(listener);
    let _ = stop.send(true);
    connections.close();
    let _ = tokio::time::timeout(contract::SHUTDOWN_GRACE, connections.wait()).await;
}

/// One connection: read, let the session answer every complete request in the buffer, write
/// the answers in one go, repeat until the client, a limit or the shutdown closes it.
async fn serve_connection(
    mut stream: TcpStream,
    request_timeout: Duration,
    mut stopped: watch::Receiver<bool>,
) -> io::Result<()> {
    // Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACKs can hold a small
    // response back for ~40 ms.
    stream.set_nodelay(true)?;
    // aspect: body-limit: h1-codec's Limits (the contract's): 413 before the body is read
    let mut session = Session::new(SERVER, Limits::default());
    let mut buf = BytesMut::with_capacity(8192);
    let mut out = Vec::with_capacity(8192);
    let mut waiting_since = Instant::now();
    loop {
        let closing = *stopped.borrow();
        let answered = session.answer(&buf, &mut out, closing, app);
        buf.advance(answered.consumed);
        if answered.consumed > 0 {
            waiting_since = Instant::now();
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if answered.close {
            return stream.shutdown().await;
        }
        let idle = buf.is_empty();
        // aspect: header-timeout: a deadline per request, raced against the read with select!
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

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this
/// is called, not when the future is first polled.
fn shutdown_signal() -> impl Future<Output = ()> {
    let mut interrupt = signal(SignalKind::interrupt()).expect("cannot install a SIGINT handler");
    let mut terminate = signal(SignalKind::terminate()).expect("cannot install a SIGTERM handler");
    async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_answers_every_row_of_the_contract() {
        let mismatches = conformance::check_in_process(SERVER, |request| {
            let mut out = Vec::new();
            Session::new(SERVER, Limits::default()).answer(request, &mut out, false, app);
            out
        });
        assert_eq!(mismatches, Vec::<String>::new());
    }
}
