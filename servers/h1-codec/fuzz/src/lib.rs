//! What the fuzz targets of h1-codec share: the properties every parse must keep, a reference
//! chunked decoder written from RFC 9112 alone, and hyper's server as the reference of the
//! differential target.
//!
//! # Layout
//! - [`properties`]: what holds for every input, whatever h1-codec answers;
//! - [`reference_chunked`]: the chunked grammar of RFC 9112, 7.1, decoded strictly;
//! - [`verdict`]: a connection's bytes as one parser read them, and which differences between
//!   two readings are bugs;
//! - [`hyper_reference`]: hyper's verdict, its HTTP/1.1 server driven in memory.
//!
//! The targets live in `fuzz_targets/`; `run.sh` runs them (README "Fuzzing").

pub mod hyper_reference;
pub mod properties;
pub mod reference_chunked;
pub mod verdict;
