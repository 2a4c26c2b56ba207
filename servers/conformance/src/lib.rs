//! Checks real servers against the route contract, over real sockets.
//!
//! The conformance tests of this crate and `loadgen verify` both use it: one definition of what
//! a correct answer is ([`check`]). Starting a server, building it and talking to it raw are the
//! `harness` crate's job; this crate holds the checks and the suites.
//!
//! # Layout
//! - [`check`]: one response against one [`contract::Case`]; [`check_in_process`]: a server's
//!   request -> response code against every case, without a socket; [`check_binary`]: a built
//!   server answers `GET /` and stops on SIGTERM.
//! - [`deviations`]: the connection-level rules a server's stack cannot meet, each pinned by
//!   the tests (the per-row ones are `contract::DEVIATIONS`).
//! - [`framing`]: one case of the request-framing corpus and the request smuggled behind it,
//!   sent on the wire, and what the server made of them.

use std::path::Path;
use std::time::{Duration, SystemTime};

use contract::Case;
use harness::{Parsed, RawClient, RawResponse, ServerProcess, parse_response, request_bytes};

pub mod database;
pub mod deviations;
mod error;
pub mod framing;

pub use error::CheckError;

/// Starts the binary at `binary` (the server `name`) on port 0, checks that it answers `GET /`
/// as the contract says, and that SIGTERM ends it with exit code 0.
pub fn check_binary(name: &str, binary: &Path) -> Result<(), CheckError> {
    let args = ["--addr", "127.0.0.1:0", "--threads", "1"].map(str::to_owned);
    let mut server = ServerProcess::spawn(name, binary, &args, &[], Duration::from_secs(10))?;
    let plaintext = contract::cases()
        .into_iter()
        .find(|c| c.name == "plaintext")
        .expect("the contract has a plaintext row");
    let io = |what: &str| {
        let what = format!("GET {}: {what}", plaintext.path);
        move |source| CheckError::Io { what, source }
    };
    let mut client =
        RawClient::connect(server.addr(), Duration::from_secs(5)).map_err(io("connect"))?;
    client
        .send(&request_bytes(&plaintext, &[]))
        .map_err(io("send"))?;
    let response = client.read_response(false).map_err(io("no answer"))?;
    let mismatches = check(&plaintext, name, &response);
    if !mismatches.is_empty() {
        return Err(CheckError::Mismatches(mismatches));
    }
    match server.stop(contract::SHUTDOWN_GRACE + Duration::from_secs(2)) {
        Ok(Some(status)) if status.success() => Ok(()),
        other => Err(CheckError::Stop(format!("{other:?}"))),
    }
}

/// Checks a server's request -> response code without a socket: `answer` gets the bytes of each
/// row of the contract as one client would send them and returns the bytes it would write back.
/// Returns every mismatch, as [`check`] words them.
pub fn check_in_process(server: &str, mut answer: impl FnMut(&[u8]) -> Vec<u8>) -> Vec<String> {
    let mut mismatches = Vec::new();
    for case in contract::cases() {
        let out = answer(&request_bytes(&case, &[]));
        match parse_response(&out, case.method == "HEAD") {
            Ok(Parsed::Complete(response, _)) => mismatches.extend(check(&case, server, &response)),
            other => mismatches.push(format!(
                "{}: no whole response ({other:?}) in {:?}",
                case.name,
                String::from_utf8_lossy(&out)
            )),
        }
    }
    mismatches
}

/// Every way `response` differs from what `case` demands of the server called `server`; empty
/// when it conforms. Besides status, type and body, it checks `Content-Length`, `Allow` (as a set
/// of methods), the `Server` name (or the one its stack fixes, see [`deviations`]) and a current
/// IMF-fixdate `Date`.
pub fn check(case: &Case, server: &str, response: &RawResponse) -> Vec<String> {
    mismatches(case, server, response)
        .into_iter()
        .map(|(_, message)| message)
        .collect()
}

/// The parts of `response` that differ from what `case` demands (`status`, `content-type`,
/// `content-length`, `server`, `body`, `allow`, `date`), in that order: what a row's
/// [`contract::Pin::Answers`] names.
pub fn differing_parts(case: &Case, server: &str, response: &RawResponse) -> Vec<&'static str> {
    mismatches(case, server, response)
        .into_iter()
        .map(|(part, _)| part)
        .collect()
}

/// Each mismatch, with the name of the part of the answer it is about.
fn mismatches(case: &Case, server: &str, response: &RawResponse) -> Vec<(&'static str, String)> {
    let mut mismatches = Vec::new();
    let mut expect = |what: &'static str, want: String, got: String| {
        if want != got {
            mismatches.push((
                what,
                format!("{}: {what}: want {want:?}, got {got:?}", case.name),
            ));
        }
    };
    expect(
        "status",
        case.status.to_string(),
        response.status.to_string(),
    );
    let header = |name| response.header(name).unwrap_or("<missing>").to_owned();
    expect(
        "content-type",
        case.response_content_type.to_owned(),
        header("content-type"),
    );
    expect(
        "content-length",
        case.content_length.to_string(),
        header("content-length"),
    );
    expect(
        "server",
        deviations::server_header(server).to_owned(),
        header("server"),
    );
    expect(
        "body",
        String::from_utf8_lossy(&case.response_body).into_owned(),
        String::from_utf8_lossy(&response.body).into_owned(),
    );
    if let Some(allow) = case.allow {
        expect("allow", method_set(allow), method_set(&header("allow")));
    }
    match response.header("date").map(httpdate::parse_http_date) {
        Some(Ok(date)) => {
            let skew = SystemTime::now()
                .duration_since(date)
                .unwrap_or_else(|e| e.duration());
            if skew > Duration::from_secs(5) {
                mismatches.push((
                    "date",
                    format!(
                        "{}: date: {:?} is {skew:?} off the clock",
                        case.name,
                        header("date")
                    ),
                ));
            }
        }
        _ => mismatches.push((
            "date",
            format!(
                "{}: date: want an IMF-fixdate, got {:?}",
                case.name,
                header("date")
            ),
        )),
    }
    mismatches
}

/// An `Allow` value as a set: its methods in upper case, sorted, so that two values that list
/// the same methods in another order or spacing compare equal.
pub fn method_set(allow: &str) -> String {
    let mut methods: Vec<String> = allow
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .collect();
    methods.sort();
    methods.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conforming(case: &Case) -> RawResponse {
        RawResponse {
            status: case.status,
            headers: vec![
                ("content-type".into(), case.response_content_type.into()),
                ("content-length".into(), case.content_length.to_string()),
                ("server".into(), "x".into()),
                ("date".into(), httpdate::fmt_http_date(SystemTime::now())),
                ("allow".into(), "HEAD,GET".into()),
            ],
            body: case.response_body.clone(),
        }
    }

    #[test]
    fn a_conforming_response_passes_and_each_deviation_is_reported() {
        let case = contract::cases()
            .into_iter()
            .find(|c| c.name == "DELETE /json")
            .unwrap();
        assert_eq!(check(&case, "x", &conforming(&case)), Vec::<String>::new());

        let mut wrong = conforming(&case);
        wrong.status = 404;
        wrong.body = b"nope".to_vec();
        wrong.headers.retain(|(n, _)| n != "date" && n != "allow");
        let mismatches = check(&case, "y", &wrong);
        for what in ["status", "body", "server", "date", "allow"] {
            assert!(
                mismatches.iter().any(|m| m.contains(&format!(": {what}:"))),
                "{what}: {mismatches:?}"
            );
        }
        assert_eq!(
            differing_parts(&case, "y", &wrong),
            ["status", "server", "body", "allow", "date"]
        );
    }
}
