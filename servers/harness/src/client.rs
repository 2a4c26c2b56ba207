//! A deliberately small raw HTTP/1.1 client: it writes exactly the bytes a test wants
//! (pipelined, split, malformed) and reads whole responses, one at a time.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use contract::Case;

/// One response as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Header fields in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (empty for HEAD).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server said it will close the connection.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A connection that writes raw bytes and reads whole responses, one at a time.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    /// Connects with TCP_NODELAY (so split writes really go out split) and a read timeout.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Self {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads the next response, skipping `100 Continue`. `head` says the request was HEAD, so
    /// the response has no body whatever its `Content-Length` says.
    pub fn read_response(&mut self, head: bool) -> io::Result<RawResponse> {
        loop {
            let response = self.read_one(head)?;
            if response.status != 100 {
                return Ok(response);
            }
        }
    }

    fn read_one(&mut self, head: bool) -> io::Result<RawResponse> {
        loop {
            match parse_response(&self.buf, head)? {
                Parsed::Complete(response, len) => {
                    self.buf.drain(..len);
                    return Ok(response);
                }
                Parsed::Partial { head_complete } => self.fill(head_complete)?,
                // No length: the body runs to the end of the connection.
                Parsed::UntilClose(mut response, head_len) => {
                    self.stream.read_to_end(&mut self.buf)?;
                    response.body = self.buf.split_off(head_len);
                    self.buf.clear();
                    return Ok(response);
                }
            }
        }
    }

    /// Reads more bytes. At end of stream: `UnexpectedEof` when no byte of a response had come
    /// (a close between responses), `InvalidData` when `mid_response` (a response cut short).
    /// A reset is `ConnectionReset` between responses and `InvalidData` mid-response, so that
    /// a response cut short by a reset never passes for a close between two.
    fn fill(&mut self, mid_response: bool) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let read = match self.stream.read(&mut chunk) {
            Err(e)
                if e.kind() == io::ErrorKind::ConnectionReset
                    && (mid_response || !self.buf.is_empty()) =>
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "response cut short by a reset",
                ));
            }
            other => other?,
        };
        match read {
            0 if mid_response || !self.buf.is_empty() => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response cut short",
            )),
            0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            )),
            n => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    /// Whether the server has already closed the connection, without waiting: end of stream or
    /// a reset now. Stray bytes count as "not closed" and stay unread.
    pub fn is_closed_by_peer_now(&mut self) -> bool {
        if !self.buf.is_empty() || self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let mut byte = [0u8; 1];
        let closed = match self.stream.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        let _ = self.stream.set_nonblocking(false);
        closed
    }

    /// Whether the server has closed the connection (reads end of stream within the timeout,
    /// with no stray bytes before it).
    pub fn is_closed_by_peer(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0))
            || matches!(self.stream.read(&mut byte), Err(e) if e.kind() == io::ErrorKind::ConnectionReset)
    }
}

/// What [`parse_response`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A whole response and how many bytes it took.
    Complete(RawResponse, usize),
    /// Not all of it yet; `head_complete` says whether the head has arrived.
    Partial {
        /// See above.
        head_complete: bool,
    },
    /// A head without `Content-Length`: the body runs to the end of the connection, which
    /// starts after the head's length given here.
    UntilClose(RawResponse, usize),
}

/// Parses one response from the start of `buf`. `head` says the request was HEAD, so the
/// response has no body whatever its `Content-Length` says.
pub fn parse_response(buf: &[u8], head: bool) -> io::Result<Parsed> {
    let invalid =
        |e: &dyn std::fmt::Display| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut slots);
    let head_len = match parsed.parse(buf).map_err(|e| invalid(&e))? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => {
            return Ok(Parsed::Partial {
                head_complete: false,
            });
        }
    };
    let headers = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect::<Vec<_>>();
    let mut response = RawResponse {
        status: parsed.code.unwrap_or_default(),
        headers,
        body: Vec::new(),
    };
    let status = response.status;
    if head || status == 100 || status == 204 || status == 304 {
        return Ok(Parsed::Complete(response, head_len));
    }
    let Some(len) = response.header("content-length") else {
        return Ok(Parsed::UntilClose(response, head_len));
    };
    let len: usize = len
        .trim()
        .parse()
        .map_err(|_| invalid(&"bad content-length"))?;
    match buf.get(head_len..head_len + len) {
        Some(body) => {
            response.body = body.to_vec();
            Ok(Parsed::Complete(response, head_len + len))
        }
        None => Ok(Parsed::Partial {
            head_complete: true,
        }),
    }
}

/// The bytes of `case`'s request, as HTTP/1.1, with `extra_headers` (each `Name: value`): its
/// `Host` lines as the case says, and its body with `Content-Length` or in 4 KiB chunks.
pub fn request_bytes(case: &Case, extra_headers: &[&str]) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.1\r\n", case.method, case.path);
    for host in case.host.values() {
        out.push_str(&format!("Host: {host}\r\n"));
    }
    if let Some(ct) = case.content_type {
        out.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if case.chunked {
        out.push_str("Transfer-Encoding: chunked\r\n");
    } else if !case.body.is_empty() || case.method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", case.body.len()));
    }
    for header in extra_headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if case.chunked {
        for chunk in case.body.chunks(4096) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
    } else {
        bytes.extend_from_slice(&case.body);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes_carry_length_and_type() {
        let case = contract::cases()
            .into_iter()
            .find(|c| c.name == "echo")
            .unwrap();
        let bytes = String::from_utf8(request_bytes(&case, &["Connection: close"])).unwrap();
        assert!(bytes.starts_with("POST /echo HTTP/1.1\r\n"));
        assert!(bytes.contains(
            "Content-Type: application/json\r\nContent-Length: 22\r\nConnection: close\r\n\r\n{"
        ));
    }

    #[test]
    fn request_bytes_follow_the_host_and_chunked_settings() {
        let find = |name: &str| {
            let case = contract::cases()
                .into_iter()
                .find(|c| c.name == name)
                .unwrap();
            String::from_utf8_lossy(&request_bytes(&case, &[])).into_owned()
        };
        let chunked = find("echo chunked body over 64 KiB");
        assert!(chunked.contains("Transfer-Encoding: chunked\r\n"));
        assert!(!chunked.contains("Content-Length"));
        assert!(chunked.contains("\r\n1000\r\n{\"message\""));
        assert!(chunked.ends_with("\r\n0\r\n\r\n"));
        assert!(!find("HTTP/1.1 without Host").contains("Host:"));
        assert_eq!(find("two Host headers").matches("Host:").count(), 2);
        assert!(
            find("json, absolute-form target")
                .starts_with("GET http://localhost/json HTTP/1.1\r\n")
        );
    }

    /// A server that has read nothing of what was sent and closes resets the connection (the
    /// kernel's answer to unread data); the bytes it wrote before stay readable ahead of the
    /// reset. So a reset after the first byte of an answer is an answer cut short, never a close
    /// between two answers, and the two are told apart.
    #[test]
    fn a_reset_mid_response_is_a_response_cut_short_and_a_reset_before_one_a_close() {
        let reset_after = |written: &'static [u8]| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let mut client =
                RawClient::connect(listener.local_addr().unwrap(), Duration::from_secs(5)).unwrap();
            client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let (mut server, _) = listener.accept().unwrap();
            // The request has arrived, unread: the close below is a reset.
            std::thread::sleep(Duration::from_millis(50));
            server.write_all(written).unwrap();
            drop(server);
            client.read_response(false).unwrap_err().kind()
        };
        assert_eq!(
            reset_after(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"),
            io::ErrorKind::InvalidData
        );
        assert_eq!(reset_after(b"HTTP/1.1 20"), io::ErrorKind::InvalidData);
        assert_eq!(reset_after(b""), io::ErrorKind::ConnectionReset);
    }

    #[test]
    fn responses_are_parsed_whole_or_not_at_all() {
        let bytes = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nserver: x\r\n\r\nhelloHTTP/1.1";
        let Ok(Parsed::Complete(response, len)) = parse_response(bytes, false) else {
            panic!("not complete");
        };
        assert_eq!(
            (response.status, &response.body[..], len),
            (200, &b"hello"[..], 54)
        );
        assert_eq!(response.header("Server"), Some("x"));
        assert_eq!(
            parse_response(&bytes[..50], false).unwrap(),
            Parsed::Partial {
                head_complete: true
            }
        );
        let Ok(Parsed::Complete(head, 49)) = parse_response(bytes, true) else {
            panic!("a HEAD answer ends with its head");
        };
        assert!(head.body.is_empty());
    }
}
