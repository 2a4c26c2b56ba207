//! The h1 engine: our own HTTP/1.1 client on tokio's raw TCP sockets, made to cost the client
//! as little as possible per request so that one client core can saturate one server core.
//!
//! - Every request variant is serialized once, at start-up; a batch is one `write`.
//! - Answers are framed with httparse (Content-Length, chunked, 1xx skipped, HEAD, 204 and 304
//!   bodiless, close-delimited) straight from one reused read buffer. Body bytes are counted and
//!   skipped, never copied.
//! - A read that fills less than the buffer has drained the socket, so the socket's readiness is
//!   cleared then and there: the next answer costs one `read`, not a `read` plus a `read` that
//!   finds nothing (what tokio's `AsyncRead` does). One write and one read per request, as wrk.

use std::io::{self, Read as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use http::header::{self, HeaderValue};
use reqwest::Url;
use socket2::SockRef;
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::{After, Answer, Connection, Connector, EngineOptions, Exchange};
use crate::stats::ErrorKind;
use crate::target::{Target, TargetError};

/// Read buffer per connection: room for many pipelined answers per `read`.
const READ_BUFFER: usize = 64 * 1024;
/// Most headers an answer may have.
const MAX_HEADERS: usize = 64;

/// Opens connections to the target for one load thread, with every request serialized once.
#[derive(Debug)]
pub struct H1Connector {
    addr: SocketAddr,
    /// Each variant's whole request: head and body.
    requests: Arc<[Bytes]>,
    /// HEAD answers have no body, whatever their headers say.
    head: bool,
    connect_timeout: Duration,
    pipeline: usize,
}

impl H1Connector {
    /// Resolves the target and serializes every request variant.
    pub fn new(target: &Target, options: &EngineOptions) -> Result<Self, TargetError> {
        if !target.is_plain_http() {
            return Err(TargetError::NeedsHttp("h1", target.urls[0].to_string()));
        }
        let requests = target
            .urls
            .iter()
            .map(|url| serialize(target, url))
            .collect::<Result<Arc<[_]>, _>>()?;
        Ok(Self {
            addr: target.socket_addr()?,
            requests,
            head: target.method == Method::HEAD,
            connect_timeout: options.timeout,
            pipeline: options.pipeline.max(1),
        })
    }
}

/// One request as bytes on the wire: the request line in origin form, `Host`, the target's
/// headers, `Content-Length` when there is a body (or the method usually has one), the body.
fn serialize(target: &Target, url: &Url) -> Result<Bytes, TargetError> {
    let mut out = Vec::with_capacity(128 + target.body.len());
    out.extend_from_slice(target.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(Target::origin_form(url).as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut line = |name: &[u8], value: &[u8]| {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    };
    if !target.headers.contains_key(header::HOST) {
        let host = Target::host_header(url);
        HeaderValue::from_str(&host).map_err(|e| TargetError::BadUrl {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        line(b"host", host.as_bytes());
    }
    for (name, value) in &target.headers {
        line(name.as_str().as_bytes(), value.as_bytes());
    }
    let usually_has_body = matches!(target.method, Method::POST | Method::PUT | Method::PATCH);
    if !target.headers.contains_key(header::CONTENT_LENGTH)
        && (!target.body.is_empty() || usually_has_body)
    {
        line(b"content-length", target.body.len().to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&target.body);
    Ok(Bytes::from(out))
}

impl Connector for H1Connector {
    type Conn = H1Connection;

    async fn connect(&self) -> Result<Self::Conn, ErrorKind> {
        let stream = super::connect_tcp(self.addr, self.connect_timeout).await?;
        Ok(H1Connection {
            stream,
            requests: Arc::clone(&self.requests),
            head: self.head,
            out: Vec::with_capacity(self.pipeline * self.requests[0].len()),
            buf: vec![0; READ_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
        })
    }
}

/// One HTTP/1.1 connection, its batch buffer and its read buffer.
#[derive(Debug)]
pub struct H1Connection {
    stream: TcpStream,
    requests: Arc<[Bytes]>,
    head: bool,
    /// A batch's requests, concatenated for one write.
    out: Vec<u8>,
    /// Bytes read: `buf[start..end]` is not parsed yet.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Connection for H1Connection {
    async fn send(
        &mut self,
        batch: &[usize],
        answers: &mut Vec<Answer>,
    ) -> Result<After, ErrorKind> {
        answers.clear();
        if let [variant] = batch {
            let request = Bytes::clone(&self.requests[*variant]);
            self.write_all(&request).await?;
        } else {
            let mut out = std::mem::take(&mut self.out);
            out.clear();
            for &variant in batch {
                out.extend_from_slice(&self.requests[variant]);
            }
            let written = self.write_all(&out).await;
            self.out = out;
            written?;
        }
        for _ in batch {
            let (exchange, close) = self.read_answer().await?;
            answers.push(Answer {
                exchange,
                done: Instant::now(),
            });
            if close {
                return Ok(After::Closed);
            }
        }
        Ok(After::Open)
    }
}

/// How an answer's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    /// No length: the body runs to the end of the connection.
    ToClose,
}

impl H1Connection {
    async fn write_all(&self, mut bytes: &[u8]) -> Result<(), ErrorKind> {
        while !bytes.is_empty() {
            match self.stream.try_write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.stream
                        .writable()
                        .await
                        .map_err(|e| ErrorKind::of_io(&e))?;
                }
                Err(e) => return Err(ErrorKind::of_io(&e)),
            }
        }
        Ok(())
    }

    /// Reads one final answer (skipping 1xx) to its end; true when the server will close.
    async fn read_answer(&mut self) -> Result<(Exchange, bool), ErrorKind> {
        loop {
            let head = self.read_head().await?;
            if (100..200).contains(&head.status) {
                if head.status == 101 {
                    // An upgrade leaves HTTP: nothing more to measure on this connection.
                    return Err(ErrorKind::Other);
                }
                continue;
            }
            let bodiless = self.head || head.status == 204 || head.status == 304;
            let framing = if bodiless {
                Framing::Length(0)
            } else {
                head.framing
            };
            let body_bytes = match framing {
                Framing::Length(n) => self.skip(n).await?,
                Framing::Chunked => self.skip_chunked().await?,
                Framing::ToClose => self.skip_to_close().await?,
            };
            let close = head.close || framing == Framing::ToClose;
            return Ok((
                Exchange {
                    status: head.status,
                    body_bytes,
                },
                close,
            ));
        }
    }

    async fn read_head(&mut self) -> Result<Head, ErrorKind> {
        loop {
            if let Some(head) = parse_head(&self.buf[self.start..self.end])? {
                self.start += head.len;
                return Ok(head);
            }
            if self.fill().await? == 0 {
                return Err(ErrorKind::Reset);
            }
        }
    }

    /// Skips `n` body bytes, reading as needed; returns `n`.
    async fn skip(&mut self, n: u64) -> Result<u64, ErrorKind> {
        let mut left = n;
        loop {
            let here = (self.end - self.start).min(usize::try_from(left).unwrap_or(usize::MAX));
            self.start += here;
            left -= here as u64;
            if left == 0 {
                return Ok(n);
            }
            if self.fill().await? == 0 {
                return Err(ErrorKind::Reset);
            }
        }
    }

    async fn skip_chunked(&mut self) -> Result<u64, ErrorKind> {
        let mut total = 0;
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete((len, size))) => {
                        self.start += len;
                        break size;
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.fill().await? == 0 {
                            return Err(ErrorKind::Reset);
                        }
                    }
                    Err(_) => return Err(ErrorKind::Other),
                }
            };
            if size == 0 {
                self.skip_trailers().await?;
                return Ok(total);
            }
            self.skip(size).await?;
            total += size;
            let crlf = self.take_line().await?;
            if crlf != 0 {
                return Err(ErrorKind::Other);
            }
        }
    }

    /// After the last chunk: trailer lines up to the empty line.
    async fn skip_trailers(&mut self) -> Result<(), ErrorKind> {
        while self.take_line().await? != 0 {}
        Ok(())
    }

    /// Consumes one line up to its CRLF; returns its length without the CRLF.
    async fn take_line(&mut self) -> Result<usize, ErrorKind> {
        loop {
            let unread = &self.buf[self.start..self.end];
            if let Some(at) = unread.windows(2).position(|w| w == b"\r\n") {
                self.start += at + 2;
                return Ok(at);
            }
            if self.fill().await? == 0 {
                return Err(ErrorKind::Reset);
            }
        }
    }

    async fn skip_to_close(&mut self) -> Result<u64, ErrorKind> {
        let mut total = (self.end - self.start) as u64;
        self.start = self.end;
        loop {
            match self.fill().await? {
                0 => return Ok(total),
                n => {
                    total += n as u64;
                    self.start = self.end;
                }
            }
        }
    }

    /// Reads more bytes after `end`; 0 at the end of the stream.
    async fn fill(&mut self) -> Result<usize, ErrorKind> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            if self.end == self.buf.len() {
                // A head larger than the whole buffer: no answer of ours is that big.
                return Err(ErrorKind::Other);
            }
        }
        let Self {
            stream, buf, end, ..
        } = self;
        let space = &mut buf[*end..];
        let room = space.len();
        loop {
            stream.readable().await.map_err(|e| ErrorKind::of_io(&e))?;
            let mut got = 0;
            let read = stream.try_io(Interest::READABLE, || {
                got = (&*SockRef::from(&*stream)).read(space)?;
                if got > 0 && got < room {
                    // A short read emptied the socket: say so, and tokio clears its
                    // readiness without another read that would only find nothing.
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(got)
            });
            match read {
                Ok(n) => {
                    *end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if got > 0 {
                        *end += got;
                        return Ok(got);
                    }
                }
                Err(e) => return Err(ErrorKind::of_io(&e)),
            }
        }
    }
}

/// What the head of an answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    /// Bytes of the head, blank line included.
    len: usize,
    status: u16,
    framing: Framing,
    /// The server closes the connection after this answer.
    close: bool,
}

/// Parses an answer's head from the start of `bytes`; `None` when it is not all there yet.
fn parse_head(bytes: &[u8]) -> Result<Option<Head>, ErrorKind> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ErrorKind::Other),
    };
    let status = response.code.ok_or(ErrorKind::Other)?;
    // HTTP/1.0 closes unless it says keep-alive; HTTP/1.1 stays open unless it says close.
    let mut close = response.version == Some(0);
    let mut framing = Framing::ToClose;
    for h in response.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or(ErrorKind::Other)?;
            if framing != Framing::Chunked {
                framing = Framing::Length(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked is the last coding when it is there at all (RFC 9112 §6.1), and it
            // overrides Content-Length.
            if ends_with_token(h.value, b"chunked") {
                framing = Framing::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            if has_token(h.value, b"close") {
                close = true;
            } else if has_token(h.value, b"keep-alive") {
                close = false;
            }
        }
    }
    Ok(Some(Head {
        len,
        status,
        framing,
        close,
    }))
}

fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

fn has_token(value: &[u8], token: &[u8]) -> bool {
    tokens(value).any(|t| t.eq_ignore_ascii_case(token))
}

fn ends_with_token(value: &[u8], token: &[u8]) -> bool {
    tokens(value)
        .last()
        .is_some_and(|t| t.eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_say_how_the_body_ends() {
        let head = |text: &str| parse_head(text.as_bytes()).unwrap().unwrap();
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello");
        assert_eq!(
            (h.status, h.framing, h.close),
            (200, Framing::Length(13), false)
        );
        assert_eq!(h.len, 39);
        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n",
        );
        assert_eq!(h.framing, Framing::Chunked);
        let h = head("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n\r\n");
        assert_eq!((h.framing, h.close), (Framing::ToClose, true));
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(h.close);
        let h = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n");
        assert!(!h.close);
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le"), Ok(None));
        assert_eq!(parse_head(b"garbage\r\n\r\n"), Err(ErrorKind::Other));
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
            Err(ErrorKind::Other)
        );
    }

    #[test]
    fn requests_are_serialized_once_with_host_and_length() {
        let target = Target::new(
            "http://127.0.0.1:8080/echo?x=1",
            "POST",
            &["X-Test: yes".to_owned()],
            Bytes::from_static(b"{}"),
        )
        .unwrap();
        let bytes = serialize(&target, &target.urls[0]).unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "POST /echo?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-test: yes\r\ncontent-length: 2\r\n\r\n{}"
        );
        let get = Target::new("http://localhost/", "GET", &[], Bytes::new()).unwrap();
        assert_eq!(
            &serialize(&get, &get.urls[0]).unwrap()[..],
            b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n"
        );
    }
}
