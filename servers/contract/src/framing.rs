//! The request-framing corpus: requests whose end a front proxy and the server behind it could
//! place differently, each to be followed on the same connection by [`FOLLOW_UP`]. A server that
//! reads the length another way than the proxy serves the follow-up as a request of its own, one
//! the proxy never saw: request smuggling. RFC 9112 (sections 2.2, 5, 6 and 7) and RFC 9110 (8.6)
//! say what a server MUST do with each: answer 400 (or 501 for a transfer coding it does not know)
//! and close the connection, so that nothing after the bad request is served.
//!
//! The cases come from those MUSTs, from the smuggling variants of PortSwigger's research (CL.TE,
//! TE.CL, TE.TE obfuscations) and from the malformed-request tests of llhttp (Node.js's parser).

/// The request sent right after each case, on the same connection: `GET /error`, which every
/// server answers 500, so an answer of 500 means the smuggled request was served.
pub const FOLLOW_UP: &[u8] = b"GET /error HTTP/1.1\r\nHost: x\r\n\r\n";

/// One request whose framing is broken or ambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingCase {
    /// What is wrong with it, for messages and for [`crate::DEVIATIONS`].
    pub name: &'static str,
    /// The rule it breaks.
    pub rule: &'static str,
    /// The request, without the follow-up.
    pub request: Vec<u8>,
    /// The RFC lets a server accept it and frame it one way (a list of equal lengths, a folded
    /// line it unfolds, a coding before chunked that it does not know): then serving the
    /// follow-up is no smuggling, as long as the framing is that one way.
    pub may_frame: bool,
}

impl FramingCase {
    /// The bytes to send: the request, then [`FOLLOW_UP`], in one write.
    pub fn bytes(&self) -> Vec<u8> {
        let mut bytes = self.request.clone();
        bytes.extend_from_slice(FOLLOW_UP);
        bytes
    }
}

const RFC_TE: &str =
    "RFC 9112, 6.1: a Transfer-Encoding whose final coding is not chunked: 400, close";
const RFC_TE_CL: &str =
    "RFC 9112, 6.1: Transfer-Encoding with Content-Length: refuse, or frame by chunked and close";
const RFC_TE_10: &str =
    "RFC 9112, 6.1: Transfer-Encoding in HTTP/1.0: the framing is faulty; close after answering";
const RFC_CL: &str = "RFC 9110, 8.6 and RFC 9112, 6.3: an invalid Content-Length: 400, close";
const RFC_CL_LIST: &str =
    "RFC 9110, 8.6: a list of equal lengths may be taken as one; differing ones are a 400";
const RFC_FIELD: &str =
    "RFC 9112, 5.1: whitespace between a field name and its colon, or an invalid name: 400";
const RFC_FOLD: &str =
    "RFC 9112, 5.2: an obs-fold is rejected with 400, or each fold replaced by a space";
const RFC_VALUE: &str = "RFC 9110, 5.5: a control character in a field value: invalid, 400";
const RFC_CR: &str =
    "RFC 9112, 2.2: a bare CR makes the element invalid (or is replaced by a space)";
const RFC_START: &str =
    "RFC 9112, 2.2: whitespace before the first field: reject, or ignore the line";
const RFC_CHUNK: &str =
    "RFC 9112, 7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; size is 1*HEXDIG";
const RFC_CHUNK_EXT: &str =
    "RFC 9112, 7.1.1: a recipient ignores chunk extensions; skipping a malformed one frames alike";

/// `POST /echo` with `headers` (each ending in CRLF) and `body`.
fn post(headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}\r\n{body}"
    )
    .into_bytes()
}

/// `POST /echo` with `Transfer-Encoding: chunked` and `body` as the raw chunked bytes.
fn chunked(body: &str) -> Vec<u8> {
    post("Transfer-Encoding: chunked\r\n", body)
}

fn case(name: &'static str, rule: &'static str, request: Vec<u8>) -> FramingCase {
    FramingCase {
        name,
        rule,
        request,
        may_frame: false,
    }
}

fn lenient(name: &'static str, rule: &'static str, request: Vec<u8>) -> FramingCase {
    FramingCase {
        may_frame: true,
        ..case(name, rule, request)
    }
}

/// Every case of the corpus.
pub fn framing_cases() -> Vec<FramingCase> {
    // The follow-up's length, so that a server that frames by the second of two lengths swallows
    // it as a body and one that frames by the first serves it.
    let follow_up_len = FOLLOW_UP.len();
    let two_lengths = format!("Content-Length: 0\r\nContent-Length: {follow_up_len}\r\n");
    let listed_lengths = format!("Content-Length: 0, {follow_up_len}\r\n");
    let message = r#"{"message":"a"}"#;
    vec![
        // Transfer-Encoding other than a final chunked (TE.CL and TE.TE).
        case(
            "Transfer-Encoding: identity with Content-Length",
            RFC_TE,
            post("Transfer-Encoding: identity\r\nContent-Length: 15\r\n", message),
        ),
        case(
            "Transfer-Encoding: identity alone",
            RFC_TE,
            post("Transfer-Encoding: identity\r\n", ""),
        ),
        case(
            "Transfer-Encoding: gzip",
            RFC_TE,
            post("Transfer-Encoding: gzip\r\n", &format!("f\r\n{message}\r\n0\r\n\r\n")),
        ),
        case(
            "Transfer-Encoding: chunked, gzip",
            RFC_TE,
            post("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n"),
        ),
        case(
            "Transfer-Encoding: chunked then a second line x",
            RFC_TE,
            post(
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n",
                "0\r\n\r\n",
            ),
        ),
        case(
            "Transfer-Encoding: chunked1",
            RFC_TE,
            post("Transfer-Encoding: chunked1\r\n", "0\r\n\r\n"),
        ),
        lenient(
            "Transfer-Encoding: chunked, chunked",
            "RFC 9112, 6.1: a sender MUST NOT apply chunked twice; the last one still frames it",
            post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n"),
        ),
        lenient(
            "Transfer-Encoding: gzip, chunked",
            "RFC 9112, 6.1: a coding the server does not know, before chunked: 501 (a SHOULD)",
            post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"),
        ),
        case(
            "Content-Length then Transfer-Encoding",
            RFC_TE_CL,
            post(
                "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                "0\r\n\r\n",
            ),
        ),
        case(
            "Transfer-Encoding then Content-Length",
            RFC_TE_CL,
            post(
                "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                "0\r\n\r\n",
            ),
        ),
        case(
            "Transfer-Encoding in HTTP/1.0",
            RFC_TE_10,
            b"POST /echo HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
        ),
        case(
            "Transfer-Encoding with a space before the colon",
            RFC_FIELD,
            post("Transfer-Encoding : chunked\r\n", "0\r\n\r\n"),
        ),
        lenient(
            "Transfer-Encoding folded onto a second line",
            RFC_FOLD,
            post("Transfer-Encoding:\r\n chunked\r\n", "0\r\n\r\n"),
        ),
        case(
            "Transfer-Encoding with a vertical tab",
            RFC_VALUE,
            post("Transfer-Encoding: \x0bchunked\r\n", "0\r\n\r\n"),
        ),
        // Content-Length: signs, lists, duplicates, garbage.
        case(
            "Content-Length: +15",
            RFC_CL,
            post("Content-Length: +15\r\n", message),
        ),
        case(
            "Content-Length: -0",
            RFC_CL,
            post("Content-Length: -0\r\n", ""),
        ),
        case(
            "Content-Length: 0xf",
            RFC_CL,
            post("Content-Length: 0xf\r\n", message),
        ),
        case(
            "Content-Length: 1 5",
            RFC_CL,
            post("Content-Length: 1 5\r\n", message),
        ),
        case("Content-Length empty", RFC_CL, post("Content-Length: \r\n", "")),
        case(
            "Content-Length: 0, 32 (a list of two)",
            RFC_CL_LIST,
            post(&listed_lengths, ""),
        ),
        case(
            "two Content-Length lines, 0 and 32",
            RFC_CL_LIST,
            post(&two_lengths, ""),
        ),
        lenient(
            "Content-Length: 15, 15 (a list of equal ones)",
            RFC_CL_LIST,
            post("Content-Length: 15, 15\r\n", message),
        ),
        lenient(
            "two equal Content-Length lines",
            RFC_CL_LIST,
            post("Content-Length: 15\r\nContent-Length: 15\r\n", message),
        ),
        case(
            "Content-Length with a space before the colon",
            RFC_FIELD,
            post("Content-Length : 15\r\n", message),
        ),
        lenient(
            "Content-Length folded onto a second line",
            RFC_FOLD,
            post("Content-Length:\r\n 15\r\n", message),
        ),
        // Line endings and whitespace around the fields.
        case(
            "bare CR in the request line",
            RFC_CR,
            b"GET / HTTP/1.1\rX: y\r\nHost: x\r\n\r\n".to_vec(),
        ),
        case(
            "bare CR hides a Content-Length in another field",
            RFC_CR,
            post("X: a\rContent-Length: 15\r\n", message),
        ),
        case(
            "whitespace before the first field",
            RFC_START,
            b"POST /echo HTTP/1.1\r\n Content-Length: 15\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{\"message\":\"a\"}".to_vec(),
        ),
        case(
            "a space inside a field name: Content Length",
            RFC_FIELD,
            post("Content Length: 15\r\n", message),
        ),
        case(
            "NUL in a field value",
            RFC_VALUE,
            post("Content-Length: 15\r\nX: a\x00b\r\n", message),
        ),
        // Chunked bodies: sizes, extensions and the CRLF after the data.
        case(
            "chunk size overflows 64 bits",
            RFC_CHUNK,
            chunked(&format!("1000000000000000f\r\n{message}\r\n0\r\n\r\n")),
        ),
        case(
            "chunk size with 0x",
            RFC_CHUNK,
            chunked(&format!("0xf\r\n{message}\r\n0\r\n\r\n")),
        ),
        case(
            "negative chunk size",
            RFC_CHUNK,
            chunked(&format!("-f\r\n{message}\r\n0\r\n\r\n")),
        ),
        case(
            "chunk size after a space",
            RFC_CHUNK,
            chunked(&format!(" f\r\n{message}\r\n0\r\n\r\n")),
        ),
        lenient(
            "chunk extension with a control character",
            RFC_CHUNK_EXT,
            chunked(&format!("f;a=\x01\r\n{message}\r\n0\r\n\r\n")),
        ),
        lenient(
            "chunk extension with an open quoted string",
            RFC_CHUNK_EXT,
            chunked(&format!("f;a=\"b\r\n{message}\r\n0\r\n\r\n")),
        ),
        case(
            "chunk data not ended by CRLF",
            RFC_CHUNK,
            chunked(&format!("f\r\n{message}XX0\r\n\r\n")),
        ),
        case(
            "chunk data ended by LF alone",
            RFC_CHUNK,
            chunked(&format!("f\r\n{message}\n0\r\n\r\n")),
        ),
        case(
            "chunk size line ended by LF alone",
            RFC_CHUNK,
            chunked(&format!("f\n{message}\r\n0\r\n\r\n")),
        ),
        case(
            "last chunk without the empty line",
            "RFC 9112, 7.1: the last chunk, then the trailer section, then CRLF",
            chunked(&format!("f\r\n{message}\r\n0\r\n")),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_have_distinct_names_and_end_before_the_follow_up() {
        let cases = framing_cases();
        let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        assert_eq!(FOLLOW_UP.len(), 32, "the lengths in the case names");
        for case in &cases {
            assert!(case.bytes().ends_with(FOLLOW_UP), "{}", case.name);
        }
    }
}
