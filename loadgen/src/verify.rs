//! `loadgen verify`: every row of the route contract against a running server, over raw TCP, with
//! the same checks as the conformance tests (`conformance::check`).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use conformance::{RawClient, check, request_bytes};
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
    /// Mismatches that a known deviation of the named server excuses
    /// (`conformance::deviations`), one line each.
    pub deviations: Vec<String>,
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
    let mut deviations = Vec::new();
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
                let found = check(case, expected, &response);
                match conformance::deviations::excuses(expected, case) {
                    Some(deviation) if !found.is_empty() => deviations.extend(
                        found
                            .into_iter()
                            .map(|m| format!("{m} (known deviation: {deviation:?})")),
                    ),
                    _ => mismatches.extend(found),
                }
            }
            Err(err) => mismatches.push(format!("{}: no answer: {err}", case.name)),
        }
    }
    Ok(Verdict {
        server: server.unwrap_or_default(),
        cases: cases.len(),
        mismatches,
        deviations,
    })
}
