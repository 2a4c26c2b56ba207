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
    /// The hostile request of the hardening suite named `request` gets `status`, not a 4xx or a
    /// close: the stack answers it its own way before the server's code runs, or lets it through.
    HostileAnswer {
        /// The name of the request in the hardening suite.
        request: &'static str,
        /// What the stack answers.
        status: u16,
    },
    /// `Expect: 100-continue` gets no `100 Continue`: the client waits its own timeout (curl:
    /// one second) before it sends the body.
    IgnoresExpectContinue,
    /// A long pipelined burst is answered in part, then nothing: the rest of the answers wait
    /// unwritten until the client sends again.
    StallsLongPipelines,
}

/// net/http answers a request line with another HTTP version `505 HTTP Version Not Supported`
/// (RFC 9110's status for it, but a 5xx), and has no cap on the number of header lines, only on
/// their bytes (`MaxHeaderBytes`, 32 KiB here): 500 short headers are served.
const NET_HTTP: [Deviation; 3] = [
    Deviation::HostileAnswer {
        request: "HTTP/2.0 in an HTTP/1 request line",
        status: 505,
    },
    Deviation::HostileAnswer {
        request: "HTTP/3.1",
        status: 505,
    },
    Deviation::HostileAnswer {
        request: "500 headers",
        status: 200,
    },
];

/// net/http frames a body with both Content-Length and Transfer-Encoding by the chunks (RFC 9112
/// allows it, and net/http closes the connection after), and the JSON decoders of gin
/// (`ShouldBindJSON`) and echo (`Bind`) stop at the end of the JSON value: the hostile body's
/// only chunk is one byte longer than its value, so the broken chunk end is never read.
const DECODER_STOPS_AT_THE_VALUE: Deviation = Deviation::HostileAnswer {
    request: "Content-Length with Transfer-Encoding",
    status: 200,
};

/// fasthttp reads any `HTTP/x.y` in a request line as HTTP/1.1 and serves it.
const FASTHTTP: [Deviation; 2] = [
    Deviation::HostileAnswer {
        request: "HTTP/2.0 in an HTTP/1 request line",
        status: 200,
    },
    Deviation::HostileAnswer {
        request: "HTTP/3.1",
        status: 200,
    },
];

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
        "go-nethttp" => &[
            NET_HTTP[0],
            NET_HTTP[1],
            NET_HTTP[2],
            // The default ServeMux redirects a path that is not clean to the cleaned one.
            Deviation::HostileAnswer {
                request: "path traversal",
                status: 307,
            },
        ],
        "go-handler" => &NET_HTTP,
        "go-echo" | "go-gin" => &[
            NET_HTTP[0],
            NET_HTTP[1],
            NET_HTTP[2],
            DECODER_STOPS_AT_THE_VALUE,
        ],
        "go-fasthttp" | "go-fasthttprouter" => &FASTHTTP,
        _ => &[],
    }
}

/// Whether `server` has the deviation `deviation`.
pub fn has(server: &str, deviation: Deviation) -> bool {
    deviations(server).contains(&deviation)
}

/// The status `server`'s stack answers the hostile request `request` with, instead of a 4xx or
/// a close, if that is a known deviation.
pub fn hostile_answer(server: &str, request: &str) -> Option<u16> {
    deviations(server).iter().find_map(|d| match d {
        Deviation::HostileAnswer { request: r, status } if *r == request => Some(*status),
        _ => None,
    })
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
        for name in [
            "rocket",
            "may-minihttp",
            "go-nethttp",
            "go-handler",
            "go-echo",
            "go-gin",
            "go-fasthttp",
            "go-fasthttprouter",
        ] {
            assert!(contract::server(name).is_some(), "{name}");
            assert!(!deviations(name).is_empty(), "{name}");
        }
        assert_eq!(server_header("axum"), "axum");
        assert_eq!(server_header("may-minihttp"), "M");
        assert_eq!(hostile_answer("go-nethttp", "path traversal"), Some(307));
        assert_eq!(hostile_answer("go-handler", "path traversal"), None);
    }
}
