//! `loadgen verify`: every row of the route contract against a running server, over raw TCP, with
//! the same checks as the conformance tests (`conformance::check`).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use conformance::check;
use harness::{RawClient, request_bytes};
use thiserror::Error;

use crate::target::{Target, TargetError};

/// A server that cannot be verified at all.
#[derive(Debug, Error)]
pub enum VerifyError {
    /// The URL is not a plain http base URL.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// Only plain http can be checked byte for byte.
    #[error("verify checks plain http:// servers, not {0}")]
    NotHttp(String),
    /// No connection.
    #[error("cannot connect to {addr}: {reason}")]
    Unreachable {
        /// Where.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The server name the answers were checked for.
    pub server: String,
    /// Cases checked.
    pub cases: usize,
    /// Every mismatch, one line each; empty when the server conforms.
    pub mismatches: Vec<String>,
    /// The rows where the server deviated as `contract::DEVIATIONS` documents (with the same
    /// status), one line each: not mismatches.
    pub known_deviations: Vec<String>,
}

/// Checks the server at `url` against every case of the contract. The `Server` header must say
/// `server`, or else the same as the first answer's.
pub fn verify(url: &str, server: Option<&str>, timeout: Duration) -> Result<Verdict, VerifyError> {
    let target = Target::new(url, "GET", &[], Bytes::new())?;
    if !target.is_plain_http() {
        return Err(VerifyError::NotHttp(url.to_owned()));
    }
    let addr = target.socket_addr()?;
    let unreachable = |e: std::io::Error| VerifyError::Unreachable {
        addr,
        reason: e.to_string(),
    };
    let mut server = server.map(str::to_owned);
    let mut mismatches = Vec::new();
    let mut known_deviations = Vec::new();
    let cases = contract::cases();
    for case in &cases {
        // A fresh connection per case: a refused body may end one, and the cases stay independent.
        let mut client = RawClient::connect(addr, timeout).map_err(unreachable)?;
        let answer = client
            .send(&request_bytes(case, &[]))
            .and_then(|()| client.read_response(case.method == "HEAD"));
        match answer {
            Ok(response) => {
                let expected = server.get_or_insert_with(|| {
                    response.header("server").unwrap_or_default().to_owned()
                });
                let case_mismatches = check(case, expected, &response);
                match contract::deviation(expected, case.name) {
                    Some(d) if !case_mismatches.is_empty() && response.status == d.status() => {
                        known_deviations.push(format!("{}: {}", case.name, d.instead));
                    }
                    _ => mismatches.extend(case_mismatches),
                }
            }
            Err(err) => match server
                .as_deref()
                .and_then(|s| contract::deviation(s, case.name))
            {
                // A stack that cannot answer the row at all closes the connection.
                Some(d) if d.pin == contract::Pin::Closes => {
                    known_deviations.push(format!("{}: {}", case.name, d.instead));
                }
                _ => mismatches.push(format!("{}: no answer: {err}", case.name)),
            },
        }
    }
    Ok(Verdict {
        server: server.unwrap_or_default(),
        cases: cases.len(),
        mismatches,
        known_deviations,
    })
}
