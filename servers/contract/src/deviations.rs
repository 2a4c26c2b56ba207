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
    /// Exactly what it does instead: the conformance suite demands this and nothing else, so a
    /// regression fails, and so does a fix, until the row goes.
    pub pin: Pin,
    /// What it does instead, and why.
    pub instead: &'static str,
    /// Whether a front proxy that frames requests otherwise could smuggle a request past it: the
    /// README and the report page mark a server with such a deviation as not safe to expose.
    pub security: bool,
}

/// Exactly what a server does with a row of the contract or a case of the framing corpus, where
/// it deviates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// A row answered with `status`, where exactly the parts named in `differs` differ from the
    /// contract's answer (the names `conformance::check` and the Go `contracttest.Check` give:
    /// `status`, `content-type`, `content-length`, `server`, `body`, `allow`, `date`).
    Answers {
        /// The status answered.
        status: u16,
        /// Every part that differs, in the order the checks name them.
        differs: &'static [&'static str],
    },
    /// A row the stack cannot answer: it closes the connection (end of stream or a reset) with
    /// no answer, at once rather than after the client's timeout.
    Closes,
    /// A row answered as the contract says on a connection of its own, but not when it is sent in
    /// one write between two other requests (the conformance suite's
    /// `a_pipelined_head_between_two_requests_has_no_body`): then it is answered exactly as the
    /// row named `row` is, body included.
    PipelinedAnswersAs {
        /// The name of the row whose answer it gets.
        row: &'static str,
    },
    /// A case of the framing corpus, sent with the smuggled [`FOLLOW_UP`](crate::FOLLOW_UP)
    /// behind it: the statuses of the answers, in order (a 500 after the first is the follow-up
    /// served), and whether the connection then closes or is left open.
    Framing {
        /// The status of each answer, in order.
        answers: &'static [u16],
        /// Whether the server closes the connection after them.
        closes: bool,
    },
}

impl Deviation {
    /// The status a row is answered with instead, on a connection of its own; 0 for a row it
    /// cannot answer, for a row that deviates only when pipelined and for a framing case.
    pub fn status(&self) -> u16 {
        match self.pin {
            Pin::Answers { status, .. } => status,
            Pin::Closes | Pin::PipelinedAnswersAs { .. } | Pin::Framing { .. } => 0,
        }
    }
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

/// Why actix-web answers a pipelined HEAD with a body.
const ACTIX_PIPELINED_HEAD: &str = "actix-http keeps \"this request is HEAD\" per connection, not \
     per request: its codec sets the flag for each request it decodes (h1/codec.rs:124) and reads \
     it for each answer it encodes (:177), and its dispatcher decodes every request already in \
     the buffer while an answer is still being written (h1/dispatcher.rs:928-975). A HEAD queued \
     that way with another request behind it is encoded after that request's decode, so its \
     answer carries the body a GET would have";

/// Why may-minihttp gives no answer to a chunked body.
const MAY_CHUNKED: &str = "may_minihttp frames bodies by Content-Length only (request.rs, \
     Request::content_length) and parses the chunks as the next request; that parse fails, and \
     its connection loop returns the error before it writes the answers already made \
     (http_server.rs, each_connection_loop): the connection ends before the 400 is sent";

/// The parts of the Host rows' answer that differ under actix-web.
const ACTIX_HOST_DIFFERS: &[&str] = &["content-type", "content-length", "server", "body"];
/// The parts of the Host rows' answer that differ under net/http.
const NET_HTTP_HOST_DIFFERS: &[&str] = &["content-length", "server", "body", "date"];

/// Every known deviation.
pub const DEVIATIONS: &[Deviation] = &[
    Deviation {
        server: "actix-web",
        case: "last chunk without the empty line",
        // The POST is answered; the GET behind it never is, and the connection stays open.
        pin: Pin::Framing {
            answers: &[200],
            closes: false,
        },
        instead: "actix-http skips every line after the last chunk up to an empty one, field line \
                  or not (h1/chunked.rs, ChunkedState::read_trailer): a request sent behind it is \
                  swallowed as trailers, and a proxy that frames it as a request of its own waits \
                  for an answer that never comes",
        security: true,
    },
    Deviation {
        server: "actix-web",
        case: "HTTP/1.1 without Host",
        pin: Pin::Answers {
            status: 400,
            differs: ACTIX_HOST_DIFFERS,
        },
        instead: ACTIX_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "actix-web",
        case: "two Host headers",
        pin: Pin::Answers {
            status: 400,
            differs: ACTIX_HOST_DIFFERS,
        },
        instead: ACTIX_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "actix-web",
        case: "HEAD /json",
        pin: Pin::PipelinedAnswersAs { row: "json" },
        instead: ACTIX_PIPELINED_HEAD,
        // It shifts the answers, not the requests: a proxy that pipelined a HEAD to it would
        // read the body as the next answer, but the common proxies (nginx, HAProxy, Envoy) send
        // an upstream one request at a time.
        security: false,
    },
    Deviation {
        server: "may-minihttp",
        case: "HEAD /",
        pin: Pin::Answers {
            status: 200,
            differs: &["content-length"],
        },
        instead: MAY_HEAD_LENGTH,
        security: false,
    },
    Deviation {
        server: "may-minihttp",
        case: "HEAD /json",
        pin: Pin::Answers {
            status: 200,
            differs: &["content-length"],
        },
        instead: MAY_HEAD_LENGTH,
        security: false,
    },
    Deviation {
        server: "may-minihttp",
        case: "echo chunked",
        pin: Pin::Closes,
        instead: MAY_CHUNKED,
        security: true,
    },
    Deviation {
        server: "may-minihttp",
        case: "echo chunked body over 64 KiB",
        pin: Pin::Closes,
        instead: MAY_CHUNKED,
        security: true,
    },
    Deviation {
        server: "go-nethttp",
        case: "HTTP/1.1 without Host",
        pin: Pin::Answers {
            status: 400,
            differs: NET_HTTP_HOST_DIFFERS,
        },
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-nethttp",
        case: "two Host headers",
        pin: Pin::Answers {
            status: 400,
            differs: NET_HTTP_HOST_DIFFERS,
        },
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-handler",
        case: "HTTP/1.1 without Host",
        pin: Pin::Answers {
            status: 400,
            differs: NET_HTTP_HOST_DIFFERS,
        },
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-handler",
        case: "two Host headers",
        pin: Pin::Answers {
            status: 400,
            differs: NET_HTTP_HOST_DIFFERS,
        },
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "HTTP/1.1 without Host",
        pin: Pin::Answers {
            status: 400,
            differs: NET_HTTP_HOST_DIFFERS,
        },
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "two Host headers",
        pin: Pin::Answers {
            status: 400,
            differs: NET_HTTP_HOST_DIFFERS,
        },
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-gin",
        case: "HTTP/1.1 without Host",
        pin: Pin::Answers {
            status: 400,
            differs: NET_HTTP_HOST_DIFFERS,
        },
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-gin",
        case: "two Host headers",
        pin: Pin::Answers {
            status: 400,
            differs: NET_HTTP_HOST_DIFFERS,
        },
        instead: NET_HTTP_REFUSES_HOST,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "POST /",
        pin: Pin::Answers {
            status: 405,
            differs: &["allow"],
        },
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "DELETE /json",
        pin: Pin::Answers {
            status: 405,
            differs: &["allow"],
        },
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "PUT /users/1",
        pin: Pin::Answers {
            status: 405,
            differs: &["allow"],
        },
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-echo",
        case: "GET /echo",
        pin: Pin::Answers {
            status: 405,
            differs: &["allow"],
        },
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "POST /",
        pin: Pin::Answers {
            status: 405,
            differs: &["allow"],
        },
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "DELETE /json",
        pin: Pin::Answers {
            status: 405,
            differs: &["allow"],
        },
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "PUT /users/1",
        pin: Pin::Answers {
            status: 405,
            differs: &["allow"],
        },
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
    },
    Deviation {
        server: "go-fasthttprouter",
        case: "GET /echo",
        pin: Pin::Answers {
            status: 405,
            differs: &["allow"],
        },
        instead: ROUTER_ALLOWS_OPTIONS,
        security: false,
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
