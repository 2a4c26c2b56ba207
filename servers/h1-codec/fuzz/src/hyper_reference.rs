//! hyper's HTTP/1.1 server (`hyper::server::conn::http1`, hyper 1.x) as the reference parser:
//! it serves the bytes over an in-memory connection, and a service records every request it
//! gets, body read to the end. No runtime: every read is ready, so the connection future is
//! polled until it finishes, with a waker that tells whether anything is still moving.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

use crate::verdict::{End, Refusal, Served, Verdict};

/// hyper's verdict on `bytes`, sent by a client that then half-closes the connection.
pub fn hyper(bytes: &[u8]) -> Verdict {
    let served = Rc::new(RefCell::new(Vec::new()));
    let body_error = Rc::new(RefCell::new(None));
    let service = {
        let served = Rc::clone(&served);
        let body_error = Rc::clone(&body_error);
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let served = Rc::clone(&served);
            let body_error = Rc::clone(&body_error);
            async move {
                let method = req.method().as_str().to_owned();
                match req.into_body().collect().await {
                    Ok(body) => served.borrow_mut().push(Served {
                        method,
                        body: body.to_bytes().to_vec(),
                    }),
                    Err(e) => *body_error.borrow_mut() = Some(e),
                }
                // Not 2xx: a 2xx to CONNECT would hand the connection over (an upgrade), which
                // is no framing decision.
                let mut res = Response::new(Empty::<Bytes>::new());
                *res.status_mut() = StatusCode::NOT_FOUND;
                Ok::<_, Infallible>(res)
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        // No timer in memory: without one, a timeout would panic.
        .header_read_timeout(None)
        // The client sends everything, then ends its side (end of stream). Without half-close,
        // hyper drops a request still being served when it reads the end of stream.
        .half_close(true)
        .serve_connection(
            Wire {
                input: bytes,
                pos: 0,
            },
            service,
        );
    let outcome = drive(connection);
    let served = served.take();
    let body_error = body_error.take();
    let end = match (outcome, body_error) {
        // The body ended before its length: the client would still be sending it.
        (_, Some(e)) if is_eof(&e) => End::Waiting,
        (_, Some(e)) => End::Refused(Refusal::Hyper(io_reason(&e))),
        (Some(Ok(())), None) => End::Waiting,
        (Some(Err(e)), None) if e.is_incomplete_message() => End::Waiting,
        (Some(Err(e)), None) => End::Refused(Refusal::Hyper(e.to_string())),
        (None, None) => End::Refused(Refusal::Hyper("stalled".to_owned())),
    };
    Verdict { served, end }
}

/// The reason of a body error: the I/O error inside it (the chunked decoder's words), or the
/// error itself.
fn io_reason(e: &hyper::Error) -> String {
    std::error::Error::source(e).map_or_else(|| e.to_string(), ToString::to_string)
}

fn is_eof(e: &hyper::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|source| source.downcast_ref::<io::Error>())
        .is_some_and(|io| io.kind() == io::ErrorKind::UnexpectedEof)
}

/// Polls `future` to its end. `None` if it stops moving: pending without having woken itself,
/// which in memory means it waits for something that will never come.
fn drive<F: Future>(future: F) -> Option<F::Output> {
    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return Some(output),
            Poll::Pending if flag.0.swap(false, Ordering::Relaxed) => {}
            Poll::Pending => return None,
        }
    }
}

/// The client's side of the connection: `input`, then end of stream; what the server writes
/// goes nowhere.
struct Wire<'a> {
    input: &'a [u8],
    pos: usize,
}

impl hyper::rt::Read for Wire<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let n = buf.remaining().min(self.input.len() - self.pos);
        let start = self.pos;
        buf.put_slice(&self.input[start..start + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for Wire<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_pipelined_requests_and_reads_their_bodies() {
        let bytes = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiPOST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /c HTTP/1.1\r\nHo";
        let verdict = hyper(bytes);
        let bodies: Vec<&[u8]> = verdict.served.iter().map(|s| &s.body[..]).collect();
        assert_eq!(bodies, [&b"hi"[..], b"abc"]);
        assert_eq!(verdict.end, End::Waiting);
    }

    #[test]
    fn refuses_what_hyper_refuses_and_stops_after_a_close() {
        let bad = hyper(b"POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\nhi");
        assert_eq!(
            bad.end,
            End::Refused(Refusal::Hyper("invalid content-length parsed".to_owned()))
        );
        let bad_chunk = hyper(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        assert!(matches!(bad_chunk.end, End::Refused(_)), "{bad_chunk:?}");
        let closed = hyper(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        assert_eq!(closed.served.len(), 1);
    }
}
