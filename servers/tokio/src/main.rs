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
//! `db.rs` holds the database side: the deadpool-postgres pool, the queries and the template.
//!
//! The database routes cannot be answered inside the synchronous `app`: `app` hands them back as
//! a [`DbRequest`], the connection puts the request off (h1-codec's `Session::answer_ready`),
//! awaits its answer, and then lets the session write it in its turn.

use std::io;
use std::time::Duration;

use askama::Template;
use bytes::{Buf, BytesMut};
use contract::{Message, User};
use db::{DbError, FortunesPage, Pool};
use h1_codec::{Limits, Request, Response, Session};
use startup::ServerArgs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

mod db;

const SERVER: &str = "tokio";

fn main() {
    let args = ServerArgs::parse_for(SERVER);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads())
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    // No URL: no pool, and the database routes answer 503.
    let pool = args.database_url.as_deref().map(|url| {
        db::pool(url, args.pool_size).unwrap_or_else(|err| {
            eprintln!("server-tokio: invalid --database-url: {err}");
            std::process::exit(2);
        })
    });
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
        serve(listener, args.header_timeout, pool, shutdown).await;
    });
}

/// The service as a function from request to response, fasthttp style: a match on the path,
/// then the method (a known path with another method is a 405 that lists the methods it
/// takes); the handler writes into `res`. A database route is handed back instead, to be run
/// and answered by the connection.
fn app(req: &Request<'_>, res: &mut Response) -> Option<DbRequest> {
    let get = matches!(req.method, "GET" | "HEAD");
    let post = req.method == "POST";
    // aspect: routing: a match on the path, then the method, writing into the response
    let handled = match req.path {
        "/" if get => plaintext(res),
        "/json" if get => json(res),
        "/html" if get => html(res),
        "/echo" if post => echo(req, res),
        "/error" if get => error(),
        "/db" if get => return Some(DbRequest::Db),
        "/queries" if get => return Some(DbRequest::Queries(query_count(req.target))),
        "/fortunes" if get => return Some(DbRequest::Fortunes),
        "/updates" if get => return Some(DbRequest::Updates(query_count(req.target))),
        "/" | "/json" | "/html" | "/error" | "/db" | "/queries" | "/fortunes" | "/updates" => {
            method_not_allowed(res, "GET, HEAD")
        }
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
    None
}

/// A database route, with its row count: `app` routes it, the connection awaits
/// [`DbRequest::answer`].
#[derive(Debug, Clone, Copy)]
enum DbRequest {
    Db,
    Queries(usize),
    Fortunes,
    Updates(usize),
}

impl DbRequest {
    /// Runs the handler against `pool` and returns its answer, an `Error` written as one.
    async fn answer(self, pool: Option<&Pool>) -> Response {
        let mut res = Response::default();
        let handled = match self {
            Self::Db => db(pool, &mut res).await,
            Self::Queries(count) => queries(pool, count, &mut res).await,
            Self::Fortunes => fortunes(pool, &mut res).await,
            Self::Updates(count) => updates(pool, count, &mut res).await,
        };
        if let Err(err) = handled {
            err.write_to(&mut res);
        }
        res
    }
}

/// The row count of `/queries` and `/updates`: the raw `q` of the query string, by hand as the
/// routing is (the first `q=` pair, not percent-decoded: it is a number), then the contract's
/// clamping.
fn query_count(target: &str) -> usize {
    let q = target
        .split_once('?')
        .and_then(|(_, query)| query.split('&').find_map(|pair| pair.strip_prefix("q=")));
    contract::query_count(q)
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

// route: db
// GET /db
async fn db(pool: Option<&Pool>, res: &mut Response) -> Result<(), Error> {
    let client = db::connection(pool).await?;
    // aspect: query: a statement deadpool-postgres prepares once per connection and caches (db.rs)
    let world = db::random_world(&client).await?;
    res.content_type = contract::APPLICATION_JSON;
    serde_json::to_writer(&mut res.body, &world)?;
    Ok(())
}
// end route

// route: queries
// GET /queries?q=N
async fn queries(pool: Option<&Pool>, count: usize, res: &mut Response) -> Result<(), Error> {
    let client = db::connection(pool).await?;
    let worlds = db::random_worlds(&client, count).await?;
    res.content_type = contract::APPLICATION_JSON;
    serde_json::to_writer(&mut res.body, &worlds)?;
    Ok(())
}
// end route

// route: fortunes
// GET /fortunes
async fn fortunes(pool: Option<&Pool>, res: &mut Response) -> Result<(), Error> {
    let client = db::connection(pool).await?;
    let fortunes = db::fortunes(&client).await?;
    res.content_type = contract::TEXT_HTML;
    // aspect: template: askama's compile-time template (templates/fortunes.html), escaped for HTML
    FortunesPage { fortunes }
        .write_into(&mut res.body)
        .map_err(|e| Error::Internal(e.into()))?;
    Ok(())
}
// end route

// route: updates
// GET /updates?q=N
async fn updates(pool: Option<&Pool>, count: usize, res: &mut Response) -> Result<(), Error> {
    let mut client = db::connection(pool).await?;
    let worlds = db::update_worlds(&mut client, count).await?;
    res.content_type = contract::APPLICATION_JSON;
    serde_json::to_writer(&mut res.body, &worlds)?;
    Ok(())
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
    // aspect: error-500: Error::write_to, called by app
    fn write_to(self, res: &mut Response) {
        res.reset();
        match self {
            Self::BadRequest => {
                res.status = 400;
                res.body.extend_from_slice(contract::BAD_REQUEST.as_bytes());
            }
            // aspect: db-error: DbError into Error (From), then no connection -> 503, a failed query -> 500
            Self::Unavailable(cause) => {
                if let Some(cause) = cause.filter(|_| startup::log_requests()) {
                    eprintln!("503 Service Unavailable: {cause}");
                }
                res.status = 503;
                res.body
                    .extend_from_slice(contract::SERVICE_UNAVAILABLE.as_bytes());
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
    pool: Option<Pool>,
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
        // aspect: pool: an Option<deadpool_postgres::Pool> (an Arc inside), cloned into each connection's task
        let pool = pool.clone();
        connections.spawn(async move {
            // aspect: connection-errors: returned by the connection's task, printed there
            if let Err(err) = serve_connection(stream, request_timeout, pool, stopped).await
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
    pool: Option<Pool>,
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
    // The answer of a database request that was put off, for the session to write in its turn.
    let mut ready: Option<Response> = None;
    loop {
        let closing = *stopped.borrow();
        let mut put_off = None;
        let answered = session.answer_ready(&buf, &mut out, closing, |req, res| {
            if let Some(answer) = ready.take() {
                *res = answer;
                return true;
            }
            put_off = app(req, res);
            put_off.is_none()
        });
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
        if let Some(request) = put_off {
            // It is still at the start of the buffer: answer it on the next turn.
            ready = Some(request.answer(pool.as_ref()).await);
            continue;
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
            Session::new(SERVER, Limits::default()).answer(request, &mut out, false, |req, res| {
                app(req, res);
            });
            out
        });
        assert_eq!(mismatches, Vec::<String>::new());
    }

    /// Answers `request` as a connection without a database would: put off, then answered.
    async fn answer(request: &str) -> String {
        let request = request.as_bytes();
        let mut session = Session::new(SERVER, Limits::default());
        let mut out = Vec::new();
        let mut put_off = None;
        session.answer_ready(request, &mut out, false, |req, res| {
            put_off = app(req, res);
            put_off.is_none()
        });
        if let Some(db_request) = put_off {
            assert!(out.is_empty(), "nothing is written for a request put off");
            let mut ready = Some(db_request.answer(None).await);
            session.answer_ready(request, &mut out, false, |_, res| {
                *res = ready.take().unwrap();
                true
            });
        }
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn without_a_database_the_database_routes_answer_503() {
        for route in contract::DATABASE_ROUTES {
            let answer = answer(&format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", route.path)).await;
            assert!(
                answer.starts_with("HTTP/1.1 503 "),
                "{}: {answer}",
                route.path
            );
            assert!(answer.ends_with(contract::SERVICE_UNAVAILABLE), "{answer}");
        }
        let post = answer("POST /db HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
        assert!(post.contains("allow: GET, HEAD\r\n"), "{post}");
    }

    #[test]
    fn q_is_read_from_the_query_string_then_clamped_by_the_contract() {
        for (q, rows) in contract::QUERY_COUNT_TABLE {
            let target = match q {
                Some(q) => format!("/queries?a=1&q={q}&q=7"),
                None => "/queries?a=1".to_owned(),
            };
            assert_eq!(query_count(&target), *rows, "{target}");
        }
        assert_eq!(query_count("/queries?qq=3"), 1);
    }
}
