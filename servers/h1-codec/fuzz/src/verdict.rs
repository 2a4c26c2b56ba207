//! What a parser made of the bytes a client sent on one connection, in one form for h1-codec
//! and for hyper, and the rules by which two such verdicts may differ.

use h1_codec::{Limits, ParseError, Parsed, parse};

/// One request a parser accepted whole, body read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The method token.
    pub method: String,
    /// The body, after chunked decoding.
    pub body: Vec<u8>,
}

/// How the connection ended, after the requests served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The parser waits for more bytes, or the input ended between requests.
    Waiting,
    /// The last request served asked to close the connection (h1-codec only: hyper's close is
    /// not visible from outside, and shows as a request it does not serve).
    Closed,
    /// The parser refused the next request; the reason, as the parser words it.
    Refused(Refusal),
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// h1-codec's error.
    Codec(ParseError),
    /// hyper's error message (its `Display`), or the error of the body it failed to read.
    Hyper(String),
}

/// A connection's bytes as one parser read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The requests served, in order.
    pub served: Vec<Served>,
    /// What came after them.
    pub end: End,
}

/// h1-codec's verdict: [`parse`] over the buffer, one request after the other, as
/// `Session::answer` does, with the contract's limits.
pub fn codec(bytes: &[u8]) -> Verdict {
    let limits = Limits::default();
    let mut served = Vec::new();
    let mut rest = bytes;
    let end = loop {
        match parse(rest, &limits) {
            Ok(Parsed::Complete(req)) => {
                served.push(Served {
                    method: req.method.to_owned(),
                    body: req.body.to_vec(),
                });
                rest = &rest[req.len..];
                if !req.keep_alive {
                    break End::Closed;
                }
            }
            Ok(Parsed::Partial { .. }) => break End::Waiting,
            Err(e) => break End::Refused(Refusal::Codec(e)),
        }
    };
    Verdict { served, end }
}

/// Where h1-codec and the reference read the same bytes two ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disagreement {
    /// Both served the `index`th request, with different methods or bodies: the request ended
    /// at different places, or the body was read two ways. Always a bug.
    FramedDifferently {
        /// Which request.
        index: usize,
    },
    /// One side served the `index`th request, the other waited for more bytes or had closed the
    /// connection: they disagree on where a request ends or on keep-alive. Always a bug.
    ServedVersusWaiting {
        /// Which request.
        index: usize,
    },
    /// h1-codec served a request the reference refused, for a reason that is not on the list of
    /// the reference's own policies ([`HYPER_ONLY_REFUSALS`]).
    AcceptedWhatHyperRefused {
        /// Which request.
        index: usize,
    },
    /// h1-codec refused a request the reference served, for a reason that is not on the list of
    /// h1-codec's policies ([`CODEC_ONLY_REFUSALS`]).
    RefusedWhatHyperServed {
        /// Which request.
        index: usize,
    },
    /// h1-codec closed after a request and hyper refused the bytes behind it: hyper read on
    /// where h1-codec stopped.
    ClosedVersusRefused,
}

/// hyper's refusals that are no framing decision, so h1-codec may serve the request:
/// - `invalid URI`: hyper parses the target as an `http::Uri`, which takes fewer bytes than
///   httparse's token rule. Where the request ends does not depend on its target, and
///   h1-codec's servers answer a path they do not know with 404 (RFC 9112, 3.2: a server SHOULD
///   answer an invalid request-line with 400, not MUST).
/// - `invalid HTTP method parsed`: `http::Method` refuses some tokens httparse takes; the same
///   argument holds.
/// - `invalid HTTP version parsed (found HTTP2 preface)`: hyper words any error in a head this
///   way when the bytes left in its buffer start with the HTTP/2 preface (`on_parse_error` in
///   hyper's `proto/h1/conn.rs`), and for a target it refuses the head has been taken out of the
///   buffer by then: behind a request line with such a target, `PRI * HTTP/2.0` turns an
///   `invalid URI` into this message.
pub const HYPER_ONLY_REFUSALS: &[&str] = &[
    "invalid URI",
    "invalid HTTP method parsed",
    "invalid HTTP version parsed (found HTTP2 preface)",
];

/// h1-codec's refusals that hyper does not make, each a policy the RFC allows:
/// - `missing or repeated Host`: RFC 9112, 3.2, a server MUST answer 400; hyper leaves it to
///   the application.
/// - `unsupported Transfer-Encoding`: h1-codec knows no coding but `chunked` and takes it only
///   alone, where hyper frames any list that ends in `chunked` (`gzip, chunked`, two lines).
///   RFC 9112, 6.1: a server that does not understand a coding answers 501 (SHOULD); refusing
///   and closing leaves nothing behind the request to smuggle.
/// - `Content-Length with Transfer-Encoding`: RFC 9112, 6.3: a server MAY reject such a
///   request, or frame it by chunked and close after it, which hyper does.
/// - `trailer line not ended by CRLF`: a bare LF in the trailer section. RFC 9112, 2.2 lets a
///   recipient take a bare LF as a line end (MAY), and hyper reads it two ways: its chunked
///   decoder collects the trailer section up to a CRLF CRLF, then httparse parses it and stops at
///   the first LF LF, and the bytes between are dropped unseen. h1-codec refuses the section.
/// - `bad Content-Length`, `Content-Length overflows`: an invalid Content-Length is refused
///   wherever it stands (RFC 9110, 8.6: a recipient MUST treat it as an unrecoverable error).
///   hyper does not parse a Content-Length that follows `Transfer-Encoding` and frames the
///   request by chunked, then closes (RFC 9112, 6.3 allows either).
/// - the limits of the contract (413, 431): a server sets its own (RFC 9110, 15.5.14; RFC 6585,
///   5); hyper's are larger.
pub const CODEC_ONLY_REFUSALS: &[&str] = &[
    "missing or repeated Host",
    "unsupported Transfer-Encoding",
    "Content-Length with Transfer-Encoding",
    "trailer line not ended by CRLF",
    "bad Content-Length",
    "Content-Length overflows",
];

/// Compares h1-codec's verdict with hyper's on the same bytes. Both refusing, for any reasons,
/// is agreement; so is one refusing where the other still waits for bytes (no request is served
/// either way; what each does once the bytes arrive is another input).
pub fn compare(codec: &Verdict, hyper: &Verdict) -> Result<(), Disagreement> {
    let common = codec.served.len().min(hyper.served.len());
    if let Some(index) = (0..common).find(|&i| codec.served[i] != hyper.served[i]) {
        return Err(Disagreement::FramedDifferently { index });
    }
    let index = common;
    if codec.served.len() > common {
        return match &hyper.end {
            End::Refused(Refusal::Hyper(why)) if HYPER_ONLY_REFUSALS.contains(&why.as_str()) => {
                Ok(())
            }
            End::Refused(_) => Err(Disagreement::AcceptedWhatHyperRefused { index }),
            End::Waiting | End::Closed => Err(Disagreement::ServedVersusWaiting { index }),
        };
    }
    if hyper.served.len() > common {
        return match &codec.end {
            End::Refused(Refusal::Codec(ParseError::HeadTooLarge | ParseError::BodyTooLarge)) => {
                Ok(())
            }
            End::Refused(Refusal::Codec(ParseError::Malformed(why)))
                if CODEC_ONLY_REFUSALS.contains(why) =>
            {
                Ok(())
            }
            End::Refused(_) => Err(Disagreement::RefusedWhatHyperServed { index }),
            End::Waiting | End::Closed => Err(Disagreement::ServedVersusWaiting { index }),
        };
    }
    match (&codec.end, &hyper.end) {
        (End::Closed, End::Refused(_)) => Err(Disagreement::ClosedVersusRefused),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyper_reference::hyper;

    /// The keep-alive disagreement the comparison found (h1-codec's `fuzz_regressions`).
    #[test]
    fn close_ends_an_http10_connection_for_both() {
        let bytes =
            b"GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n";
        assert_eq!(compare(&codec(bytes), &hyper(bytes)), Ok(()));
    }

    /// A chunk size with 17 leading zeros, which h1-codec refused (httparse counts them against
    /// its 16 digits) and hyper served: both serve both requests now.
    #[test]
    fn leading_zeros_of_a_chunk_size_are_read_by_both() {
        let bytes = include_bytes!("../regressions/framing-leading-zeros-in-chunk-size");
        let ours = codec(bytes);
        assert_eq!(ours.served.len(), 2, "{ours:?}");
        assert_eq!(compare(&ours, &hyper(bytes)), Ok(()));
    }

    /// `Connection: …close…` with a byte over 0x7e: hyper ignores the value and h1-codec closed
    /// the connection; both keep it alive now.
    #[test]
    fn a_connection_value_with_obs_text_is_ignored_by_both() {
        let bytes = include_bytes!("../regressions/framing-connection-close-with-obs-text");
        assert_eq!(compare(&codec(bytes), &hyper(bytes)), Ok(()));
    }

    /// Inputs on which the target stopped, each a policy now listed with its reason.
    #[test]
    fn the_policies_found_by_the_fuzzer_are_allowed() {
        for bytes in [
            &include_bytes!("../regressions/framing-bare-lf-in-trailers-hyper-drops")[..],
            include_bytes!("../regressions/framing-uri-refused-as-h2-preface"),
            include_bytes!("../regressions/framing-bad-content-length-after-chunked"),
        ] {
            let (ours, theirs) = (codec(bytes), hyper(bytes));
            assert_ne!(ours, theirs, "no longer a difference: drop the policy?");
            assert_eq!(compare(&ours, &theirs), Ok(()));
        }
    }

    #[test]
    fn a_body_read_two_ways_is_a_bug() {
        let served = |body: &[u8]| Served {
            method: "POST".to_owned(),
            body: body.to_vec(),
        };
        let ours = Verdict {
            served: vec![served(b"ab")],
            end: End::Waiting,
        };
        let theirs = Verdict {
            served: vec![served(b"abc")],
            end: End::Waiting,
        };
        assert_eq!(
            compare(&ours, &theirs),
            Err(Disagreement::FramedDifferently { index: 0 })
        );
    }
}
