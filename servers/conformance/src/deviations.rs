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
    /// A request with a chunked body is answered with `Connection: close`, and the connection
    /// closes: the stack hides whether a `Content-Length` came with the chunks, after which RFC
    /// 9112, 6.3 demands the close.
    ClosesAfterChunkedBody,
    /// A request whose method the stack does not know gets another answer than the 405 of a
    /// method the route does not allow: the stack refuses it before any route, catcher or fairing
    /// of the server's code can answer.
    UnknownMethodAnswer(UnknownMethodAnswer),
    /// After SIGINT or SIGTERM the stack goes on accepting and serving new connections until
    /// the process exits, instead of refusing them while the requests in flight finish.
    AcceptsWhileDraining,
}

/// Exactly how a stack answers a method it does not know, on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownMethodAnswer {
    /// The method sent (QUERY, which schemathesis sends too).
    pub method: &'static str,
    /// The status answered instead of 405.
    pub status: u16,
    /// Every part of the answer that differs from the 405's, as [`contract::Pin::Answers`] names
    /// them and in that order.
    pub differs: &'static [&'static str],
}

/// net/http drops `Content-Length` from a request that also says `Transfer-Encoding: chunked`
/// before any Handler runs (transfer.go, `fixLength`), so the servers on it cannot tell such a
/// request from a plainly chunked one; RFC 9112, 6.3 says to close after answering it, so they
/// close after every chunked request (Go's fix, golang/go#80942, is in no release yet).
const NET_HTTP: [Deviation; 1] = [Deviation::ClosesAfterChunkedBody];

/// The connection-level deviations of the server called `server` (empty for most).
pub fn deviations(server: &str) -> &'static [Deviation] {
    match server {
        "rocket" => &[
            Deviation::NoHeaderTimeout,
            // Rocket's Method enum has no QUERY: turning hyper's request into Rocket's fails, and
            // Rocket answers its 400 catcher with a GET put in place of the method, without the
            // response fairings or the Server header that a dispatched request gets (rocket
            // 0.5.2, server.rs, `hyper_service_fn`): nothing of the server's code sees the method.
            Deviation::UnknownMethodAnswer(UnknownMethodAnswer {
                method: "QUERY",
                status: 400,
                differs: &["status", "content-length", "server", "body", "allow"],
            }),
        ],
        "may-minihttp" => &[
            Deviation::ServerHeader("M"),
            Deviation::NoHeaderTimeout,
            Deviation::IgnoresExpectContinue,
            Deviation::AcceptsWhileDraining,
        ],
        "go-nethttp" | "go-handler" | "go-echo" | "go-gin" => &NET_HTTP,
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

/// How `server`'s stack answers a request whose method it does not know, if that is a known
/// deviation.
pub fn unknown_method_answer(server: &str) -> Option<UnknownMethodAnswer> {
    deviations(server).iter().find_map(|d| match d {
        Deviation::UnknownMethodAnswer(answer) => Some(*answer),
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
        ] {
            assert!(contract::server(name).is_some(), "{name}");
            assert!(!deviations(name).is_empty(), "{name}");
        }
        assert_eq!(server_header("axum"), "axum");
        assert_eq!(server_header("may-minihttp"), "M");
        // go-nethttp keeps an unclean path from the default mux's 307 (issue 29): the 4xx
        // every server owes it.
        assert_eq!(hostile_answer("go-nethttp", "path traversal"), None);
    }
}
