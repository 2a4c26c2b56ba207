//! Fuzz target: h1-codec's chunked decoder. The input is the body of a request whose head says
//! `Transfer-Encoding: chunked`; the limits are tight, so that 413, 431 and the bound on what a partial body may buffer
//! are within reach.
//!
//! Besides the properties of `properties::parse_checked`, h1-codec's answer must match the
//! reference decoder (`reference_chunked`, RFC 9112, 7.1):
//! - a body the reference decodes whole is decoded whole, to the same data and the same end,
//!   unless it breaks a limit (then 413 or 431);
//! - a body the reference refuses is never served;
//! - a body the reference still waits for is never served, and refused only for a limit;
//! - a body the reference refuses may still be waited for (the refusal comes later).

#![no_main]

use h1_codec::{ParseError, Parsed};
use h1_codec_fuzz::properties::{TIGHT_CHUNKED, parse_checked};
use h1_codec_fuzz::reference_chunked::{Decoded, decode};
use libfuzzer_sys::fuzz_target;

const HEAD: &[u8] = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

fuzz_target!(|body: &[u8]| {
    let mut request = HEAD.to_vec();
    request.extend_from_slice(body);
    let ours = parse_checked(&request, &TIGHT_CHUNKED);
    let limit = |e: &ParseError| matches!(e, ParseError::BodyTooLarge | ParseError::HeadTooLarge);
    match (decode(body), ours) {
        (Decoded::Complete { body: data, len }, Ok(Parsed::Complete(req))) => {
            assert_eq!(&*req.body, &data[..], "decoded to other data");
            assert_eq!(req.len, HEAD.len() + len, "the body ends elsewhere");
        }
        (Decoded::Complete { .. } | Decoded::Incomplete, Err(e)) => {
            assert!(limit(&e), "refused a valid chunked body: {e:?}");
        }
        (Decoded::Invalid(_), Err(_)) => {}
        (Decoded::Invalid(why), Ok(Parsed::Complete(req))) => {
            panic!(
                "served a body the reference refuses ({why}): {:?}",
                req.body
            )
        }
        (Decoded::Incomplete, Ok(Parsed::Complete(req))) => {
            panic!("served a body that has not ended: {:?}", req.body)
        }
        (Decoded::Complete { .. }, Ok(Parsed::Partial { .. })) => {
            panic!("waits for more of a body that has ended")
        }
        // Waiting on bytes the reference already refuses is no harm: nothing is served, the
        // partial bound holds, and the refusal comes with the rest of the line.
        (Decoded::Incomplete | Decoded::Invalid(_), Ok(Parsed::Partial { .. })) => {}
    }
});
