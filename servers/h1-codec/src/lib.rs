//! The HTTP/1.1 framing that the two hand-written servers (`server-std` and `server-tokio`)
//! share, and that every framework does for you: finding where a request ends, reading its body,
//! refusing what is malformed or too large, and writing a response head with a cached `Date`.
//!
//! It does no I/O: it reads from a byte buffer and writes into one, so the blocking server and the
//! async server drive the same code, and tests drive it without sockets (the model is the `Frame`
//! of tokio's mini-redis). Routing and handlers are not here: each server writes its own.
//!
//! # Layout
//! - [`parse`]: bytes in, a [`Request`], "need more bytes", or a [`ParseError`] that says which
//!   status to answer with;
//! - [`Session`]: one connection's requests answered in order, each by the server's own
//!   function from a [`Request`] to a [`Response`];
//! - [`write_response`], [`write_error`]: a whole response (head and body) into an output buffer;
//! - [`DateCache`]: the IMF-fixdate `Date` value, formatted once per second.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

/// How much a request may carry before it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of request line and headers, together (beyond it: 431); and, apart, bytes of a
    /// chunked body's extensions and trailers, together.
    pub max_head_bytes: usize,
    /// Number of header lines (beyond it: 431).
    pub max_headers: usize,
    /// Bytes of body, after chunked decoding (beyond it: 413).
    pub max_body_bytes: usize,
}

/// The most header lines [`parse`] can take, whatever the limits say: the size of its
/// stack-allocated header array.
pub const MAX_HEADERS: usize = 100;

/// The route contract's limits: [`contract::MAX_HEAD_BYTES`], [`MAX_HEADERS`] header lines,
/// [`contract::MAX_BODY_BYTES`].
impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: contract::MAX_HEAD_BYTES,
            max_headers: MAX_HEADERS,
            max_body_bytes: contract::MAX_BODY_BYTES,
        }
    }
}

/// Why a request cannot be served. Each kind maps to the status the server answers with before
/// it closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// Not HTTP/1.x, or not well formed.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// Request line and headers are larger than [`Limits::max_head_bytes`], or there are more
    /// header lines than [`Limits::max_headers`].
    #[error("request header fields too large")]
    HeadTooLarge,
    /// The body is larger than [`Limits::max_body_bytes`].
    #[error("payload too large")]
    BodyTooLarge,
}

impl ParseError {
    /// The status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            Self::HeadTooLarge => 431,
            Self::BodyTooLarge => 413,
        }
    }
}

/// A complete request, borrowed from the input buffer (the body is owned only when it had to be
/// de-chunked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method token, for example `GET`.
    pub method: &'a str,
    /// The path the request is routed by: the target without its query, and an absolute-form
    /// target (`http://host/users/42`, RFC 9112, 3.2.2) reduced to its path.
    pub path: &'a str,
    /// The request target as sent, for example `/users/42?x=1`.
    pub target: &'a str,
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Whether the connection stays open after the response (HTTP/1.1 unless `Connection:
    /// close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
    /// The `Content-Type` value, if any.
    pub content_type: Option<&'a [u8]>,
    /// The body (empty if there is none).
    pub body: Cow<'a, [u8]>,
    /// How many bytes of the buffer this request took: drop them before parsing the next one.
    pub len: usize,
}

impl Request<'_> {
    /// Whether the body is declared as JSON (`application/json`, parameters allowed).
    pub fn has_json_body(&self) -> bool {
        self.content_type.is_some_and(|ct| {
            let essence = ct.split(|&b| b == b';').next().unwrap_or_default();
            essence
                .trim_ascii()
                .eq_ignore_ascii_case(b"application/json")
        })
    }
}

/// What [`parse`] found in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A whole request.
    Complete(Request<'a>),
    /// Not a whole request yet: read more bytes and parse again. `expects_continue` is true when
    /// the head is complete, asked for `Expect: 100-continue` and the body has not arrived: the
    /// server should send `100 Continue` once.
    Partial {
        /// See above.
        expects_continue: bool,
    },
}

/// How the body of a request is framed.
enum Framing {
    None,
    Length(usize),
    Chunked,
}

/// Parses one request from the start of `buf`.
///
/// An incomplete request is `Ok(Parsed::Partial)`, never an error: the caller reads more and
/// calls again with the longer buffer. An error means the connection cannot go on; answer with
/// [`ParseError::status`] and close.
pub fn parse<'a>(buf: &'a [u8], limits: &Limits) -> Result<Parsed<'a>, ParseError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let max_headers = limits.max_headers.min(MAX_HEADERS);
    let mut req = httparse::Request::new(&mut headers[..max_headers]);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head_bytes => {
            return Err(ParseError::HeadTooLarge);
        }
        Ok(httparse::Status::Partial) => {
            return Ok(Parsed::Partial {
                expects_continue: false,
            });
        }
        Err(httparse::Error::TooManyHeaders) => return Err(ParseError::HeadTooLarge),
        Err(httparse::Error::Version) => return Err(ParseError::Malformed("unsupported version")),
        Err(_) => return Err(ParseError::Malformed("bad request line or header")),
    };
    if head_len > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge);
    }
    let (Some(method), Some(target), Some(minor_version)) = (req.method, req.path, req.version)
    else {
        return Err(ParseError::Malformed("incomplete request line"));
    };

    let fields = HeadFields::read(req.headers, minor_version)?;
    let framing = fields.framing(minor_version, limits)?;
    let HeadFields {
        keep_alive,
        content_type,
        expects_continue,
        ..
    } = fields;

    let rest = &buf[head_len..];
    let (body, body_len) = match framing {
        Framing::None => (Cow::Borrowed(&rest[..0]), 0),
        Framing::Length(len) if rest.len() < len => {
            return Ok(Parsed::Partial { expects_continue });
        }
        Framing::Length(len) => (Cow::Borrowed(&rest[..len]), len),
        Framing::Chunked => match decode_chunked(rest, limits)? {
            Some((body, len)) => (Cow::Owned(body), len),
            None => return Ok(Parsed::Partial { expects_continue }),
        },
    };
    Ok(Parsed::Complete(Request {
        method,
        path: routed_path(target),
        target,
        minor_version,
        keep_alive,
        content_type,
        body,
        len: head_len + body_len,
    }))
}

/// What the headers of a request say about it.
struct HeadFields<'a> {
    keep_alive: bool,
    content_type: Option<&'a [u8]>,
    content_length: Option<usize>,
    chunked: bool,
    expects_continue: bool,
}

impl<'a> HeadFields<'a> {
    /// Reads the headers of an HTTP/1.`minor_version` request, refusing those that would let
    /// it be read two ways.
    fn read(headers: &[httparse::Header<'a>], minor_version: u8) -> Result<Self, ParseError> {
        let mut fields = Self {
            keep_alive: minor_version == 1,
            content_type: None,
            content_length: None,
            chunked: false,
            expects_continue: false,
        };
        let mut host_lines = 0;
        let mut close = false;
        for header in headers {
            let name = header.name;
            if name.eq_ignore_ascii_case("host") {
                host_lines += 1;
            } else if name.eq_ignore_ascii_case("content-length") {
                let len = parse_content_length(header.value)?;
                // Repeated Content-Length headers must agree, or the request could be read two
                // ways.
                if fields.content_length.is_some_and(|prev| prev != len) {
                    return Err(ParseError::Malformed("conflicting Content-Length"));
                }
                fields.content_length = Some(len);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                // Only plain `chunked` is supported; anything else could not be framed safely.
                if fields.chunked || !header.value.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                    return Err(ParseError::Malformed("unsupported Transfer-Encoding"));
                }
                fields.chunked = true;
            } else if name.eq_ignore_ascii_case("connection")
                // hyper reads a Connection value only when it is visible ASCII (its
                // `HeaderValue::to_str`) and ignores one with other bytes (obs-text): so do we,
                // so that both keep the same connections alive.
                && header.value.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
            {
                for token in header.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        fields.keep_alive = false;
                        // RFC 9112, 9.6: once `close` is seen, no `keep-alive` undoes it.
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive")
                        && minor_version == 0
                        && !close
                    {
                        fields.keep_alive = true;
                    }
                }
            } else if name.eq_ignore_ascii_case("content-type") {
                fields.content_type = Some(header.value);
            } else if name.eq_ignore_ascii_case("expect") {
                fields.expects_continue = header.value.eq_ignore_ascii_case(b"100-continue");
            }
        }
        // RFC 9112, 3.2: an HTTP/1.1 request without Host, or any request with two, is a 400.
        if host_lines > 1 || (host_lines == 0 && minor_version == 1) {
            return Err(ParseError::Malformed("missing or repeated Host"));
        }
        Ok(fields)
    }

    /// How the body is framed.
    fn framing(&self, minor_version: u8, limits: &Limits) -> Result<Framing, ParseError> {
        match (self.content_length, self.chunked) {
            // Both at once is how requests are smuggled past a proxy: refuse (RFC 9112, 6.3).
            (Some(_), true) => Err(ParseError::Malformed(
                "Content-Length with Transfer-Encoding",
            )),
            (None, true) if minor_version == 0 => {
                Err(ParseError::Malformed("Transfer-Encoding in HTTP/1.0"))
            }
            (None, true) => Ok(Framing::Chunked),
            (Some(len), false) if len > limits.max_body_bytes => Err(ParseError::BodyTooLarge),
            (Some(len), false) => Ok(Framing::Length(len)),
            (None, false) => Ok(Framing::None),
        }
    }
}

/// The path of a target: the query dropped, an absolute-form target reduced to its path (`/`
/// when it has none).
fn routed_path(target: &str) -> &str {
    let origin = match target.split_once("://") {
        Some((_scheme, rest)) if !target.starts_with('/') => {
            rest.find('/').map_or("/", |slash| &rest[slash..])
        }
        _ => target,
    };
    origin.split_once('?').map_or(origin, |(path, _query)| path)
}

fn parse_content_length(value: &[u8]) -> Result<usize, ParseError> {
    let digits = value.trim_ascii();
    // `usize::from_str` would take a leading `+`; the grammar is 1*DIGIT.
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Malformed("bad Content-Length"));
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(ParseError::Malformed("Content-Length overflows"))
}

/// Decodes a chunked body from the start of `buf`. `Ok(None)` when it has not all arrived;
/// otherwise the body and how many bytes of `buf` it took (trailers included).
fn decode_chunked(buf: &[u8], limits: &Limits) -> Result<Option<(Vec<u8>, usize)>, ParseError> {
    let mut body = Vec::new();
    let mut pos = 0;
    // Chunk extensions and trailers are bytes a client can send as many of as it likes: together
    // they count against the head's limit, or a partial body would grow without bound.
    let mut extensions = 0;
    loop {
        // Leading zeros leave a chunk's size as it is and the grammar does not bound them
        // (1*HEXDIG; hyper takes any number), but httparse counts them against its 16 digits:
        // skip them, keeping the last when no other digit follows. They count against the
        // head's limit, as extensions do.
        let zeros = buf[pos..].iter().take_while(|&&b| b == b'0').count();
        let skip = if buf.get(pos + zeros).is_some_and(u8::is_ascii_hexdigit) {
            zeros
        } else {
            zeros.saturating_sub(1)
        };
        let (size_len, size) = match httparse::parse_chunk_size(&buf[pos + skip..]) {
            Ok(httparse::Status::Complete((len, size))) => (skip + len, size),
            // A line without its LF holds at most 16 digits (httparse's most) and a CR besides
            // its extension.
            Ok(httparse::Status::Partial)
                if extensions + (buf.len() - pos).saturating_sub(17) > limits.max_head_bytes =>
            {
                return Err(ParseError::HeadTooLarge);
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::InvalidChunkSize) => return Err(ParseError::Malformed("bad chunk size")),
        };
        // httparse reads a line without a digit as size 0, the last chunk, and takes an LF
        // inside an extension; the grammar is 1*HEXDIG and no LF before the CRLF (RFC 9112,
        // 7.1). A parser that keeps to it (hyper) refuses the line, one that ends it at the LF
        // reads the rest as data: refuse, so only one reading is left.
        let line = &buf[pos..pos + size_len - 2];
        if !buf[pos].is_ascii_hexdigit() || line.contains(&b'\n') {
            return Err(ParseError::Malformed("bad chunk size"));
        }
        extensions += skip + line.iter().skip_while(|b| b.is_ascii_hexdigit()).count();
        if extensions > limits.max_head_bytes {
            return Err(ParseError::HeadTooLarge);
        }
        pos += size_len;
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).map_err(|_| ParseError::BodyTooLarge)?;
        if body.len().saturating_add(size) > limits.max_body_bytes {
            return Err(ParseError::BodyTooLarge);
        }
        let Some(chunk) = buf.get(pos..pos + size + 2) else {
            return Ok(None);
        };
        if !chunk.ends_with(b"\r\n") {
            return Err(ParseError::Malformed("chunk not followed by CRLF"));
        }
        body.extend_from_slice(&chunk[..size]);
        pos += size + 2;
    }
    // The trailer section: field lines, parsed and then ignored, up to the empty line that ends
    // the message. A line that is no field line (RFC 9112, 7.1.2) is an error, not one to skip:
    // a request sent behind a last chunk that lacks its empty line would be swallowed.
    let mut trailers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::parse_headers(&buf[pos..], &mut trailers) {
        // httparse also ends a line at a bare LF; a parser that does not (hyper) reads on to the
        // next CRLF CRLF and takes what follows for trailers: refuse, so only one reading is left.
        Ok(httparse::Status::Complete((len, _))) if !lines_end_in_crlf(&buf[pos..pos + len]) => {
            Err(ParseError::Malformed("trailer line not ended by CRLF"))
        }
        // The same limit whether the section arrives whole or in pieces (the branch below).
        Ok(httparse::Status::Complete((len, _))) if extensions + len > limits.max_head_bytes => {
            Err(ParseError::HeadTooLarge)
        }
        Ok(httparse::Status::Complete((len, _))) => Ok(Some((body, pos + len))),
        Ok(httparse::Status::Partial) if extensions + buf.len() - pos > limits.max_head_bytes => {
            Err(ParseError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => Ok(None),
        // Too many field lines is a limit, as in the head.
        Err(httparse::Error::TooManyHeaders) => Err(ParseError::HeadTooLarge),
        Err(_) => Err(ParseError::Malformed("bad trailer field")),
    }
}

/// Whether every LF in `bytes` follows a CR.
fn lines_end_in_crlf(bytes: &[u8]) -> bool {
    let lf = bytes.iter().filter(|&&b| b == b'\n').count();
    lf == bytes.windows(2).filter(|pair| pair == b"\r\n").count()
}

/// What goes into a response besides its status, type and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseOptions<'a> {
    /// Answer to a HEAD request: headers as for GET, no body.
    pub head: bool,
    /// Whether the connection stays open after this response.
    pub keep_alive: bool,
    /// Whether the request was HTTP/1.0 (which needs an explicit `Connection: keep-alive`).
    pub http10: bool,
    /// An `Allow` header, for 405 responses.
    pub allow: Option<&'a str>,
}

/// The reason phrase of the status codes the servers use.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Appends a whole response to `out`: status line, `Server`, `Date`, `Content-Type`,
/// `Content-Length`, the optional headers, and the body unless `opts.head`.
pub fn write_response(
    out: &mut Vec<u8>,
    server: &str,
    date: &DateCache,
    status: u16,
    content_type: &str,
    body: &[u8],
    opts: ResponseOptions<'_>,
) {
    let mut code = itoa::Buffer::new();
    let mut length = itoa::Buffer::new();
    let parts: [&[u8]; 11] = [
        b"HTTP/1.1 ",
        code.format(status).as_bytes(),
        b" ",
        reason(status).as_bytes(),
        b"\r\nserver: ",
        server.as_bytes(),
        b"\r\ndate: ",
        date.value(),
        b"\r\ncontent-type: ",
        content_type.as_bytes(),
        b"\r\ncontent-length: ",
    ];
    for part in parts {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(length.format(body.len()).as_bytes());
    if let Some(allow) = opts.allow {
        out.extend_from_slice(b"\r\nallow: ");
        out.extend_from_slice(allow.as_bytes());
    }
    if !opts.keep_alive {
        out.extend_from_slice(b"\r\nconnection: close");
    } else if opts.http10 {
        out.extend_from_slice(b"\r\nconnection: keep-alive");
    }
    out.extend_from_slice(b"\r\n\r\n");
    if !opts.head {
        out.extend_from_slice(body);
    }
}

/// Appends the answer to a request that cannot be served (a [`ParseError`], or a server over its
/// connection cap): `status`, its reason phrase as a plain-text body, and `Connection: close`.
pub fn write_error(out: &mut Vec<u8>, server: &str, date: &DateCache, status: u16) {
    let opts = ResponseOptions {
        keep_alive: false,
        ..ResponseOptions::default()
    };
    let body = reason(status).as_bytes();
    write_response(out, server, date, status, contract::TEXT_PLAIN, body, opts);
}

/// A response as the hand-written servers' handlers make it: status, content type, body, and
/// the `Allow` header of a 405.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body (sent without it for HEAD; `Content-Length` is still its length).
    pub body: Vec<u8>,
    /// An `Allow` header, for 405 responses.
    pub allow: Option<&'static str>,
}

impl Default for Response {
    fn default() -> Self {
        Self::ok(contract::TEXT_PLAIN, Vec::new())
    }
}

impl Response {
    /// A 200 with `body`.
    pub fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            content_type,
            body: body.into(),
            allow: None,
        }
    }

    /// `status` with a plain-text `body`.
    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            ..Self::ok(contract::TEXT_PLAIN, body)
        }
    }

    /// Turns it into an empty plain-text 200 again, keeping the body's allocation.
    pub fn reset(&mut self) {
        self.status = 200;
        self.content_type = contract::TEXT_PLAIN;
        self.body.clear();
        self.allow = None;
    }
}

/// What [`Session::answer`] did with a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    /// Bytes of the buffer that were whole requests, now answered: drop them.
    pub consumed: usize,
    /// Whether the connection ends after the answers (`Connection: close`, HTTP/1.0, a request
    /// that could not be parsed, or a server shutting down).
    pub close: bool,
}

/// One connection's side of HTTP/1.1, without I/O: the server reads bytes into a buffer, hands
/// it to [`Session::answer`], writes what lands in the output buffer, and reads again. The
/// blocking server and the async one drive the same session.
#[derive(Debug)]
pub struct Session {
    server: &'static str,
    limits: Limits,
    date: DateCache,
    response: Response,
    sent_continue: bool,
}

impl Session {
    /// A session of the server called `server` (the `Server` header) under `limits`.
    pub fn new(server: &'static str, limits: Limits) -> Self {
        Self {
            server,
            limits,
            date: DateCache::default(),
            response: Response::default(),
            sent_continue: false,
        }
    }

    /// Answers every complete request at the start of `buf` in order (pipelined requests
    /// included) and appends the answers to `out`. `app` is the server's request -> response
    /// function: it gets each request and a response reset to an empty plain-text 200 to fill
    /// in. A request that cannot be parsed is answered with its [`ParseError::status`] and ends
    /// the connection. A partial request waits for the next call; if it expects
    /// `100 Continue`, that goes out once. `closing` (the server is shutting down) makes the
    /// next answer the last one.
    pub fn answer(
        &mut self,
        buf: &[u8],
        out: &mut Vec<u8>,
        closing: bool,
        mut app: impl FnMut(&Request<'_>, &mut Response),
    ) -> Answered {
        self.answer_ready(buf, out, closing, |req, res| {
            app(req, res);
            true
        })
    }

    /// [`Session::answer`], except that `app` may put a request off by returning `false`:
    /// nothing is written for it, answering stops before it, and it stays in the buffer (it is
    /// not counted in `consumed`). An async server puts off a request whose answer needs I/O (a
    /// database query), does that I/O, and calls again with the answer ready.
    pub fn answer_ready(
        &mut self,
        buf: &[u8],
        out: &mut Vec<u8>,
        closing: bool,
        mut app: impl FnMut(&Request<'_>, &mut Response) -> bool,
    ) -> Answered {
        let mut consumed = 0;
        loop {
            match parse(&buf[consumed..], &self.limits) {
                Ok(Parsed::Complete(req)) => {
                    self.date.refresh();
                    self.response.reset();
                    if !app(&req, &mut self.response) {
                        return Answered {
                            consumed,
                            close: false,
                        };
                    }
                    let keep_alive = req.keep_alive && !closing;
                    let opts = ResponseOptions {
                        head: req.method == "HEAD",
                        keep_alive,
                        http10: req.minor_version == 0,
                        allow: self.response.allow,
                    };
                    let res = &self.response;
                    write_response(
                        out,
                        self.server,
                        &self.date,
                        res.status,
                        res.content_type,
                        &res.body,
                        opts,
                    );
                    consumed += req.len;
                    self.sent_continue = false;
                    if !keep_alive {
                        return Answered {
                            consumed,
                            close: true,
                        };
                    }
                }
                Ok(Parsed::Partial { expects_continue }) => {
                    if expects_continue && !self.sent_continue {
                        out.extend_from_slice(CONTINUE);
                        self.sent_continue = true;
                    }
                    return Answered {
                        consumed,
                        close: false,
                    };
                }
                Err(err) => {
                    self.date.refresh();
                    write_error(out, self.server, &self.date, err.status());
                    return Answered {
                        consumed,
                        close: true,
                    };
                }
            }
        }
    }
}

/// The interim response to `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The value of the `Date` header, formatted at most once per second.
///
/// Formatting a date costs far more than answering `GET /`, so every server caches it; hyper and
/// actix keep one per thread. Each connection of the hand-written servers keeps its own: no
/// sharing, no locks, and a clock read per request is a cheap vDSO call.
#[derive(Debug, Clone)]
pub struct DateCache {
    second: u64,
    value: [u8; 29],
}

impl Default for DateCache {
    fn default() -> Self {
        let mut cache = Self {
            second: u64::MAX,
            value: [b' '; 29],
        };
        cache.refresh();
        cache
    }
}

impl DateCache {
    /// Re-formats the value if the second has changed since the last call.
    pub fn refresh(&mut self) {
        let now = SystemTime::now();
        let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if second != self.second {
            let formatted = httpdate::fmt_http_date(now);
            // IMF-fixdate is always 29 bytes long: `Sun, 06 Nov 1994 08:49:37 GMT`.
            if formatted.len() == self.value.len() {
                self.value.copy_from_slice(formatted.as_bytes());
                self.second = second;
            }
        }
    }

    /// The cached value.
    pub fn value(&self) -> &[u8] {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn complete(buf: &[u8]) -> Request<'_> {
        match parse(buf, &Limits::default()) {
            Ok(Parsed::Complete(req)) => req,
            other => panic!("expected a complete request, got {other:?}"),
        }
    }

    fn error(buf: &[u8]) -> ParseError {
        parse(buf, &Limits::default()).expect_err("expected an error")
    }

    #[test]
    fn parses_a_get_and_its_length() {
        let buf = b"GET /json HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n";
        let req = complete(buf);
        assert_eq!(
            (req.method, req.path, req.minor_version),
            ("GET", "/json", 1)
        );
        assert!(req.keep_alive);
        assert_eq!(req.len, 31);
        assert_eq!(
            parse(&buf[req.len..], &Limits::default()),
            Ok(Parsed::Partial {
                expects_continue: false
            })
        );
    }

    #[test]
    fn keep_alive_follows_version_and_connection_header() {
        assert!(!complete(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(complete(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(
            !complete(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: te, close\r\n\r\n").keep_alive
        );
    }

    #[test]
    fn reads_a_content_length_body_once_it_has_arrived() {
        let buf = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\nhello";
        for end in 0..buf.len() {
            assert!(
                matches!(
                    parse(&buf[..end], &Limits::default()),
                    Ok(Parsed::Partial { .. })
                ),
                "{end}"
            );
        }
        let req = complete(buf);
        assert_eq!(&*req.body, b"hello");
        assert!(req.has_json_body());
        assert_eq!(req.len, buf.len());
    }

    #[test]
    fn decodes_chunked_bodies_with_trailers() {
        let buf = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let req = complete(buf);
        assert_eq!(&*req.body, b"abcde");
        assert_eq!(&buf[req.len..], b"NEXT");
        for end in 0..buf.len() - 4 {
            assert!(
                matches!(
                    parse(&buf[..end], &Limits::default()),
                    Ok(Parsed::Partial { .. })
                ),
                "{end}"
            );
        }
    }

    #[test]
    fn a_request_behind_a_last_chunk_is_not_a_trailer() {
        let buf = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nGET /error HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(matches!(
            parse(buf, &Limits::default()),
            Err(ParseError::Malformed(_))
        ));
    }

    #[test]
    fn refuses_smuggling_and_bad_lengths() {
        let cases: [&[u8]; 8] = [
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY",
        ];
        for buf in cases {
            assert_eq!(error(buf).status(), 400, "{}", String::from_utf8_lossy(buf));
        }
        let same_twice =
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx";
        assert_eq!(&*complete(same_twice).body, b"x");
    }

    #[test]
    fn refuses_what_is_too_large() {
        assert_eq!(
            error(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n"),
            ParseError::BodyTooLarge
        );
        let chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n";
        assert_eq!(error(chunked), ParseError::BodyTooLarge);
        let mut long = b"GET /".to_vec();
        long.resize(40_000, b'a');
        assert_eq!(error(&long), ParseError::HeadTooLarge);
        let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..500 {
            many.extend_from_slice(format!("x-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(error(&many), ParseError::HeadTooLarge);
    }

    #[test]
    fn refuses_garbage_and_other_versions() {
        for buf in [
            &b"\x16\x03\x01\x02\x00\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n",
        ] {
            assert_eq!(error(buf).status(), 400, "{}", String::from_utf8_lossy(buf));
        }
    }

    #[test]
    fn signals_expect_continue_while_the_body_is_missing() {
        let buf =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n";
        assert_eq!(
            parse(buf, &Limits::default()),
            Ok(Parsed::Partial {
                expects_continue: true
            })
        );
    }

    #[test]
    fn writes_a_response_with_every_header() {
        let date = DateCache::default();
        let mut out = Vec::new();
        let opts = ResponseOptions {
            head: true,
            keep_alive: false,
            allow: Some("GET, HEAD"),
            ..Default::default()
        };
        write_response(
            &mut out,
            "std",
            &date,
            405,
            "text/plain; charset=utf-8",
            b"Method Not Allowed",
            opts,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\nserver: std\r\ndate: "));
        assert!(
            text.ends_with("content-length: 18\r\nallow: GET, HEAD\r\nconnection: close\r\n\r\n")
        );
        assert!(httpdate::parse_http_date(std::str::from_utf8(date.value()).unwrap()).is_ok());
    }

    #[test]
    fn host_rules_of_rfc_9112() {
        assert_eq!(
            error(b"GET / HTTP/1.1\r\n\r\n"),
            ParseError::Malformed("missing or repeated Host")
        );
        assert_eq!(
            error(b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n").status(),
            400
        );
        assert_eq!(complete(b"GET / HTTP/1.0\r\n\r\n").path, "/");
    }

    #[test]
    fn routes_by_the_path_of_any_target_form() {
        for (target, path) in [
            ("/users/7?x=1&y", "/users/7"),
            ("http://localhost:8080/json?x=1", "/json"),
            ("http://localhost", "/"),
            ("/a?next=http://b/c", "/a"),
            ("*", "*"),
        ] {
            let buf = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
            let req = complete(buf.as_bytes());
            assert_eq!((req.path, req.target), (path, target));
        }
    }

    fn session_answers(buf: &[u8]) -> (Answered, String) {
        let mut session = Session::new("t", Limits::default());
        let mut out = Vec::new();
        let answered = session.answer(buf, &mut out, false, |req, res| {
            res.body.extend_from_slice(req.path.as_bytes());
            if req.path == "/teapot" {
                res.status = 405;
                res.allow = Some("GET");
            }
        });
        (answered, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_session_answers_pipelined_requests_in_order() {
        let buf = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /teapot HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHo";
        let (answered, out) = session_answers(buf);
        let partial = b"GET /c HTTP/1.1\r\nHo".len();
        assert_eq!(
            answered,
            Answered {
                consumed: buf.len() - partial,
                close: false
            }
        );
        let first = out.find("content-length: 2\r\n\r\n/a").unwrap();
        let second = out.find("HTTP/1.1 405 Method Not Allowed").unwrap();
        assert!(first < second);
        assert!(
            out.ends_with("content-length: 7\r\nallow: GET\r\n\r\n"),
            "{out}"
        );
    }

    #[test]
    fn a_session_stops_before_a_request_put_off_and_answers_it_when_ready() {
        let first = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
        let buf = [&first[..], b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n"].concat();
        let mut session = Session::new("t", Limits::default());
        let mut out = Vec::new();
        let answered = session.answer_ready(&buf, &mut out, false, |req, res| {
            res.body.extend_from_slice(req.path.as_bytes());
            req.path != "/later"
        });
        assert_eq!(
            answered,
            Answered {
                consumed: first.len(),
                close: false
            }
        );
        let out_text = String::from_utf8(out.clone()).unwrap();
        assert!(out_text.ends_with("\r\n\r\n/a"), "{out_text}");
        assert!(!out_text.contains("/later"), "{out_text}");
        // Called again with the rest, the answer ready: it goes out.
        let answered = session.answer_ready(&buf[first.len()..], &mut out, false, |_, res| {
            res.body.extend_from_slice(b"ready");
            true
        });
        assert_eq!(answered.consumed, buf.len() - first.len());
        assert!(String::from_utf8(out).unwrap().ends_with("\r\n\r\nready"));
    }

    #[test]
    fn a_session_closes_after_close_and_after_a_bad_request() {
        let (answered, out) = session_answers(
            b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        );
        assert!(answered.close);
        assert!(
            out.contains("connection: close") && !out.contains("/b"),
            "{out}"
        );
        let (answered, out) = session_answers(b"GET /a HTTP/1.1\r\n\r\n");
        assert_eq!(
            answered,
            Answered {
                consumed: 0,
                close: true
            }
        );
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
        assert!(
            out.ends_with("connection: close\r\n\r\nBad Request"),
            "{out}"
        );
    }

    #[test]
    fn a_session_sends_100_continue_once() {
        let head =
            b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n";
        let mut session = Session::new("t", Limits::default());
        let mut out = Vec::new();
        for _ in 0..2 {
            session.answer(head, &mut out, false, |_, _| {});
        }
        assert_eq!(out, CONTINUE);
    }

    /// A piece of a request: a request line, a header (framing ones included), the end of the
    /// head, a chunk, the last chunk, a few body bytes, or random bytes.
    fn request_piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"GET / HTTP/1.1\r\n".to_vec()),
            Just(b"POST /echo HTTP/1.1\r\n".to_vec()),
            Just(b"HEAD /json HTTP/1.0\r\n".to_vec()),
            Just(b"Host: a\r\n".to_vec()),
            Just(b"Content-Length: 3\r\n".to_vec()),
            Just(b"Content-Length: 0\r\n".to_vec()),
            Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
            Just(b"Expect: 100-continue\r\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"3\r\nabc\r\n".to_vec()),
            Just(b"0\r\n\r\n".to_vec()),
            Just(b"abc".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..8),
        ]
    }

    proptest! {
        /// Whatever the bytes, parsing never panics, and a request is only ever complete when
        /// all of it is in the buffer: the `len` bytes it claims parse alone as the same request,
        /// and no strict prefix of them parses as complete. The bytes are random pieces of
        /// requests (lines, framings, chunks) and random bytes, so that many are complete.
        #[test]
        fn never_panics_and_never_completes_a_prefix(pieces in proptest::collection::vec(request_piece(), 0..24)) {
            let bytes = pieces.concat();
            if let Ok(Parsed::Complete(req)) = parse(&bytes, &Limits::default()) {
                prop_assert!(req.len <= bytes.len());
                let whole = &bytes[..req.len];
                match parse(whole, &Limits::default()) {
                    Ok(Parsed::Complete(alone)) => prop_assert_eq!(alone.len, req.len),
                    other => prop_assert!(false, "its own {} bytes: {:?}", req.len, other),
                }
                for cut in 0..req.len {
                    let prefix = parse(&whole[..cut], &Limits::default());
                    prop_assert!(
                        !matches!(prefix, Ok(Parsed::Complete(_))),
                        "a prefix of {} of the request's {} bytes is complete", cut, req.len
                    );
                }
            }
        }

        /// Any strict prefix of a valid request with a body is partial, never complete.
        #[test]
        fn a_prefix_is_partial(body in proptest::collection::vec(any::<u8>(), 1..200), chunked in any::<bool>(), cut in 0usize..10_000) {
            let mut buf = b"POST /echo HTTP/1.1\r\nHost: a\r\n".to_vec();
            if chunked {
                buf.extend_from_slice(format!("Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", body.len()).as_bytes());
                buf.extend_from_slice(&body);
                buf.extend_from_slice(b"\r\n0\r\n\r\n");
            } else {
                buf.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                buf.extend_from_slice(&body);
            }
            let cut = cut % buf.len();
            let partial = matches!(parse(&buf[..cut], &Limits::default()), Ok(Parsed::Partial { .. }));
            prop_assert!(partial, "a prefix of {} bytes was not partial", cut);
            match parse(&buf, &Limits::default()) {
                Ok(Parsed::Complete(req)) => {
                    prop_assert_eq!(&*req.body, &body[..]);
                    prop_assert_eq!(req.len, buf.len());
                }
                other => prop_assert!(false, "not complete: {:?}", other),
            }
        }
    }
}

/// Inputs the fuzz targets (`fuzz/`) found, byte for byte, each with what it broke.
#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    const CHUNKED_HEAD: &[u8] =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

    fn chunked(body: &[u8]) -> Result<Parsed<'static>, ParseError> {
        let mut request = CHUNKED_HEAD.to_vec();
        request.extend_from_slice(body);
        let request: &'static [u8] = request.leak();
        parse(request, &Limits::default())
    }

    /// `framing_vs_hyper` target (`fuzz/regressions/framing-leading-zeros-in-chunk-size`): a
    /// chunk size of 18 digits, 17 of them leading zeros, which httparse refused (more than 16
    /// digits) and hyper reads as 15, serving the request and the one behind it.
    #[test]
    fn leading_zeros_of_a_chunk_size_are_read_past() {
        let found = include_bytes!("../fuzz/regressions/framing-leading-zeros-in-chunk-size");
        let complete = |bytes: &'static [u8]| match parse(bytes, &Limits::default()) {
            Ok(Parsed::Complete(request)) => request,
            other => panic!("{}: {other:?}", String::from_utf8_lossy(bytes)),
        };
        let first = complete(found);
        assert_eq!(&first.body[..], br#"{"message":"a"}"#);
        assert_eq!(complete(&found[first.len..]).path, "/error");
        let zeros = "0".repeat(200);
        for (body, expected) in [
            (
                format!("{zeros}3\r\nabc\r\n{zeros}\r\n\r\n"),
                Ok(&b"abc"[..]),
            ),
            ("00\r\n\r\n".to_owned(), Ok(&b""[..])),
            // 16 significant digits: a size far over the body's limit.
            (
                format!("{zeros}ffffffffffffffff\r\n"),
                Err(ParseError::BodyTooLarge),
            ),
        ] {
            let parsed = chunked(body.as_bytes());
            match (&parsed, expected) {
                (Ok(Parsed::Complete(request)), Ok(expected)) => {
                    assert_eq!(&request.body[..], expected, "{body:?}");
                }
                (Err(error), Err(expected)) => assert_eq!(*error, expected, "{body:?}"),
                _ => panic!("{body:?}: {parsed:?}"),
            }
        }
    }

    /// `framing_vs_hyper` target (`fuzz/regressions/framing-connection-close-with-obs-text`): a
    /// Connection value holding `close` and a byte over 0x7e, which hyper ignores (keeping the
    /// connection alive) where h1-codec closed it.
    #[test]
    fn a_connection_value_with_obs_text_is_ignored() {
        let found = include_bytes!("../fuzz/regressions/framing-connection-close-with-obs-text");
        match parse(found, &Limits::default()) {
            Ok(Parsed::Complete(request)) => assert!(request.keep_alive, "{request:?}"),
            other => panic!("{other:?}"),
        }
        let plain = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        match parse(plain, &Limits::default()) {
            Ok(Parsed::Complete(request)) => assert!(!request.keep_alive),
            other => panic!("{other:?}"),
        }
    }

    /// `chunked` target, `\r\n\n#r`: httparse reads a chunk-size line without a digit as size
    /// 0, the last chunk (RFC 9112, 7.1: chunk-size = 1*HEXDIG). hyper refuses it.
    #[test]
    fn a_chunk_size_line_without_a_digit_is_refused() {
        for body in [
            &b"\r\n\r\n"[..],
            b" \r\n\r\n",
            b";x\r\n\r\n",
            b"\t;x\r\n\r\n",
        ] {
            assert_eq!(
                chunked(body),
                Err(ParseError::Malformed("bad chunk size")),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    /// `chunked` target, `\r\n\n#r`: the trailer section ended by a bare LF. hyper reads on to
    /// the next CRLF CRLF and takes the request behind it for trailers, h1-codec served that
    /// request: the two would frame the connection two ways.
    #[test]
    fn a_trailer_section_ended_by_a_bare_lf_is_refused() {
        let body = b"1\r\na\r\n0\r\n\nGET /error HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(matches!(chunked(body), Err(ParseError::Malformed(_))));
        let trailer = b"1\r\na\r\n0\r\nX-T: 1\n\r\n";
        assert!(matches!(chunked(trailer), Err(ParseError::Malformed(_))));
        // The input of `framing_vs_hyper` that shows hyper dropping the bytes in between.
        let found = include_bytes!("../fuzz/regressions/framing-bare-lf-in-trailers-hyper-drops");
        assert_eq!(
            parse(found, &Limits::default()),
            Err(ParseError::Malformed("trailer line not ended by CRLF"))
        );
    }

    /// `chunked` target, under limits of 64 head bytes: a trailer section longer than the
    /// head's limit was refused (431) while it arrived, yet served when it came in one read.
    /// Whether a request is served must not depend on how the bytes are split.
    #[test]
    fn a_trailer_section_over_the_head_limit_is_refused_however_it_arrives() {
        let limits = Limits {
            max_head_bytes: 64,
            max_headers: 4,
            max_body_bytes: 16,
        };
        let mut request = CHUNKED_HEAD.to_vec();
        request.extend_from_slice(b"0\r\nQQQQQQQQ::\xff:\xee\xedm&&&&;\x8fe&&&&&&;\x8f\x8f\x8f$\x8f\x8f\x8f\x8f&&&;\x8f\x8f\x8f\x8f\x8f\x8f\x8f\xed\x80\xa1\xd9e\xff0\xd6\x9c\x9c\x8f:-0\r\n\r\nQ\r\n-\xd6-QD");
        assert_eq!(
            parse(&request[..128], &limits),
            Err(ParseError::HeadTooLarge)
        );
        assert_eq!(parse(&request, &limits), Err(ParseError::HeadTooLarge));
    }

    /// `chunked` target, under limits of 64 head bytes and 16 body bytes: a chunk extension
    /// without end. httparse takes extensions of any length, so a partial request grew without
    /// bound (here 501 bytes, over the 484 the limits allow, `fuzz/src/properties.rs`), and a
    /// server buffered it. Extensions and trailers now count against the head's limit.
    #[test]
    fn a_chunk_extension_without_end_is_refused() {
        let limits = Limits {
            max_head_bytes: 64,
            max_headers: 4,
            max_body_bytes: 16,
        };
        let mut request = CHUNKED_HEAD.to_vec();
        request.extend_from_slice(
            b"0;ssssssss\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xff\xff\xff\xff\xff\xff\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
            \x00\x00\x00\x00\x00\x00\x00\x00\x00ss\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd+\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xfd\xfdssssssssss\x00\x00\x00\x00\x00\x00\x00\x00^\x00\x00\x00sssssssssssssssss\
            sssss\x01\x00\x00\x01ss|s\x1f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
            \x00\x00\x00\x00\x00^\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00;\xff\xff\xff\xff\xff\
            \xff\xff\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
            \x00\x00\x00\x00ss\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd+\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\
            \xfd\xfd\xfdssssssssss\x00\x00\x00\x00\x00\x00\x00\x00^\x00\x00\x00sssssssssssssssss\
            sssss\x01\x00\x00\x01ss|s\x1f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\n",
        );
        assert_eq!(parse(&request, &limits), Err(ParseError::HeadTooLarge));
        let mut endless = CHUNKED_HEAD.to_vec();
        endless.extend_from_slice(b"1;");
        endless.resize(CHUNKED_HEAD.len() + contract::MAX_HEAD_BYTES + 20, b'a');
        assert_eq!(
            parse(&endless, &Limits::default()),
            Err(ParseError::HeadTooLarge)
        );
    }

    /// `chunked` target (the input is `fuzz/regressions/chunked-101-trailer-lines`): more
    /// trailer lines than h1-codec's array holds were a 400, "bad trailer field", though every
    /// line was valid. Too many field lines is a limit, 431, as in the head.
    #[test]
    fn too_many_trailer_lines_are_a_431() {
        let limits = Limits {
            max_head_bytes: 64,
            max_headers: 4,
            max_body_bytes: 16,
        };
        let mut request = CHUNKED_HEAD.to_vec();
        request.extend_from_slice(include_bytes!(
            "../fuzz/regressions/chunked-101-trailer-lines"
        ));
        assert_eq!(parse(&request, &limits), Err(ParseError::HeadTooLarge));
        let mut many = CHUNKED_HEAD.to_vec();
        many.extend_from_slice(b"0\r\n");
        for _ in 0..=MAX_HEADERS {
            many.extend_from_slice(b"a:\r\n");
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            parse(&many, &Limits::default()),
            Err(ParseError::HeadTooLarge)
        );
    }

    /// `chunked` target (`fuzz/regressions/chunked-leading-zeros-in-last-chunk`): a last chunk
    /// of 44 zeros. h1-codec served it, as hyper does, since 17f4669; the target's reference
    /// decoder still counted the zeros against 16 digits and called it invalid. The reference
    /// is mended; this holds h1-codec's side: served, empty, ending after the empty trailer.
    #[test]
    fn a_last_chunk_of_many_zeros_is_served() {
        let mut request = CHUNKED_HEAD.to_vec();
        request.extend_from_slice(include_bytes!(
            "../fuzz/regressions/chunked-leading-zeros-in-last-chunk"
        ));
        match parse(&request, &Limits::default()) {
            Ok(Parsed::Complete(req)) => {
                assert!(req.body.is_empty());
                assert_eq!(req.len, CHUNKED_HEAD.len() + 48);
            }
            other => panic!("{other:?}"),
        }
    }

    /// Found by the differential's comparison (`fuzz/src/verdict.rs`) on a request written to
    /// probe it, before the fuzzer had reached it: an HTTP/1.0 request with `close` and then
    /// `keep-alive` kept the connection open, and the request behind it was served; hyper
    /// closes. RFC 9112, 9.6: a server that receives `close` MUST close after its response.
    #[test]
    fn close_wins_over_a_later_keep_alive() {
        for buf in [
            &b"GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n",
        ] {
            match parse(buf, &Limits::default()) {
                Ok(Parsed::Complete(req)) => assert!(!req.keep_alive),
                other => panic!("{other:?}"),
            }
        }
    }

    /// `chunked` target, `0;;\n\xdd\xeb\r\n\r\n...`: httparse takes any byte in a chunk
    /// extension, an LF too. A parser that ends the line there reads the rest of it as data or
    /// trailers; hyper refuses the line ("invalid chunk extension contains newline").
    #[test]
    fn an_lf_inside_a_chunk_extension_is_refused() {
        let found =
            b"0;;\n\xdd\xeb\r\n\r\nr\xdb\n\xff\x0e\x19\0\0\0\0\0\0\0\xd4\xdf\xe5\xcd \n\xdd";
        let smuggled = b"1;a\n5\r\nx\r\n0\r\n\r\n";
        for body in [&found[..], smuggled] {
            assert_eq!(
                chunked(body),
                Err(ParseError::Malformed("bad chunk size")),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
