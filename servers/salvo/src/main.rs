//! The http-rosetta service on salvo 1: a tree of `Router`s, `#[handler]` functions that take
//! what they need (`&mut Request`, `&mut Response`, `&mut Depot`), hoops (salvo's middleware)
//! around them, a `Catcher` for the errors nobody answered, and an error type that implements
//! `Writer` so handlers can use `?`. Beyond the Go article: its closest idea is echo's router.
//!
//! Run it: `cargo run --release -p server-salvo -- --addr 127.0.0.1:8088`, then
//! `curl -i http://127.0.0.1:8088/json`.
//!
//! # Layout
//! `main` builds the runtime, binds and calls `serve`; `app` is the Service with its Router;
//! the handlers follow in contract order; tests last. `serve.rs` holds salvo's Server, the hoops
//! `app` installs, `render_json` and the error type; `db.rs` the pool, queries and template.

use askama::Template;
use contract::{Fortune, Message, User};
use salvo::catcher::Catcher;
use salvo::http::request::SecureMaxSize;
use salvo::http::{Request, Response, StatusCode};
use salvo::prelude::Text;
use salvo::{Depot, FlowCtrl, Router, Service, affix_state, handler};
use startup::ServerArgs;

mod db;
mod serve;

use serve::{Error, render_json};

fn main() {
    let args = ServerArgs::parse_for("salvo");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads())
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    runtime.block_on(async {
        let listener = startup::bind_listener(args.addr).expect("cannot bind the address");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let listener = serve::acceptor(listener).expect("cannot listen on the address");
        // Installed before the ready line, so that a signal sent right after it is not lost.
        let shutdown = serve::shutdown_signal();
        let pool = db::pool(args.database_url.as_deref(), args.pool_size)
            .expect("the database URL is not a valid postgres:// URL");
        startup::print_ready_line(addr);
        serve::serve(listener, app(pool), args.header_timeout, shutdown).await;
    });
}

/// The whole service, without a socket: tests drive it with salvo's `TestClient`.
fn app(pool: Option<sqlx::PgPool>) -> Service {
    // aspect: routing: a tree of Routers, one per path, a method filter per goal
    let router = Router::new()
        // aspect: body-limit: the SecureMaxSize hoop bounds every body-reading helper
        .hoop(SecureMaxSize::new(contract::MAX_BODY_BYTES))
        .get(plaintext)
        .head(plaintext)
        .push(Router::with_path("json").get(json).head(json))
        .push(Router::with_path("html").get(html).head(html))
        .push(Router::with_path("users/{id}").get(user).head(user))
        .push(Router::with_path("echo").post(echo))
        .push(Router::with_path("error").get(error).head(error))
        .push(Router::with_path("db").get(single_query).head(single_query))
        .push(Router::with_path("queries").get(queries).head(queries))
        .push(Router::with_path("fortunes").get(fortunes).head(fortunes))
        .push(Router::with_path("updates").get(updates).head(updates));
    // aspect: pool: an affix_state hoop puts the PgPool in every request's Depot (none: 503)
    let router = match pool {
        Some(pool) => router.hoop(affix_state::inject(pool)),
        None => router,
    };
    // The Service's hoops run for every request, routed or not. salvo answers 405 with `Allow`
    // itself; the catcher writes the body of every error response that has none.
    Service::new(router)
        .hoop(serve::server_header)
        .hoop(serve::head_length)
        .hoop(serve::host_rules)
        // aspect: not-found: the Catcher writes the body of salvo's own 404 (and 405)
        .catcher(Catcher::new(not_found))
}

// route: plaintext
// GET /
#[handler]
async fn plaintext() -> &'static str {
    contract::HELLO
}
// end route

// route: json
// GET /json
#[handler]
async fn json(res: &mut Response) {
    render_json(res, &Message::hello());
}
// end route

// route: html
// GET /html
#[handler]
async fn html() -> Text<&'static str> {
    Text::Html(contract::HTML_PAGE)
}
// end route

// route: users
// GET /users/{id}
#[handler]
async fn user(req: &mut Request, res: &mut Response) -> Result<(), Error> {
    // aspect: path-parameter: Request::param::<u32>("id"); None when it does not parse
    let id: u32 = req.param("id").ok_or(Error::BadRequest)?;
    render_json(res, &User::new(id));
    Ok(())
}
// end route

// route: echo
// POST /echo
#[handler]
async fn echo(req: &mut Request, res: &mut Response) -> Result<(), Error> {
    // aspect: json-body: Request::parse_json, which checks the content type and the size limit
    let message: Message = req.parse_json().await?;
    render_json(res, &message);
    Ok(())
}
// end route

// route: error
// GET /error
#[handler]
async fn error() -> Result<(), Error> {
    Err(Error::Internal("this route always fails".into()))
}
// end route

// route: not-found
// any other path (and a known path with another method: salvo sets 405 and `Allow`)
#[handler]
async fn not_found(res: &mut Response, ctrl: &mut FlowCtrl) {
    let body = match res.status_code {
        Some(StatusCode::METHOD_NOT_ALLOWED) => contract::METHOD_NOT_ALLOWED,
        Some(StatusCode::NOT_FOUND) | None => contract::NOT_FOUND,
        // Errors salvo raised itself: the reason phrase, in the contract's plain text.
        Some(status) => status.canonical_reason().unwrap_or("Error"),
    };
    res.render(Text::Plain(body));
    ctrl.skip_rest();
}
// end route

// route: db
// GET /db
#[handler]
async fn single_query(depot: &mut Depot, res: &mut Response) -> Result<(), Error> {
    let mut conn = db::connection(depot).await?;
    render_json(res, &db::random_world(&mut conn).await?);
    Ok(())
}
// end route

// route: queries
// GET /queries?q=N
#[handler]
async fn queries(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), Error> {
    let mut conn = db::connection(depot).await?;
    let worlds = db::random_worlds(&mut conn, db::query_count(req)).await?;
    render_json(res, &worlds);
    Ok(())
}
// end route

// route: fortunes
// GET /fortunes
#[handler]
async fn fortunes(depot: &mut Depot, res: &mut Response) -> Result<(), Error> {
    let mut conn = db::connection(depot).await?;
    let mut rows = db::fortunes(&mut conn).await?;
    rows.push(Fortune::extra());
    rows.sort_by(|a, b| a.message.cmp(&b.message));
    // aspect: template: an askama Template struct, rendered to a String, answered as Text::Html
    res.render(Text::Html(db::FortunesPage { fortunes: rows }.render()?));
    Ok(())
}
// end route

// route: updates
// GET /updates?q=N
#[handler]
async fn updates(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), Error> {
    let mut conn = db::connection(depot).await?;
    let mut worlds = db::random_worlds(&mut conn, db::query_count(req)).await?;
    for world in &mut worlds {
        world.random_number = db::random_id();
    }
    db::update_worlds(&mut conn, &mut worlds).await?;
    render_json(res, &worlds);
    Ok(())
}
// end route

#[cfg(test)]
mod tests {
    use salvo::http::header;
    use salvo::test::{RequestBuilder, ResponseExt};

    use super::*;

    #[tokio::test]
    async fn handlers_answer_the_contract_in_process() {
        let service = app(None);
        // The builder always sends a `Host` line: the row without one is checked on the wire
        // by the conformance suite.
        let cases = contract::cases().into_iter();
        for case in cases.filter(|case| case.host != contract::HostHeader::Missing) {
            let url = match case.path.starts_with('/') {
                true => format!("http://localhost{}", case.path),
                false => case.path.clone(),
            };
            let mut req =
                RequestBuilder::new(&url, case.method.parse().unwrap()).body(case.body.clone());
            for (i, host) in case.host.values().iter().enumerate() {
                req = req.add_header(header::HOST, *host, i == 0);
            }
            if let Some(ct) = case.content_type {
                req = req.add_header(header::CONTENT_TYPE, ct, true);
            }
            let mut res = req.send(&service).await;
            assert_eq!(
                res.status_code.unwrap().as_u16(),
                case.status,
                "{}",
                case.name
            );
            assert_eq!(res.headers()[header::SERVER], "salvo", "{}", case.name);
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                case.response_content_type,
                "{}",
                case.name
            );
            if let Some(allow) = case.allow {
                let got = res
                    .headers()
                    .get(header::ALLOW)
                    .map(|v| v.to_str().unwrap());
                assert_eq!(
                    got.map(conformance::method_set),
                    Some(conformance::method_set(allow)),
                    "{}",
                    case.name
                );
            }
            assert_eq!(
                res.take_bytes(None).await.unwrap().as_ref(),
                case.response_body,
                "{}",
                case.name
            );
        }
    }
}
