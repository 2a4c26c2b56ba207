//! Writes the seed corpus of h1-codec's fuzz targets (`servers/h1-codec/fuzz/`), one file per
//! request, from the cases the servers are already tested with: the contract's requests
//! (`contract::cases`), the request-framing corpus (`contract::framing_cases`, each followed by
//! its smuggled request) and the hostile requests of the hardening suite.
//!
//! Run it after changing any of them, from the repository root:
//!
//! ```text
//! cargo run -p h1-codec --example fuzz_seeds -- servers/h1-codec/fuzz/seeds
//! ```
//!
//! The request targets (`parse_request`, `framing_vs_hyper`) get whole requests; `chunked` gets
//! the body of every chunked one. Requests over 4 KiB (libFuzzer's default input size) are left
//! out: the corpus stays a few KiB, and the tight limits of the targets reach 413 and 431 anyway.

use std::path::{Path, PathBuf};
use std::{fs, io};

const MAX_SEED_BYTES: usize = 4096;

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz_seeds DIR (servers/h1-codec/fuzz/seeds)");
        std::process::exit(2);
    };
    if let Err(e) = write_seeds(&dir) {
        eprintln!("cannot write the seeds under {}: {e}", dir.display());
        std::process::exit(1);
    }
}

fn write_seeds(dir: &Path) -> io::Result<()> {
    let mut requests: Vec<(String, Vec<u8>)> = Vec::new();
    for case in contract::cases() {
        requests.push((
            format!("contract {}", case.name),
            harness::request_bytes(&case, &[]),
        ));
    }
    for case in contract::framing_cases() {
        requests.push((format!("framing {}", case.name), case.bytes()));
    }
    for (name, bytes) in hostile_requests() {
        requests.push((format!("hostile {name}"), bytes));
    }
    requests.retain(|(_, bytes)| bytes.len() <= MAX_SEED_BYTES);

    let mut written = 0;
    for target in ["parse_request", "framing_vs_hyper", "chunked"] {
        let target_dir = dir.join(target);
        // Start afresh, so that a case that is gone leaves no seed behind.
        if target_dir.exists() {
            fs::remove_dir_all(&target_dir)?;
        }
        fs::create_dir_all(&target_dir)?;
        for (name, bytes) in &requests {
            let seed = if target == "chunked" {
                match chunked_body(bytes) {
                    Some(body) => body,
                    None => continue,
                }
            } else {
                bytes.as_slice()
            };
            fs::write(target_dir.join(file_name(name)), seed)?;
            written += 1;
        }
    }
    println!("{written} seeds written under {}", dir.display());
    Ok(())
}

/// The bytes after the head of a request that says `Transfer-Encoding: chunked`.
fn chunked_body(request: &[u8]) -> Option<&[u8]> {
    let end = request.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
    head.contains("transfer-encoding: chunked")
        .then(|| &request[end..])
}

/// A file name from a case name: lowercase letters, digits and dashes.
fn file_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// The hostile requests of `servers/conformance/tests/hostile.rs` that stop at the parser (the
/// oversized ones are left out, see the module doc). That list lives in a test file, which an
/// example cannot import: keep the two alike.
fn hostile_requests() -> Vec<(&'static str, Vec<u8>)> {
    let post = |headers: &str, body: &str| {
        format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}\r\n{body}"
        )
        .into_bytes()
    };
    vec![
        ("garbage bytes", b"\x00\x01\x02\xffgarbage\r\n\r\n".to_vec()),
        (
            "TLS hello on the HTTP port",
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n".to_vec(),
        ),
        (
            "request line without target",
            b"GET\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "request line without version",
            b"GET /\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "HTTP/2.0 in an HTTP/1 request line",
            b"GET / HTTP/2.0\r\nHost: x\r\n\r\n".to_vec(),
        ),
        ("HTTP/3.1", b"GET / HTTP/3.1\r\nHost: x\r\n\r\n".to_vec()),
        (
            "control character in a header name",
            b"GET / HTTP/1.1\r\nHo\x01st: x\r\n\r\n".to_vec(),
        ),
        (
            "control character in a header value",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n".to_vec(),
        ),
        (
            "header line without a colon",
            b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n".to_vec(),
        ),
        (
            "negative Content-Length",
            post("Content-Length: -1\r\n", "{}"),
        ),
        (
            "overflowing Content-Length",
            post("Content-Length: 99999999999999999999999\r\n", "{}"),
        ),
        (
            "two different Content-Lengths",
            post("Content-Length: 2\r\nContent-Length: 3\r\n", "{}x"),
        ),
        (
            "Content-Length with Transfer-Encoding",
            post(
                "Content-Length: 16\r\nTransfer-Encoding: chunked\r\n",
                "10\r\n{\"message\":\"a\"}\r\n0\r\n\r\n",
            ),
        ),
        (
            "bad chunk size",
            post("Transfer-Encoding: chunked\r\n", "zz\r\n{}\r\n0\r\n\r\n"),
        ),
        (
            "chunk longer than its size",
            post(
                "Transfer-Encoding: chunked\r\n",
                "2\r\n{\"message\":\"a\"}\r\n0\r\n\r\n",
            ),
        ),
        (
            "truncated body",
            post("Content-Length: 100\r\n", "{\"message\":"),
        ),
        (
            "invalid UTF-8 in the path",
            b"GET /users/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "invalid percent-encoding",
            b"GET /users/%zz%ff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
    ]
}
