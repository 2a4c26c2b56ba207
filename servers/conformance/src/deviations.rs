//! Known deviations from the connection-level rules of the contract: those that no row of
//! `contract::cases()` expresses (the per-row ones are `contract::DEVIATIONS`). Each is
//! documented in that server's README and pinned by the tests: where a deviation applies, the
//! tests demand that the server still deviates, so that the day its stack fixes it, a test fails
//! and says to drop the entry.

/// One way a server knowingly departs from a connection-level rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deviation {
    /// The stack writes this `Server` header itself and a service cannot change it.
    ServerHeader(&'static str),
    /// `Connection: close` and HTTP/1.0 requests do not end the connection.
    KeepsConnectionsOpen,
    /// No header read timeout: a client that never finishes its request head keeps its
    /// connection for as long as it likes.
    NoHeaderTimeout,
    /// `Expect: 100-continue` gets no `100 Continue`: the client waits its own timeout (curl:
    /// one second) before it sends the body.
    IgnoresExpectContinue,
    /// A long pipelined burst is answered in part, then nothing: the rest of the answers wait
    /// unwritten until the client sends again.
    StallsLongPipelines,
}

/// The connection-level deviations of the server called `server` (empty for most).
pub fn deviations(server: &str) -> &'static [Deviation] {
    match server {
        "rocket" => &[Deviation::NoHeaderTimeout],
        "ntex" => &[Deviation::StallsLongPipelines],
        "may-minihttp" => &[
            Deviation::ServerHeader("M"),
            Deviation::KeepsConnectionsOpen,
            Deviation::NoHeaderTimeout,
            Deviation::IgnoresExpectContinue,
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
