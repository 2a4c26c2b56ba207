//! The route contract that every http-rosetta server obeys, as data.
//!
//! Servers take their bodies, payload types and limits from here so that all of them answer with
//! the same bytes; the load generator and the tests take the route table and the conformance
//! cases from here so that they check what the servers promise. Nothing here routes, extracts or
//! answers a request: each server does that in its own stack's idiom. The code every Rust server
//! runs on start-up (its command line, its listening socket, its ready line) is the `startup`
//! crate's.
//!
//! # Layout
//! - bodies, content types and limits: [`HELLO`], [`HTML_PAGE`], [`MAX_BODY_BYTES`], …
//! - payload types: [`Message`], [`User`]
//! - the route table: [`ROUTES`], and the database routes [`DATABASE_ROUTES`] with their schema
//!   ([`DATABASE_SCHEMA`]) and rows ([`World`], [`Fortune`]); the servers: [`SERVERS`]
//! - the conformance cases: [`cases`], the request-framing corpus: [`framing_cases`], and the
//!   stacks' known deviations: [`DEVIATIONS`] (those a proxy could exploit marked `security`)

use std::time::Duration;

use serde::{Deserialize, Serialize};

// The bytes every server shares live as files in `data/`, so that the Go servers embed
// (`go:embed`) exactly what these constants include: one copy for both languages.

mod cases;
mod database;
mod deviations;
mod framing;
mod servers;

pub use cases::{Case, HostHeader, cases};
pub use database::{
    DATABASE_NAME, DATABASE_PASSWORD, DATABASE_ROUTES, DATABASE_SCHEMA, DATABASE_URL_ENV,
    DATABASE_USER, EXTRA_FORTUNE, FORTUNE_ROWS, Fortune, MAX_QUERIES, QUERY_COUNT_TABLE,
    SERVICE_UNAVAILABLE, WORLD_ROWS, World, query_count,
};
pub use deviations::{DEVIATIONS, Deviation, Pin, deviation, security_deviations};
pub use framing::{FOLLOW_UP, FramingCase, framing_cases};
pub use servers::{Build, SERVERS, ServerInfo, server};

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
            if let Pin::PipelinedAnswersAs { row } = d.pin {
                assert!(cases.iter().any(|c| c.name == row), "{row}");
            }
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
