//! The route contract that every http-rosetta server obeys, as data.
//!
//! Servers take their bodies, payload types and limits from here so that all of them answer with
//! the same bytes; the load generator and the tests take the route table and the conformance
//! cases from here so that they check what the servers promise. Nothing here routes, extracts or
//! answers a request: each server does that in its own stack's idiom.
//!
//! # Layout
//! - bodies, content types and limits: [`HELLO`], [`HTML_PAGE`], [`MAX_BODY_BYTES`], …
//! - payload types: [`Message`], [`User`]
//! - the route table: [`ROUTES`], and the database routes [`DATABASE_ROUTES`] with their schema
//!   ([`DATABASE_SCHEMA`]) and rows ([`World`], [`Fortune`]); the servers: [`SERVERS`]
//! - the shared command line and ready line: [`ServerArgs`], [`print_ready_line`]
//! - the conformance cases: [`cases`], the request-framing corpus: [`framing_cases`], and the
//!   stacks' known deviations: [`DEVIATIONS`] (those a proxy could exploit marked `security`)

use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};
use serde::{Deserialize, Serialize};

// The bytes every server shares live as files in `data/`, so that the Go servers embed
// (`go:embed`) exactly what these constants include: one copy for both languages.

mod database;
mod framing;
pub use database::{
    DATABASE_NAME, DATABASE_PASSWORD, DATABASE_ROUTES, DATABASE_SCHEMA, DATABASE_URL_ENV,
    DATABASE_USER, EXTRA_FORTUNE, FORTUNE_ROWS, Fortune, MAX_QUERIES, QUERY_COUNT_TABLE,
    SERVICE_UNAVAILABLE, WORLD_ROWS, World, query_count,
};
pub use framing::{FOLLOW_UP, FramingCase, framing_cases};

/// Body of `GET /`.
pub const HELLO: &str = include_str!("../data/hello.txt");
/// Body of `GET /html`: one small HTML5 page, the same bytes from every server.
pub const HTML_PAGE: &str = include_str!("../data/page.html");

/// Content type of plain text bodies, the error bodies included.
pub const TEXT_PLAIN: &str = include_str!("../data/text_plain.txt");
/// Content type of JSON bodies.
pub const APPLICATION_JSON: &str = include_str!("../data/application_json.txt");
/// Content type of `GET /html`.
pub const TEXT_HTML: &str = include_str!("../data/text_html.txt");

/// Largest request head (request line and headers) a server accepts; a larger one is answered
/// `431 Request Header Fields Too Large` (or the connection is closed).
pub const MAX_HEAD_BYTES: usize = parse_number(include_str!("../data/max_head_bytes.txt"));
/// Largest request body a server accepts; a larger one is answered `413 Payload Too Large`.
pub const MAX_BODY_BYTES: usize = parse_number(include_str!("../data/max_body_bytes.txt"));
/// How long a server lets in-flight requests run after SIGINT or SIGTERM before it exits.
pub const SHUTDOWN_GRACE: Duration =
    Duration::from_secs(parse_number(include_str!("../data/shutdown_grace_secs.txt")) as u64);
/// Environment variable that turns on request logging (to stderr); off by default so that
/// nothing is written on the request path while a benchmark runs.
pub const LOG_ENV: &str = "ROSETTA_LOG";

/// Body of a `400 Bad Request`.
pub const BAD_REQUEST: &str = include_str!("../data/bad_request.txt");
/// Body of a `404 Not Found`.
pub const NOT_FOUND: &str = include_str!("../data/not_found.txt");
/// Body of a `405 Method Not Allowed`.
pub const METHOD_NOT_ALLOWED: &str = include_str!("../data/method_not_allowed.txt");
/// Body of a `413 Payload Too Large`.
pub const PAYLOAD_TOO_LARGE: &str = include_str!("../data/payload_too_large.txt");
/// Body of a `500 Internal Server Error`.
pub const INTERNAL_SERVER_ERROR: &str = include_str!("../data/internal_server_error.txt");

/// A limit of `data/` as a number, at compile time: a file that is not plain decimal digits
/// (a stray newline included) fails the build rather than changing a limit.
const fn parse_number(text: &str) -> usize {
    let digits = text.as_bytes();
    assert!(!digits.is_empty(), "a limit in data/ is empty");
    let mut value = 0;
    let mut i = 0;
    while i < digits.len() {
        let digit = digits[i];
        assert!(
            digit.is_ascii_digit(),
            "a limit in data/ must be decimal digits only"
        );
        value = value * 10 + (digit - b'0') as usize;
        i += 1;
    }
    value
}

/// The payload of `GET /json` and of `POST /echo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Any string.
    pub message: String,
}

impl Message {
    /// The message `GET /json` answers with.
    pub fn hello() -> Self {
        Self {
            message: HELLO.to_owned(),
        }
    }
}

/// The payload of `GET /users/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The id from the path.
    pub id: u32,
    /// `user-<id>`.
    pub name: String,
}

impl User {
    /// The user that `GET /users/{id}` answers with.
    pub fn new(id: u32) -> Self {
        Self {
            id,
            name: format!("user-{id}"),
        }
    }
}

/// One route of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Short name, used for scenarios and for the route markers in the servers' source.
    pub name: &'static str,
    /// The method that succeeds.
    pub method: &'static str,
    /// The path, with `{id}` for the path parameter.
    pub path: &'static str,
    /// The `Allow` header of a `405` on this path.
    pub allow: &'static str,
}

impl Route {
    /// The status its conformance case expects of a request to it (200 unless the route is
    /// the one that fails on purpose).
    pub fn status(&self) -> u16 {
        let path = self.path.replace("{id}", "42");
        cases()
            .iter()
            .find(|c| c.path == path && c.method == self.method)
            .map_or(200, |c| c.status)
    }
}

/// Every route of the contract, in contract order (the order handlers appear in each server).
pub const ROUTES: &[Route] = &[
    Route {
        name: "plaintext",
        method: "GET",
        path: "/",
        allow: "GET, HEAD",
    },
    Route {
        name: "json",
        method: "GET",
        path: "/json",
        allow: "GET, HEAD",
    },
    Route {
        name: "html",
        method: "GET",
        path: "/html",
        allow: "GET, HEAD",
    },
    Route {
        name: "users",
        method: "GET",
        path: "/users/{id}",
        allow: "GET, HEAD",
    },
    Route {
        name: "echo",
        method: "POST",
        path: "/echo",
        allow: "POST",
    },
    Route {
        name: "error",
        method: "GET",
        path: "/error",
        allow: "GET, HEAD",
    },
];

/// How a server is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// The package `server-<name>` of this cargo workspace.
    Cargo,
    /// The Go module in `servers/<name>`, built with `go build -o server-<name>` (Go 1.26 or
    /// newer on `PATH`, or in `/usr/local/go/bin`); without Go it is skipped, with one line
    /// that says so.
    Go,
}

impl Build {
    /// The language, for tables: `Rust` or `Go`.
    pub fn language(self) -> &'static str {
        match self {
            Self::Cargo => "Rust",
            Self::Go => "Go",
        }
    }
}

/// One server of the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    /// Short name: the folder under `servers/`, the binary is `server-<name>`, the `Server`
    /// header says this.
    pub name: &'static str,
    /// Default port, so that all of them can run at once.
    pub port: u16,
    /// What it is built on.
    pub built_on: &'static str,
    /// Its counterpart in the Go article that wrote one server six ways (for a Go server: which
    /// of the six it is).
    pub go_counterpart: &'static str,
    /// How it is built: with cargo, or with `go build`.
    pub build: Build,
    /// For a Go server, the Rust servers that answer the same idea, for the side-by-side view;
    /// empty for the Rust servers.
    pub rust_counterparts: &'static [&'static str],
}

/// The servers, in the order the README lists them (the ten Rust ones, then the Go article's
/// six in Go): a new server is one more row.
pub const SERVERS: &[ServerInfo] = &[
    ServerInfo {
        name: "std",
        port: 8081,
        built_on: "std::net only: blocking sockets, a thread per connection, httparse",
        go_counterpart: "net/http with HandleFunc (the bare basics)",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "tokio",
        port: 8082,
        built_on: "tokio's TcpListener + httparse: a hand-written async HTTP/1.1 server",
        go_counterpart: "fasthttp (low level, built for speed)",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "hyper",
        port: 8083,
        built_on: "hyper 1.x + hyper-util: service_fn and a match on method and path",
        go_counterpart: "net/http with its own Handler",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "axum",
        port: 8084,
        built_on: "axum 0.8",
        go_counterpart: "echo",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "actix-web",
        port: 8085,
        built_on: "actix-web 4",
        go_counterpart: "gin",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "warp",
        port: 8086,
        built_on: "warp 0.4 filters",
        go_counterpart: "fasthttp + fasthttprouter",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "ntex",
        port: 8087,
        built_on: "ntex 3 on its own runtime: actix-web's sibling, rebuilt for speed",
        go_counterpart: "gin, as actix-web (closest idea)",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "salvo",
        port: 8088,
        built_on: "salvo 1: a tree of Routers, #[handler] functions, hoops and a Depot",
        go_counterpart: "beyond the article (closest idea: the router and middleware of echo)",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "rocket",
        port: 8089,
        built_on: "Rocket 0.5: attribute-macro routes, request guards, catchers",
        go_counterpart: "beyond the article (nothing there routes by attribute)",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "may-minihttp",
        port: 8090,
        built_on: "may_minihttp on may's stackful coroutines, routed by hand",
        go_counterpart: "net/http: a goroutine per connection (closest idea); an engine like fasthttp",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "go-nethttp",
        port: 8091,
        built_on: "Go net/http: http.HandleFunc on the default ServeMux",
        go_counterpart: "way 1 of the six: net/http with HandleFunc",
        build: Build::Go,
        rust_counterparts: &["std", "may-minihttp"],
    },
    ServerInfo {
        name: "go-handler",
        port: 8092,
        built_on: "Go net/http: a Handler type of its own that routes from a table",
        go_counterpart: "way 2 of the six: net/http with its own Handler",
        build: Build::Go,
        rust_counterparts: &["hyper"],
    },
    ServerInfo {
        name: "go-echo",
        port: 8093,
        built_on: "echo v4 (labstack/echo) on net/http",
        go_counterpart: "way 3 of the six: echo",
        build: Build::Go,
        rust_counterparts: &["axum", "salvo"],
    },
    ServerInfo {
        name: "go-gin",
        port: 8094,
        built_on: "gin (gin-gonic/gin) on net/http, release mode",
        go_counterpart: "way 4 of the six: gin",
        build: Build::Go,
        rust_counterparts: &["actix-web", "ntex"],
    },
    ServerInfo {
        name: "go-fasthttp",
        port: 8095,
        built_on: "fasthttp (valyala/fasthttp): one RequestHandler switching on the path",
        go_counterpart: "way 5 of the six: fasthttp",
        build: Build::Go,
        rust_counterparts: &["tokio", "may-minihttp"],
    },
    ServerInfo {
        name: "go-fasthttprouter",
        port: 8096,
        built_on: "fasthttp with fasthttp/router (buaazp/fasthttprouter's successor)",
        go_counterpart: "way 6 of the six: fasthttp + fasthttprouter",
        build: Build::Go,
        rust_counterparts: &["warp"],
    },
];

/// Looks a server up by its short name.
pub fn server(name: &str) -> Option<&'static ServerInfo> {
    SERVERS.iter().find(|s| s.name == name)
}

/// The command line every server takes: `server-<name> [--addr HOST:PORT] [--threads N]`.
#[derive(Debug, Clone, Parser)]
pub struct ServerArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: SocketAddr,
    /// Worker threads [default: the available cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
    /// How long a client may take to send a whole request head (and, for the hand-written
    /// servers, its body) before the connection is dropped: the defence against slowloris.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, default_value = "10s")]
    pub header_timeout: Duration,
    /// PostgreSQL URL of the database routes (`postgres://user:password@host:port/db`); without
    /// one they answer 503 and the rest of the service works as before.
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most database connections in the pool [default: the stack's own recommendation, which
    /// the server's README names].
    #[arg(long, value_name = "N")]
    pub pool_size: Option<NonZeroUsize>,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("the timeout must be longer than zero".to_owned()),
        Err(err) => Err(format!(
            "{text:?} is not a duration like 10s or 500ms: {err}"
        )),
    }
}

/// The servers whose stack has no header read timeout: they accept `--header-timeout` (so
/// every server takes the same command line) and say in `--help` that it has no effect.
pub const WITHOUT_HEADER_TIMEOUT: &[&str] = &["rocket", "may-minihttp"];

impl ServerArgs {
    /// Parses the process arguments for the server called `name`, whose default address is
    /// `127.0.0.1:<its port>`. Prints usage and exits on bad input, as clap does.
    pub fn parse_for(name: &str) -> Self {
        let port = server(name).map_or(0, |s| s.port);
        let mut command = Self::command()
            .name(format!("server-{name}"))
            .about(format!("The http-rosetta service, written with {name}."))
            .mut_arg("addr", |arg| arg.default_value(format!("127.0.0.1:{port}")));
        if WITHOUT_HEADER_TIMEOUT.contains(&name) {
            command = command.mut_arg("header_timeout", |arg| {
                arg.help(format!(
                    "Accepted for a common command line, but has no effect: {name} has no header read timeout (a known deviation; see its README)"
                ))
            });
        }
        Self::from_arg_matches(&command.get_matches()).unwrap_or_else(|err| err.exit())
    }

    /// The number of worker threads: `--threads`, or the cores this process may run on.
    pub fn threads(&self) -> usize {
        self.threads
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }
}

/// Length of the listening socket's queue of connections not yet accepted. std and tokio ask for
/// 128; a burst of new clients then overflows it and each dropped SYN costs a client a second.
/// nginx asks for 511, actix-web for 1024 (the kernel caps it at `net.core.somaxconn`).
pub const LISTEN_BACKLOG: i32 = 1024;

/// Binds a listening TCP socket on `addr` with [`LISTEN_BACKLOG`] and `SO_REUSEADDR` (so a
/// restarted server can bind while old connections linger in TIME_WAIT). Blocking, as std
/// makes it; tokio servers call `set_nonblocking(true)` and `TcpListener::from_std`.
pub fn bind_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Prints the line harnesses wait for, `listening on http://<addr>`, and flushes it.
pub fn print_ready_line(addr: SocketAddr) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout must not stop the server: the line is for whoever is watching.
    let _ = writeln!(stdout, "listening on http://{addr}");
    let _ = stdout.flush();
}

/// Whether logging was asked for with [`LOG_ENV`] (read once; cheap to call per request).
pub fn log_requests() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os(LOG_ENV).is_some_and(|v| !v.is_empty() && v != "0"))
}

/// A row of the contract, or a case of the framing corpus, that a stack answers its own way
/// before the server's code runs, and that the server cannot change without unidiomatic
/// contortions. The conformance suite pins each one (it fails the day the stack changes);
/// `loadgen verify` reports it apart from the mismatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deviation {
    /// The server.
    pub server: &'static str,
    /// The name of the [`Case`], or of the [`FramingCase`].
    pub case: &'static str,
    /// The status it answers with instead of the whole contract answer; 0 when it cannot answer
    /// at all and closes the connection. For a framing case: the status of its answer to the
    /// request smuggled behind it ([`FOLLOW_UP`], 500 when served).
    pub status: u16,
    /// What it does instead, and why.
    pub instead: &'static str,
    /// Whether a front proxy that frames requests otherwise could smuggle a request past it: the
    /// README and the report page mark a server with such a deviation as not safe to expose.
    pub security: bool,
}

/// Why actix-web answers the Host rows with a bare 400.
const ACTIX_REFUSES_HOST: &str = "actix-http refuses it while parsing, before the App runs: a bare \
     400 without body, Content-Type or Server";
/// Why may-minihttp's HEAD answers say `Content-Length: 0`.
const MAY_HEAD_LENGTH: &str = "may_minihttp knows nothing of HEAD and counts Content-Length from \
     the body it sends, so the answer says Content-Length: 0";

/// Why the servers on Go's net/http answer the Host rows with net/http's own 400.
const NET_HTTP_REFUSES_HOST: &str = "net/http refuses it while reading the request, before any \
     Handler runs: 400 with its own body (\"400 Bad Request: missing required Host header\"), no \
     Content-Length, Date or Server, and a close";
/// Why echo's and fasthttp/router's 405s list OPTIONS.
const ROUTER_ALLOWS_OPTIONS: &str = "the router writes the Allow header itself and lists OPTIONS \
     too, which it answers for every route";

/// Why echo accepts a chunked body a little over the limit.
const ECHO_BODY_LIMIT: &str = "echo's BodyLimit middleware reports the limit as the error of the \
     read that passes it, along with that read's bytes, and json.Decoder ignores a read error \
     when the value is complete in the same read: a chunked body a little over 64 KiB is \
     accepted (with Content-Length it is refused up front)";
/// Why may-minihttp gives no answer to a chunked body.
const MAY_CHUNKED: &str = "may_minihttp frames bodies by Content-Length only and reads the chunks \
     as the next request: the connection ends before the refusal is sent";

/// Why the net/http servers serve what follows a body framed by both lengths.
const NET_HTTP_TE_WITH_CL: &str = "net/http frames a request with both Transfer-Encoding: chunked \
     and Content-Length by the chunks and drops Content-Length before any Handler sees it, but \
     keeps the connection open (RFC 9112, 6.1: MUST close after answering): a request behind the \
     chunks is served, which a proxy that framed by Content-Length sent as body";
/// Why echo and gin answer bodies whose chunks are badly ended.
const GO_DECODER_STOPS_EARLY: &str = "the JSON decoder (echo's Bind, gin's ShouldBindJSON) stops \
     at the end of the JSON value, so net/http never reads the broken chunk ending: the request \
     is answered 200 before the framing error is seen, then the connection is closed";
/// Why echo answers Transfer-Encoding in HTTP/1.0.
const GO_TE_IN_HTTP10: &str = "net/http reads the chunks of an HTTP/1.0 request (RFC 9112, 6.1: \
     the framing is faulty) and echo answers it before the connection is closed";
/// Why the fasthttp servers serve what follows `Transfer-Encoding: identity`.
const FASTHTTP_IDENTITY: &str = "fasthttp treats any Transfer-Encoding other than chunked as \
     absent (RFC 9112, 6.1: a final coding other than chunked is a 400 and a close): the body is \
     framed by Content-Length, or is empty, and a request behind it is served";

/// Every known deviation.
pub const DEVIATIONS: &[Deviation] = &[
    Deviation {
        server: "actix-web",
        case: "last chunk without the empty line",
        status: 0,
        instead: "actix-http skips every line after the last chunk up to an empty one, field line \
                  or not: a request sent behind it is swallowed as trailers, and a proxy that \
                  frames it as a request of its own waits for an answer that never comes",
        security: true,
    },
    Deviation {
        server: "actix-web",
        case: "HTTP/1.1 without Host",
        status: 400,
        instead: ACTIX_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "actix-web",
        case: "two Host headers",
        status: 400,
        instead: ACTIX_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "may-minihttp",
        case: "HEAD /",
        status: 200,
        instead: MAY_HEAD_LENGTH,
        security: false,
    },
    Deviation {
        server: "may-minihttp",
        case: "HEAD /json",
        status: 200,
        instead: MAY_HEAD_LENGTH,
        security: false,
    },
    Deviation {
        server: "may-minihttp",
        case: "echo chunked",
        status: 0,
        instead: MAY_CHUNKED,
        security: true,
    },
    Deviation {
        server: "may-minihttp",
        case: "echo chunked body over 64 KiB",
        status: 0,
        instead: MAY_CHUNKED,
        security: true,
    },
    Deviation {
        server: "go-nethttp",
        case: "HTTP/1.1 without Host",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-nethttp",
        case: "two Host headers",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-handler",
        case: "HTTP/1.1 without Host",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-handler",
        case: "two Host headers",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "HTTP/1.1 without Host",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "two Host headers",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-gin",
        case: "HTTP/1.1 without Host",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-gin",
        case: "two Host headers",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "echo chunked body over 64 KiB",
        status: 200,
        instead: ECHO_BODY_LIMIT,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "POST /",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "DELETE /json",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "PUT /users/1",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "GET /echo",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "POST /",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "DELETE /json",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "PUT /users/1",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "GET /echo",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-nethttp",
        case: "Content-Length then Transfer-Encoding",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-nethttp",
        case: "Transfer-Encoding then Content-Length",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-handler",
        case: "Content-Length then Transfer-Encoding",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-handler",
        case: "Transfer-Encoding then Content-Length",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "Content-Length then Transfer-Encoding",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "Transfer-Encoding then Content-Length",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-gin",
        case: "Content-Length then Transfer-Encoding",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-gin",
        case: "Transfer-Encoding then Content-Length",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "chunk data not ended by CRLF",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "chunk data ended by LF alone",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "last chunk without the empty line",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-gin",
        case: "chunk data not ended by CRLF",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-gin",
        case: "chunk data ended by LF alone",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-gin",
        case: "last chunk without the empty line",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "Transfer-Encoding in HTTP/1.0",
        status: 0,
        instead: GO_TE_IN_HTTP10,
        security: true,
    },
    Deviation {
        server: "go-fasthttp",
        case: "Transfer-Encoding: identity with Content-Length",
        status: 0,
        instead: FASTHTTP_IDENTITY,
        security: true,
    },
    Deviation {
        server: "go-fasthttp",
        case: "Transfer-Encoding: identity alone",
        status: 0,
        instead: FASTHTTP_IDENTITY,
        security: true,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "Transfer-Encoding: identity with Content-Length",
        status: 0,
        instead: FASTHTTP_IDENTITY,
        security: true,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "Transfer-Encoding: identity alone",
        status: 0,
        instead: FASTHTTP_IDENTITY,
        security: true,
    },
];

/// The deviations of `server` that a front proxy could exploit ([`Deviation::security`]): a
/// server with any is not safe to expose behind a proxy that frames requests otherwise.
pub fn security_deviations(server: &str) -> impl Iterator<Item = &'static Deviation> {
    DEVIATIONS
        .iter()
        .filter(move |d| d.server == server && d.security)
}

/// The known deviation of `server` on the case called `case`, if there is one.
pub fn deviation(server: &str, case: &str) -> Option<&'static Deviation> {
    DEVIATIONS
        .iter()
        .find(|d| d.server == server && d.case == case)
}

/// One request of the conformance suite and the response the contract demands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// What the case checks, for messages.
    pub name: &'static str,
    /// Request method.
    pub method: &'static str,
    /// Request target.
    pub path: String,
    /// Request `Content-Type`, if any.
    pub content_type: Option<&'static str>,
    /// Request body.
    pub body: Vec<u8>,
    /// Expected status code.
    pub status: u16,
    /// Expected `Content-Type`.
    pub response_content_type: &'static str,
    /// Expected body, byte for byte (empty for HEAD; `Content-Length` is still the GET body's).
    pub response_body: Vec<u8>,
    /// Expected `Content-Length` (differs from the body's length only for HEAD).
    pub content_length: usize,
    /// Expected `Allow` header, if the contract demands one.
    pub allow: Option<&'static str>,
    /// The `Host` header lines the request carries (RFC 9112, 3.2).
    pub host: HostHeader,
    /// Whether the body is sent with `Transfer-Encoding: chunked` instead of `Content-Length`.
    pub chunked: bool,
}

/// How many `Host` header lines a request of the contract carries. RFC 9112, 3.2: a server MUST
/// answer 400 to an HTTP/1.1 request without one and to any request with more than one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostHeader {
    /// `Host: localhost`, as every well-behaved client sends.
    One,
    /// No `Host` line at all.
    Missing,
    /// Two `Host` lines that disagree.
    Twice,
}

impl HostHeader {
    /// The values of the `Host` lines, in order.
    pub fn values(self) -> &'static [&'static str] {
        match self {
            Self::One => &["localhost"],
            Self::Missing => &[],
            Self::Twice => &["localhost", "example.com"],
        }
    }
}

impl Case {
    fn get(
        name: &'static str,
        path: &str,
        status: u16,
        content_type: &'static str,
        body: &str,
    ) -> Self {
        Self {
            name,
            method: "GET",
            path: path.to_owned(),
            content_type: None,
            body: Vec::new(),
            status,
            response_content_type: content_type,
            response_body: body.as_bytes().to_vec(),
            content_length: body.len(),
            allow: None,
            host: HostHeader::One,
            chunked: false,
        }
    }

    fn echo(
        name: &'static str,
        content_type: Option<&'static str>,
        body: Vec<u8>,
        status: u16,
        answer: &str,
    ) -> Self {
        let response_content_type = if status == 200 {
            APPLICATION_JSON
        } else {
            TEXT_PLAIN
        };
        Self {
            method: "POST",
            path: "/echo".to_owned(),
            content_type,
            body,
            response_content_type,
            ..Self::get(name, "/echo", status, response_content_type, answer)
        }
    }

    fn head(mut self) -> Self {
        self.method = "HEAD";
        self.response_body.clear();
        self
    }

    fn with_method(mut self, method: &'static str, allow: &'static str) -> Self {
        self.method = method;
        self.allow = Some(allow);
        self
    }

    fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    fn with_host(mut self, host: HostHeader) -> Self {
        self.host = host;
        self
    }
}

/// Every row of the route contract as a request and its expected response.
pub fn cases() -> Vec<Case> {
    let json = Some(APPLICATION_JSON);
    let too_large = {
        let mut body = br#"{"message":""#.to_vec();
        body.resize(MAX_BODY_BYTES + 1, b'x');
        body.extend_from_slice(br#""}"#);
        body
    };
    vec![
        Case::get("plaintext", "/", 200, TEXT_PLAIN, HELLO),
        Case::get(
            "json",
            "/json",
            200,
            APPLICATION_JSON,
            r#"{"message":"Hello, World!"}"#,
        ),
        Case::get("html", "/html", 200, TEXT_HTML, HTML_PAGE),
        Case::get(
            "users",
            "/users/42",
            200,
            APPLICATION_JSON,
            r#"{"id":42,"name":"user-42"}"#,
        ),
        Case::get(
            "users min id",
            "/users/0",
            200,
            APPLICATION_JSON,
            r#"{"id":0,"name":"user-0"}"#,
        ),
        Case::get(
            "users max id",
            "/users/4294967295",
            200,
            APPLICATION_JSON,
            r#"{"id":4294967295,"name":"user-4294967295"}"#,
        ),
        Case::get(
            "users id overflows u32",
            "/users/4294967296",
            400,
            TEXT_PLAIN,
            BAD_REQUEST,
        ),
        Case::get(
            "users id negative",
            "/users/-1",
            400,
            TEXT_PLAIN,
            BAD_REQUEST,
        ),
        Case::get(
            "users id not a number",
            "/users/abc",
            400,
            TEXT_PLAIN,
            BAD_REQUEST,
        ),
        Case::echo(
            "echo",
            json,
            br#"{"message":"hi there"}"#.to_vec(),
            200,
            r#"{"message":"hi there"}"#,
        ),
        Case::echo(
            "echo re-serializes",
            json,
            br#" { "message" : "caf\u00e9" , "extra": 1 } "#.to_vec(),
            200,
            r#"{"message":"café"}"#,
        ),
        Case::echo(
            "echo malformed JSON",
            json,
            b"{\"message\":".to_vec(),
            400,
            BAD_REQUEST,
        ),
        Case::echo(
            "echo message not a string",
            json,
            br#"{"message":7}"#.to_vec(),
            400,
            BAD_REQUEST,
        ),
        Case::echo(
            "echo no message",
            json,
            br#"{"msg":"hi"}"#.to_vec(),
            400,
            BAD_REQUEST,
        ),
        Case::echo(
            "echo without a JSON content type",
            None,
            br#"{"message":"hi"}"#.to_vec(),
            400,
            BAD_REQUEST,
        ),
        Case::echo(
            "echo body over 64 KiB",
            json,
            too_large.clone(),
            413,
            PAYLOAD_TOO_LARGE,
        ),
        Case::get("error", "/error", 500, TEXT_PLAIN, INTERNAL_SERVER_ERROR),
        Case::get("not found", "/nope", 404, TEXT_PLAIN, NOT_FOUND),
        Case::get(
            "not found below a route",
            "/json/more",
            404,
            TEXT_PLAIN,
            NOT_FOUND,
        ),
        Case::get(
            "not found: users without id",
            "/users/",
            404,
            TEXT_PLAIN,
            NOT_FOUND,
        ),
        Case::get("HEAD /", "/", 200, TEXT_PLAIN, HELLO).head(),
        Case::get(
            "HEAD /json",
            "/json",
            200,
            APPLICATION_JSON,
            r#"{"message":"Hello, World!"}"#,
        )
        .head(),
        Case::get("POST /", "/", 405, TEXT_PLAIN, METHOD_NOT_ALLOWED)
            .with_method("POST", "GET, HEAD"),
        Case::get("DELETE /json", "/json", 405, TEXT_PLAIN, METHOD_NOT_ALLOWED)
            .with_method("DELETE", "GET, HEAD"),
        Case::get(
            "PUT /users/1",
            "/users/1",
            405,
            TEXT_PLAIN,
            METHOD_NOT_ALLOWED,
        )
        .with_method("PUT", "GET, HEAD"),
        Case::get("GET /echo", "/echo", 405, TEXT_PLAIN, METHOD_NOT_ALLOWED)
            .with_method("GET", "POST"),
        // What real clients send: curl streams a file with chunked encoding, proxies send
        // absolute-form targets, browsers add query strings.
        Case::echo(
            "echo chunked",
            json,
            br#"{"message":"hi there"}"#.to_vec(),
            200,
            r#"{"message":"hi there"}"#,
        )
        .chunked(),
        Case::echo(
            "echo chunked body over 64 KiB",
            json,
            too_large,
            413,
            PAYLOAD_TOO_LARGE,
        )
        .chunked(),
        Case::get(
            "json, absolute-form target",
            "http://localhost/json",
            200,
            APPLICATION_JSON,
            r#"{"message":"Hello, World!"}"#,
        ),
        Case::get(
            "json with a query",
            "/json?x=1",
            200,
            APPLICATION_JSON,
            r#"{"message":"Hello, World!"}"#,
        ),
        Case::get(
            "users with a query",
            "/users/7?page=2&sort=name",
            200,
            APPLICATION_JSON,
            r#"{"id":7,"name":"user-7"}"#,
        ),
        Case::get("HTTP/1.1 without Host", "/", 400, TEXT_PLAIN, BAD_REQUEST)
            .with_host(HostHeader::Missing),
        Case::get("two Host headers", "/", 400, TEXT_PLAIN, BAD_REQUEST)
            .with_host(HostHeader::Twice),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_serialize_to_the_contract_bytes() {
        let json = serde_json::to_string(&Message::hello()).unwrap();
        assert_eq!(json, r#"{"message":"Hello, World!"}"#);
        let user = serde_json::to_string(&User::new(42)).unwrap();
        assert_eq!(user, r#"{"id":42,"name":"user-42"}"#);
    }

    #[test]
    fn every_route_has_a_case_and_every_server_a_distinct_port() {
        let cases = cases();
        for route in ROUTES {
            let path = route.path.replace("{id}", "42");
            assert!(
                cases
                    .iter()
                    .any(|c| c.path == path && c.method == route.method),
                "{}",
                route.name
            );
        }
        let mut ports: Vec<u16> = SERVERS.iter().map(|s| s.port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), SERVERS.len());
    }

    #[test]
    fn every_deviation_names_a_server_and_a_case() {
        let cases = cases();
        let framing = framing_cases();
        for d in DEVIATIONS {
            assert!(server(d.server).is_some(), "{}", d.server);
            assert!(
                cases.iter().any(|c| c.name == d.case) || framing.iter().any(|c| c.name == d.case),
                "{}",
                d.case
            );
        }
        assert!(security_deviations("may-minihttp").count() > 0);
        assert_eq!(security_deviations("hyper").count(), 0);
    }

    #[test]
    fn each_go_server_names_itself_and_its_port_as_the_table_does() {
        // The Go servers pass their name and default port to the Go package's ParseArgs; the
        // table here is the one source, so the call must say the same.
        for server in SERVERS.iter().filter(|s| s.build == Build::Go) {
            let main = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(server.name)
                .join("main.go");
            let text = std::fs::read_to_string(&main).unwrap();
            let call = format!("contract.ParseArgs({:?}, {})", server.name, server.port);
            assert!(
                text.contains(&call),
                "{} should call {call}",
                main.display()
            );
        }
    }

    #[test]
    fn the_html_page_is_html5_with_a_title() {
        assert!(HTML_PAGE.starts_with("<!DOCTYPE html>"));
        assert!(HTML_PAGE.contains("<title>"));
    }

    #[test]
    fn the_too_large_cases_are_just_over_the_limit() {
        let too_large: Vec<Case> = cases().into_iter().filter(|c| c.status == 413).collect();
        assert_eq!(too_large.len(), 2, "one with Content-Length, one chunked");
        for case in too_large {
            assert!(case.body.len() > MAX_BODY_BYTES);
            assert!(case.body.len() < MAX_BODY_BYTES + 16);
        }
    }
}
