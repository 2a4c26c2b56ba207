//! The properties every call of `h1_codec::parse` keeps, asserted (a failed one is a crash to
//! libFuzzer, and its input is saved).

use h1_codec::{Limits, ParseError, Parsed, Session, parse};

/// Limits small enough that short inputs reach them: 431 and 413 are then as easy to find as a
/// request. The head of a request here fits in a hundred bytes.
pub const TIGHT: Limits = Limits {
    max_head_bytes: 128,
    max_headers: 4,
    max_body_bytes: 64,
};

/// Tighter still, for a chunked body alone (its head takes 58 bytes): the bound on a partial
/// body, [`partial_bound`], is then under 500 bytes, within the lengths libFuzzer tries early.
pub const TIGHT_CHUNKED: Limits = Limits {
    max_head_bytes: 64,
    max_headers: 4,
    max_body_bytes: 16,
};

/// Hex digits plus the two CRLFs around a chunk's data: the fixed cost of one chunk.
const CHUNK_FRAMING: usize = 16 + 2 + 2;

/// The most bytes a request that is not yet whole may hold before h1-codec refuses it: the head,
/// the body's data, the chunk lines (a chunk other than the last carries at least one byte of
/// data, so there are at most `max_body_bytes` of them, and a last one), and the chunk
/// extensions and trailers together, which count against the head's limit.
///
/// A server buffers a partial request until it is whole; beyond this bound a client could make
/// it buffer without end.
pub fn partial_bound(limits: &Limits) -> usize {
    2 * limits.max_head_bytes + limits.max_body_bytes * (1 + CHUNK_FRAMING) + CHUNK_FRAMING
}

/// Parses `data` and asserts what must hold of the answer:
/// - an error maps to 400, 413 or 431;
/// - a partial request holds at most [`partial_bound`] bytes;
/// - a complete request takes no more than the input, its body no more than it, and it is the
///   same request without the bytes that follow it (nothing after a request changes it);
/// - every strict prefix of a complete request is partial: a request is never complete before
///   all of it has arrived.
pub fn parse_checked<'a>(data: &'a [u8], limits: &Limits) -> Result<Parsed<'a>, ParseError> {
    let parsed = parse(data, limits);
    match &parsed {
        Err(e) => assert!(
            matches!(e.status(), 400 | 413 | 431),
            "{e:?} answers {}",
            e.status()
        ),
        Ok(Parsed::Partial { .. }) => assert!(
            data.len() <= partial_bound(limits),
            "a partial request of {} bytes is still buffered (bound {})",
            data.len(),
            partial_bound(limits)
        ),
        Ok(Parsed::Complete(req)) => {
            assert!(
                req.len <= data.len(),
                "took {} of {} bytes",
                req.len,
                data.len()
            );
            assert!(req.body.len() <= req.len, "a body longer than its request");
            assert_eq!(
                parse(&data[..req.len], limits),
                parsed,
                "the bytes after the request changed it"
            );
            for cut in cuts(req.len) {
                let prefix = parse(&data[..cut], limits);
                assert!(
                    matches!(prefix, Ok(Parsed::Partial { .. })),
                    "the first {cut} of the request's {} bytes: {prefix:?}",
                    req.len
                );
            }
        }
    }
    parsed
}

/// Where to cut a request of `len` bytes: everywhere when it is short, else 256 cuts spread
/// over it and the last 16 bytes.
fn cuts(len: usize) -> impl Iterator<Item = usize> {
    let step = (len / 256).max(1);
    (0..len).step_by(step).chain(len.saturating_sub(16)..len)
}

/// Answers `data` as a connection's first read with [`Session`] and asserts that it consumed
/// exactly the requests that [`parse`] finds one after the other, and closes when they say so.
pub fn session_agrees_with_parse(data: &[u8], limits: &Limits) {
    let mut expected = 0;
    let mut close = false;
    let mut requests = 0;
    loop {
        match parse(&data[expected..], limits) {
            Ok(Parsed::Complete(req)) => {
                expected += req.len;
                requests += 1;
                if !req.keep_alive {
                    close = true;
                    break;
                }
            }
            Ok(Parsed::Partial { .. }) => break,
            Err(_) => {
                close = true;
                break;
            }
        }
    }
    let mut session = Session::new("fuzz", *limits);
    let mut out = Vec::new();
    let mut answered = 0;
    let result = session.answer(data, &mut out, false, |req, res| {
        answered += 1;
        res.body.extend_from_slice(req.path.as_bytes());
    });
    assert_eq!(
        (result.consumed, result.close, answered),
        (expected, close, requests),
        "Session::answer against parse one request after the other"
    );
    assert!(
        out.is_empty() || out.starts_with(b"HTTP/1.1 "),
        "an answer that is not HTTP/1.1"
    );
}
