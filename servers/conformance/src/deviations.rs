//! Known deviations: the rules of the contract that a server's stack gives no idiomatic way to
//! meet. Each is documented in that server's README and pinned by the tests: where a deviation
//! applies, the tests demand that the server still deviates, so that the day its stack fixes
//! it, a test fails and says to drop the entry.

use contract::Case;

/// One way a server knowingly departs from the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deviation {
    /// The stack writes this `Server` header itself and a service cannot change it.
    ServerHeader(&'static str),
    /// HEAD answers carry `Content-Length: 0` instead of the length of the GET body.
    HeadLengthZero,
    /// `Connection: close` and HTTP/1.0 requests do not end the connection.
    KeepsConnectionsOpen,
    /// No header read timeout: a client that never finishes its request head keeps its
    /// connection (and its stack) for as long as it likes.
    NoHeaderTimeout,
}

/// The known deviations of the server called `server` (empty for a server that meets the whole
/// contract).
pub fn deviations(server: &str) -> &'static [Deviation] {
    match server {
        "rocket" => &[Deviation::NoHeaderTimeout],
        "may-minihttp" => &[
            Deviation::ServerHeader("M"),
            Deviation::HeadLengthZero,
            Deviation::KeepsConnectionsOpen,
            Deviation::NoHeaderTimeout,
        ],
        _ => &[],
    }
}

/// Whether `server` has the deviation `deviation`.
pub fn has(server: &str, deviation: Deviation) -> bool {
    deviations(server).contains(&deviation)
}

/// The `Server` header `server` answers with: its name, unless its stack fixes another.
pub fn server_header(server: &str) -> &str {
    deviations(server)
        .iter()
        .find_map(|d| match d {
            Deviation::ServerHeader(value) => Some(*value),
            _ => None,
        })
        .unwrap_or(server)
}

/// The deviation of `server` that excuses its answer to `case`, if any: that answer must then
/// differ from the contract's.
pub fn excuses(server: &str, case: &Case) -> Option<Deviation> {
    deviations(server).iter().copied().find(|d| match d {
        Deviation::HeadLengthZero => case.method == "HEAD",
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_deviation_belongs_to_a_server_of_the_table() {
        for name in ["rocket", "may-minihttp"] {
            assert!(contract::server(name).is_some(), "{name}");
            assert!(!deviations(name).is_empty(), "{name}");
        }
        assert_eq!(server_header("axum"), "axum");
        assert_eq!(server_header("may-minihttp"), "M");
    }
}
