//! Fuzz target: the differential. The same bytes, sent on one connection, are read by h1-codec
//! (`parse`, request after request, as `Session::answer` does) and by the reference, hyper's
//! HTTP/1.1 server (`hyper::server::conn::http1`, hyper 1.x, default settings), driven in memory
//! with a service that reads every body to its end.
//!
//! The two must serve the same requests in the same order, with the same methods and bodies:
//! the same framing (Content-Length, chunked, none) and the same keep-alive. Where one serves a
//! request and the other does not, it is a bug unless the refusal is a policy the RFC allows,
//! each listed with its reason in `verdict::HYPER_ONLY_REFUSALS` and
//! `verdict::CODEC_ONLY_REFUSALS`. Refusing where the other still waits for bytes is no
//! disagreement: neither serves anything.

#![no_main]

use h1_codec_fuzz::hyper_reference::hyper;
use h1_codec_fuzz::verdict::{codec, compare};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ours = codec(data);
    let reference = hyper(data);
    if let Err(disagreement) = compare(&ours, &reference) {
        panic!("{disagreement:?}\nh1-codec: {ours:?}\nhyper:    {reference:?}");
    }
});
