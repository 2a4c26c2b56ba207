//! The http-rosetta service on Rocket 0.5: each route is an attribute macro on its handler,
//! what a handler needs arrives through request guards (`Result<u32, &str>` for the path
//! parameter, `Json<Message>` for the body), catchers answer what no route did, and fairings
//! hook into the request's life. The most "framework" of all the stacks. Beyond the Go article:
//! its closest idea is echo's route table, but nothing there routes by attribute.
//!
//! Rocket has no header read timeout: `--header-timeout` is accepted and has no effect (see the
//! README's known deviations).
//!
//! Run it: `cargo run --release -p server-rocket -- --addr 127.0.0.1:8089`, then
//! `curl -i http://127.0.0.1:8089/json`.
//!
//! # Layout
//! `main` builds the runtime and calls `serve`; `app` is the Rocket; the handlers and catchers
//! follow in contract order, then the error type; tests last. `serve.rs` holds `config`, launches
//! the Rocket until `shutdown_signal`, and holds the fairings `app` attaches (the head rules, the
//! ready line) and the error's response; `db.rs` the pool, its settings and the queries.

use std::process::ExitCode;

use contract::{Fortune, Message, User, World};
use db::Db;
use rocket::figment::Figment;
use rocket::http::{ContentType, Method};
use rocket::response::content::RawHtml;
use rocket::serde::json::{Error as JsonError, Json};
use rocket::{Build, Request, Rocket, catch, catchers, get, post, routes};
use rocket_db_pools::{Connection, Database};
use rocket_dyn_templates::{Template, context};
use startup::ServerArgs;

mod db;
mod serve;

fn main() -> ExitCode {
    let args = ServerArgs::parse_for("rocket");
    // Rocket reads its worker count only from its own config files and environment, so the
    // runtime is built here, as axum's is.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads())
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    runtime.block_on(async {
        // Installed before the ready line (printed at liftoff), so that a signal sent right
        // after it is not lost.
        let shutdown = serve::shutdown_signal();
        let config = serve::config(args.addr, args.threads());
        let config = db::figment(config, args.database_url.as_deref(), args.pool_size);
        serve::serve(app(config), shutdown).await
    })
}

/// The whole service, without a socket: tests drive it with `rocket::local`.
fn app(config: Figment) -> Rocket<Build> {
    // aspect: routing: attribute macros on the handlers, mounted with routes![]
    rocket::custom(config)
        .mount("/", routes![plaintext, json, html, user, echo, error])
        .mount("/", routes![single_query, queries, fortunes, updates])
        // aspect: not-found: a #[catch(404)] catcher, which also finds the 405s
        .register("/", catchers![not_found, serve::other_errors])
        .attach(Db::init())
        .attach(Template::fairing())
        .attach(serve::head_rules_fairing())
        .attach(serve::ready_line())
}

// route: plaintext
// GET /
#[get("/")]
fn plaintext() -> &'static str {
    contract::HELLO
}
// end route

// route: json
// GET /json
#[get("/json")]
fn json() -> Json<Message> {
    Json(Message::hello())
}
// end route

// route: html
// GET /html
#[get("/html")]
fn html() -> RawHtml<&'static str> {
    RawHtml(contract::HTML_PAGE)
}
// end route

// route: users
// GET /users/{id}
// aspect: path-parameter: a <id> segment taken as Result<u32, &str>: a bad id is ours to answer
#[get("/users/<id>")]
fn user(id: Result<u32, &str>) -> Result<Json<User>, Error> {
    let id = id.map_err(|_| Error::BadRequest)?;
    Ok(Json(User::new(id)))
}
// end route

// route: echo
// POST /echo
// aspect: json-body: the Json<Message> data guard taken as a Result, and a ContentType guard
#[post("/echo", data = "<message>")]
fn echo(
    content_type: Option<&ContentType>,
    message: Result<Json<Message>, JsonError<'_>>,
) -> Result<Json<Message>, Error> {
    if !content_type.is_some_and(|ct| ct.is_json()) {
        return Err(Error::BadRequest);
    }
    Ok(Json(message?.into_inner()))
}
// end route

// route: error
// GET /error
#[get("/error")]
fn error() -> Result<(), Error> {
    Err(Error::Internal("this route always fails".into()))
}
// end route

// route: not-found
// any other path (and a known path with another method: Rocket has no 405 of its own)
#[catch(404)]
fn not_found(req: &Request<'_>) -> Error {
    let allow: Vec<&str> = req
        .rocket()
        .routes()
        .filter(|route| serve::path_matches(route.uri.path(), req.uri().path().as_str()))
        .flat_map(|route| match route.method {
            // Rocket answers HEAD with the GET route.
            Method::Get => ["GET", "HEAD"].as_slice(),
            Method::Post => ["POST"].as_slice(),
            _ => [].as_slice(),
        })
        .copied()
        .collect();
    if allow.is_empty() {
        Error::NotFound
    } else {
        Error::MethodNotAllowed(allow.join(", "))
    }
}
// end route

// route: db
// GET /db
#[get("/db")]
async fn single_query(mut db: Connection<Db>) -> Result<Json<World>, Error> {
    Ok(Json(db::random_world(&mut db).await?))
}
// end route

// route: queries
// GET /queries?q=N
#[get("/queries?<q>")]
async fn queries(mut db: Connection<Db>, q: Option<&str>) -> Result<Json<Vec<World>>, Error> {
    let count = contract::query_count(q);
    Ok(Json(db::random_worlds(&mut db, count).await?))
}
// end route

// route: fortunes
// GET /fortunes
#[get("/fortunes")]
async fn fortunes(mut db: Connection<Db>) -> Result<Template, Error> {
    let mut fortunes = db::fortunes(&mut db).await?;
    fortunes.push(Fortune::extra());
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    // aspect: template: Template::render of templates/fortunes.html.tera, which Tera escapes as HTML
    Ok(Template::render("fortunes", context! { fortunes }))
}
// end route

// route: updates
// GET /updates?q=N
#[get("/updates?<q>")]
async fn updates(mut db: Connection<Db>, q: Option<&str>) -> Result<Json<Vec<World>>, Error> {
    let count = contract::query_count(q);
    Ok(Json(db::update_worlds(&mut db, count).await?))
}
// end route

/// What a handler or a catcher can answer with besides success; a `Responder`, so handlers
/// return `Result` and use `?`.
#[derive(Debug)]
enum Error {
    BadRequest,
    PayloadTooLarge,
    HeadTooLarge,
    NotFound,
    MethodNotAllowed(String),
    Internal(Box<dyn std::error::Error + Send + Sync>),
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use rocket::http::{Header, Status};
    use rocket::local::asynchronous::Client;

    use super::*;

    #[rocket::async_test]
    async fn handlers_answer_the_contract_in_process() {
        let client =
            Client::untracked(app(serve::config(SocketAddr::from(([127, 0, 0, 1], 0)), 1)))
                .await
                .expect("a valid rocket");
        // Rocket's local client takes origin-form targets only: the absolute-form row is
        // checked on the wire by the conformance suite.
        let cases = contract::cases().into_iter();
        for case in cases.filter(|case| case.path.starts_with('/')) {
            let method: Method = case.method.parse().unwrap();
            let mut req = client
                .req(method, case.path.clone())
                .body(case.body.clone());
            for host in case.host.values() {
                req.add_header(Header::new("Host", *host));
            }
            if let Some(ct) = case.content_type {
                req.add_header(Header::new("Content-Type", ct));
            }
            let res = req.dispatch().await;
            assert_eq!(res.status().code, case.status, "{}", case.name);
            assert_eq!(
                res.headers().get_one("Server"),
                Some("rocket"),
                "{}",
                case.name
            );
            assert_eq!(
                res.headers().get_one("Content-Type"),
                Some(case.response_content_type),
                "{}",
                case.name
            );
            if let Some(allow) = case.allow {
                assert_eq!(res.headers().get_one("Allow"), Some(allow), "{}", case.name);
            }
            let body = res.into_bytes().await.unwrap_or_default();
            assert_eq!(body, case.response_body, "{}", case.name);
        }
    }

    #[rocket::async_test]
    async fn without_a_database_the_routes_answer_503() {
        let config = serve::config(SocketAddr::from(([127, 0, 0, 1], 0)), 1);
        let client = Client::untracked(app(db::figment(config, None, None)))
            .await
            .expect("a valid rocket");
        for route in contract::DATABASE_ROUTES {
            let res = client
                .get(route.path)
                .header(Header::new("Host", "localhost"))
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::ServiceUnavailable, "{}", route.path);
            assert_eq!(res.headers().get_one("Server"), Some("rocket"));
            assert_eq!(
                res.headers().get_one("Content-Type"),
                Some(contract::TEXT_PLAIN)
            );
            let body = res.into_string().await.unwrap_or_default();
            assert_eq!(body, contract::SERVICE_UNAVAILABLE);
        }
    }
}
