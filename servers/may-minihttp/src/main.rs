//! The http-rosetta service on may_minihttp: stackful coroutines (the `may` runtime) instead of
//! async/await. Each connection is a coroutine that reads, parses and writes with plain
//! blocking-style calls, and `may` parks it on epoll when a socket would block: the closest Rust
//! has to Go's goroutine per connection, which every server of the Go article relies on. The Go
//! article's closest idea is fasthttp: an engine built for benchmarks, with no router.
//!
//! may_minihttp owns the connection loop and hands each parsed request to `App::call`, which
//! routes by hand, as the tokio server does. What the engine does not let a service do (its
//! `Server` header is always `M`, it has no header timeout, no chunked bodies, no
//! `100 Continue`) is listed in the README as known deviations, each pinned by a test.
//!
//! Run it: `cargo run --release -p server-may-minihttp -- --addr 127.0.0.1:8090`, then
//! `curl -i http://127.0.0.1:8090/json`.
//!
//! # Layout
//! `main` configures may; `app` and `route` route; handlers in contract order; tests last.
//! `serve.rs`: `App` (called once per request: head checks, errors as answers, unread bodies
//! skipped, the connection ended when due), the accept coroutine, the signal. `db.rs`: the pool.

use std::io::Read;

use askama::Template;
use bytes::BufMut;
use contract::{Message, User};
use db::{Database, Db, FortunesPage};
use may_minihttp::{Request, Response};
use serve::{Error, method_not_allowed, text};
use startup::ServerArgs;

mod db;
mod serve;

fn main() {
    let args = ServerArgs::parse_for("may-minihttp");
    // One scheduler thread per core; coroutines move between them (work stealing).
    may::config()
        .set_workers(args.threads())
        // 64 KiB per coroutine: serde_json and httparse's header array fit with room to spare.
        .set_stack_size(0x2000);
    let (server, addr) =
        serve::serve(args.addr, db::from_args(&args)).expect("cannot bind the address");
    // Installed before the ready line, so that a signal sent right after it is not lost.
    serve::shutdown_signal();
    startup::print_ready_line(addr);
    // The accept coroutine runs until the process exits.
    let _ = server.join();
}

/// `POST /echo` reads its body; every other request is routed, its body skipped (serve.rs).
fn app(req: Request, rsp: &mut Response, db: Option<&Database>) -> Result<(), Error> {
    if serve::path_of(req.path()) == "/echo" && req.method() == "POST" {
        return echo(req, rsp);
    }
    serve::skipping_body(req, |req| route(req, rsp, db))
}

/// Routing by hand: the path first, then the method, so that a known path with another method
/// is a 405 that lists the methods it takes.
// aspect: routing: a match on the path, then the method, inside HttpService::call
fn route(req: &Request, rsp: &mut Response, db: Option<&Database>) -> Result<(), Error> {
    let path = serve::path_of(req.path());
    let get = matches!(req.method(), "GET" | "HEAD");
    match path {
        "/" if get => plaintext(rsp),
        "/json" if get => json(rsp)?,
        "/html" if get => html(rsp),
        "/error" if get => error()?,
        "/db" if get => world(rsp, db)?,
        "/queries" if get => queries(serve::query_count(req.path()), rsp, db)?,
        "/fortunes" if get => fortunes(rsp, db)?,
        "/updates" if get => updates(serve::query_count(req.path()), rsp, db)?,
        "/" | "/json" | "/html" | "/error" | "/db" | "/queries" | "/fortunes" | "/updates" => {
            method_not_allowed(rsp, "Allow: GET, HEAD");
        }
        // POST /echo is answered by `app`, which hands it its body.
        "/echo" => method_not_allowed(rsp, "Allow: POST"),
        // aspect: path-parameter: strip_prefix("/users/"), then str::parse::<u32>
        _ => match path.strip_prefix("/users/") {
            Some(id) if !id.is_empty() && !id.contains('/') && get => user(id, rsp)?,
            Some(id) if !id.is_empty() && !id.contains('/') => {
                method_not_allowed(rsp, "Allow: GET, HEAD");
            }
            // aspect: not-found: the last match arm
            _ => not_found(rsp),
        },
    }
    Ok(())
}

// route: plaintext
// GET /
fn plaintext(rsp: &mut Response) {
    rsp.header("Content-Type: text/plain; charset=utf-8")
        .body(contract::HELLO);
}
// end route

// route: json
// GET /json
fn json(rsp: &mut Response) -> Result<(), Error> {
    rsp.header("Content-Type: application/json");
    serde_json::to_writer(rsp.body_mut().writer(), &Message::hello())?;
    Ok(())
}
// end route

// route: html
// GET /html
fn html(rsp: &mut Response) {
    rsp.header("Content-Type: text/html; charset=utf-8")
        .body(contract::HTML_PAGE);
}
// end route

// route: users
// GET /users/{id}
fn user(id: &str, rsp: &mut Response) -> Result<(), Error> {
    let id: u32 = id.parse().map_err(|_| Error::BadRequest)?;
    rsp.header("Content-Type: application/json");
    serde_json::to_writer(rsp.body_mut().writer(), &User::new(id))?;
    Ok(())
}
// end route

// route: echo
// POST /echo
fn echo(req: Request, rsp: &mut Response) -> Result<(), Error> {
    let json = serve::declares_json(&req);
    // aspect: body-limit: read at most one byte past the limit; dropping the reader skips the rest
    let mut body = Vec::new();
    req.body()
        .take(contract::MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| Error::Internal(e.into()))?;
    if body.len() > contract::MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    if !json {
        return Err(Error::BadRequest);
    }
    // aspect: json-body: serde_json on the body that may_minihttp's BodyReader read
    let message: Message = serde_json::from_slice(&body).map_err(|_| Error::BadRequest)?;
    rsp.header("Content-Type: application/json");
    serde_json::to_writer(rsp.body_mut().writer(), &message)?;
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
fn world(rsp: &mut Response, db: Option<&Database>) -> Result<(), Error> {
    // aspect: query: a prepared statement on a blocking r2d2 connection, on a database thread (db.rs)
    let world = Database::run(db, Db::random_world)?;
    rsp.header("Content-Type: application/json");
    Ok(serde_json::to_writer(rsp.body_mut().writer(), &world)?)
}
// end route

// route: queries
// GET /queries?q=N
fn queries(count: usize, rsp: &mut Response, db: Option<&Database>) -> Result<(), Error> {
    let worlds = Database::run(db, move |db| db.random_worlds(count))?;
    rsp.header("Content-Type: application/json");
    Ok(serde_json::to_writer(rsp.body_mut().writer(), &worlds)?)
}
// end route

// route: fortunes
// GET /fortunes
fn fortunes(rsp: &mut Response, db: Option<&Database>) -> Result<(), Error> {
    let fortunes = Database::run(db, Db::fortunes)?;
    rsp.header("Content-Type: text/html; charset=utf-8");
    // aspect: template: askama's compile-time template (templates/fortunes.html), escaped for HTML
    Ok(FortunesPage { fortunes }.write_into(&mut rsp.body_mut().writer())?)
}
// end route

// route: updates
// GET /updates?q=N
fn updates(count: usize, rsp: &mut Response, db: Option<&Database>) -> Result<(), Error> {
    let worlds = Database::run(db, move |db| db.update_worlds(count))?;
    rsp.header("Content-Type: application/json");
    Ok(serde_json::to_writer(rsp.body_mut().writer(), &worlds)?)
}
// end route

// route: not-found
// any other path
fn not_found(rsp: &mut Response) {
    text(rsp, 404, "Not Found", contract::NOT_FOUND);
}
// end route

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_routed_by_their_path() {
        assert_eq!(serve::path_of("/json"), "/json");
        assert_eq!(serve::path_of("/json?x=1"), "/json");
        assert_eq!(serve::path_of("http://localhost/users/7?a=b"), "/users/7");
        assert_eq!(serve::path_of("http://localhost"), "/");
    }

    #[test]
    fn q_is_read_from_the_query_string_then_clamped_by_the_contract() {
        for (q, rows) in contract::QUERY_COUNT_TABLE {
            let target = match q {
                Some(q) => format!("/queries?a=1&q={q}&q=7"),
                None => "/queries?a=1".to_owned(),
            };
            assert_eq!(serve::query_count(&target), *rows, "{target}");
        }
        assert_eq!(serve::query_count("/queries?qq=3"), 1);
    }
}
