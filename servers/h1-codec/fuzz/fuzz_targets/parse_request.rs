//! Fuzz target: `h1_codec::parse`, the request-head parser, on any bytes.
//!
//! Under the contract's limits and under tight ones, every answer keeps the properties of
//! `properties::parse_checked` (no panic; a complete request takes no more than the input, is
//! the same without what follows it, and is partial at every strict prefix; a partial request
//! stays within the limits' bound). Beyond them:
//! - tightening the limits never makes a refused request complete, nor a complete one
//!   different;
//! - `Session::answer` consumes exactly the requests that `parse` finds one after the other.

#![no_main]

use h1_codec::{Limits, Parsed};
use h1_codec_fuzz::properties::{TIGHT, parse_checked, session_agrees_with_parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let loose = parse_checked(data, &limits);
    let tight = parse_checked(data, &TIGHT);
    if let Ok(Parsed::Complete(req)) = &tight {
        assert_eq!(
            loose.as_ref().ok(),
            Some(&Parsed::Complete(req.clone())),
            "complete under tight limits, but not the same under the contract's"
        );
    }
    session_agrees_with_parse(data, &limits);
    session_agrees_with_parse(data, &TIGHT);
});
