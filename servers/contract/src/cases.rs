//! Every row of the route contract as a request and the answer it demands.

use crate::{
    APPLICATION_JSON, BAD_REQUEST, HELLO, HTML_PAGE, INTERNAL_SERVER_ERROR, MAX_BODY_BYTES,
    METHOD_NOT_ALLOWED, NOT_FOUND, PAYLOAD_TOO_LARGE, TEXT_HTML, TEXT_PLAIN,
};

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
