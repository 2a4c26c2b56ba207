//! The stacks' known deviations from the contract: one row per server and case.

/// A row of the contract, or a case of the framing corpus, that a stack answers its own way
/// before the server's code runs, and that the server cannot change without unidiomatic
/// contortions. The conformance suite pins each one (it fails the day the stack changes);
/// `loadgen verify` reports it apart from the mismatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deviation {
    /// The server.
    pub server: &'static str,
    /// The name of the [`Case`](crate::Case), or of the [`FramingCase`](crate::FramingCase).
    pub case: &'static str,
    /// The status it answers with instead of the whole contract answer; 0 when it cannot answer
    /// at all and closes the connection. For a framing case: the status of its answer to the
    /// request smuggled behind it ([`FOLLOW_UP`](crate::FOLLOW_UP), 500 when served).
    pub status: u16,
    /// What it does instead, and why.
    pub instead: &'static str,
    /// Whether a front proxy that frames requests otherwise could smuggle a request past it: the
    /// README and the report page mark a server with such a deviation as not safe to expose.
    pub security: bool,
}

/// Why actix-web answers the Host rows with a bare 400.
const ACTIX_REFUSES_HOST: &str = "actix-http refuses it while parsing, before the App runs: a bare \
     400 without body, Content-Type or Server";
/// Why may-minihttp's HEAD answers say `Content-Length: 0`.
const MAY_HEAD_LENGTH: &str = "may_minihttp knows nothing of HEAD and counts Content-Length from \
     the body it sends, so the answer says Content-Length: 0";

/// Why the servers on Go's net/http answer the Host rows with net/http's own 400.
const NET_HTTP_REFUSES_HOST: &str = "net/http refuses it while reading the request, before any \
     Handler runs: 400 with its own body (\"400 Bad Request: missing required Host header\"), no \
     Content-Length, Date or Server, and a close";
/// Why echo's and fasthttp/router's 405s list OPTIONS.
const ROUTER_ALLOWS_OPTIONS: &str = "the router writes the Allow header itself and lists OPTIONS \
     too, which it answers for every route";

/// Why echo accepts a chunked body a little over the limit.
const ECHO_BODY_LIMIT: &str = "echo's BodyLimit middleware reports the limit as the error of the \
     read that passes it, along with that read's bytes, and json.Decoder ignores a read error \
     when the value is complete in the same read: a chunked body a little over 64 KiB is \
     accepted (with Content-Length it is refused up front)";
/// Why may-minihttp gives no answer to a chunked body.
const MAY_CHUNKED: &str = "may_minihttp frames bodies by Content-Length only and reads the chunks \
     as the next request: the connection ends before the refusal is sent";

/// Why the net/http servers serve what follows a body framed by both lengths.
const NET_HTTP_TE_WITH_CL: &str = "net/http frames a request with both Transfer-Encoding: chunked \
     and Content-Length by the chunks and drops Content-Length before any Handler sees it, but \
     keeps the connection open (RFC 9112, 6.1: MUST close after answering): a request behind the \
     chunks is served, which a proxy that framed by Content-Length sent as body";
/// Why echo and gin answer bodies whose chunks are badly ended.
const GO_DECODER_STOPS_EARLY: &str = "the JSON decoder (echo's Bind, gin's ShouldBindJSON) stops \
     at the end of the JSON value, so net/http never reads the broken chunk ending: the request \
     is answered 200 before the framing error is seen, then the connection is closed";
/// Why echo answers Transfer-Encoding in HTTP/1.0.
const GO_TE_IN_HTTP10: &str = "net/http reads the chunks of an HTTP/1.0 request (RFC 9112, 6.1: \
     the framing is faulty) and echo answers it before the connection is closed";
/// Why the fasthttp servers serve what follows `Transfer-Encoding: identity`.
const FASTHTTP_IDENTITY: &str = "fasthttp treats any Transfer-Encoding other than chunked as \
     absent (RFC 9112, 6.1: a final coding other than chunked is a 400 and a close): the body is \
     framed by Content-Length, or is empty, and a request behind it is served";

/// Every known deviation.
pub const DEVIATIONS: &[Deviation] = &[
    Deviation {
        server: "actix-web",
        case: "last chunk without the empty line",
        status: 0,
        instead: "actix-http skips every line after the last chunk up to an empty one, field line \
                  or not: a request sent behind it is swallowed as trailers, and a proxy that \
                  frames it as a request of its own waits for an answer that never comes",
        security: true,
    },
    Deviation {
        server: "actix-web",
        case: "HTTP/1.1 without Host",
        status: 400,
        instead: ACTIX_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "actix-web",
        case: "two Host headers",
        status: 400,
        instead: ACTIX_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "may-minihttp",
        case: "HEAD /",
        status: 200,
        instead: MAY_HEAD_LENGTH,
        security: false,
    },
    Deviation {
        server: "may-minihttp",
        case: "HEAD /json",
        status: 200,
        instead: MAY_HEAD_LENGTH,
        security: false,
    },
    Deviation {
        server: "may-minihttp",
        case: "echo chunked",
        status: 0,
        instead: MAY_CHUNKED,
        security: true,
    },
    Deviation {
        server: "may-minihttp",
        case: "echo chunked body over 64 KiB",
        status: 0,
        instead: MAY_CHUNKED,
        security: true,
    },
    Deviation {
        server: "go-nethttp",
        case: "HTTP/1.1 without Host",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-nethttp",
        case: "two Host headers",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-handler",
        case: "HTTP/1.1 without Host",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-handler",
        case: "two Host headers",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "HTTP/1.1 without Host",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "two Host headers",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-gin",
        case: "HTTP/1.1 without Host",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-gin",
        case: "two Host headers",
        status: 400,
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "echo chunked body over 64 KiB",
        status: 200,
        instead: ECHO_BODY_LIMIT,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "POST /",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "DELETE /json",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "PUT /users/1",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "GET /echo",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "POST /",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "DELETE /json",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "PUT /users/1",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "GET /echo",
        status: 405,
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-nethttp",
        case: "Content-Length then Transfer-Encoding",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-nethttp",
        case: "Transfer-Encoding then Content-Length",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-handler",
        case: "Content-Length then Transfer-Encoding",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-handler",
        case: "Transfer-Encoding then Content-Length",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "Content-Length then Transfer-Encoding",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "Transfer-Encoding then Content-Length",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-gin",
        case: "Content-Length then Transfer-Encoding",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-gin",
        case: "Transfer-Encoding then Content-Length",
        status: 0,
        instead: NET_HTTP_TE_WITH_CL,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "chunk data not ended by CRLF",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "chunk data ended by LF alone",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "last chunk without the empty line",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-gin",
        case: "chunk data not ended by CRLF",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-gin",
        case: "chunk data ended by LF alone",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-gin",
        case: "last chunk without the empty line",
        status: 0,
        instead: GO_DECODER_STOPS_EARLY,
        security: true,
    },
    Deviation {
        server: "go-echo",
        case: "Transfer-Encoding in HTTP/1.0",
        status: 0,
        instead: GO_TE_IN_HTTP10,
        security: true,
    },
    Deviation {
        server: "go-fasthttp",
        case: "Transfer-Encoding: identity with Content-Length",
        status: 0,
        instead: FASTHTTP_IDENTITY,
        security: true,
    },
    Deviation {
        server: "go-fasthttp",
        case: "Transfer-Encoding: identity alone",
        status: 0,
        instead: FASTHTTP_IDENTITY,
        security: true,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "Transfer-Encoding: identity with Content-Length",
        status: 0,
        instead: FASTHTTP_IDENTITY,
        security: true,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "Transfer-Encoding: identity alone",
        status: 0,
        instead: FASTHTTP_IDENTITY,
        security: true,
    },
];

/// The deviations of `server` that a front proxy could exploit ([`Deviation::security`]): a
/// server with any is not safe to expose behind a proxy that frames requests otherwise.
pub fn security_deviations(server: &str) -> impl Iterator<Item = &'static Deviation> {
    DEVIATIONS
        .iter()
        .filter(move |d| d.server == server && d.security)
}

/// The known deviation of `server` on the case called `case`, if there is one.
pub fn deviation(server: &str, case: &str) -> Option<&'static Deviation> {
    DEVIATIONS
        .iter()
        .find(|d| d.server == server && d.case == case)
}
