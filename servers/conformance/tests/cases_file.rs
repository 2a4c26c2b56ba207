//! `servers/contract/data/cases.json`: every row of `contract::cases()` with its request's exact
//! bytes, the rows' pins of `contract::DEVIATIONS`, and the servers that close after a chunked
//! body (`Deviation::ClosesAfterChunkedBody`), for the Go servers' own tests (the Go contract package
//! embeds it); and, for schemathesis's hooks (`servers/contract/schemathesis/hooks.py`), the
//! `Server` header of every server (`Deviation::ServerHeader`) and the pinned answers to a method
//! a stack does not know (`Deviation::UnknownMethodAnswer`). It is written from the Rust tables,
//! never by hand; this test fails when it is out of date and rewrites it when
//! `ROSETTA_WRITE_CASES=1` is set.

use std::path::Path;

use conformance::deviations::{self, Deviation};
use contract::Pin;
use harness::request_bytes;

fn table() -> String {
    let cases: Vec<serde_json::Value> = contract::cases()
        .iter()
        .map(|case| {
            let request = String::from_utf8(request_bytes(case, &[]))
                .expect("the contract's requests are UTF-8");
            serde_json::json!({
                "name": case.name,
                "method": case.method,
                "request": request,
                "status": case.status,
                "content_type": case.response_content_type,
                "body": String::from_utf8_lossy(&case.response_body),
                "content_length": case.content_length,
                "allow": case.allow.unwrap_or_default(),
                "hosts": case.host.values().len(),
                "chunked": case.chunked,
            })
        })
        .collect();
    // The rows' pins; the framing corpus's are checked by the hardening suite alone, and a
    // pipelined HEAD's by the conformance suite alone (no Go server has one).
    let deviations: Vec<serde_json::Value> = contract::DEVIATIONS
        .iter()
        .filter_map(|d| match d.pin {
            Pin::Answers { status, differs } => Some(serde_json::json!({
                "server": d.server, "case": d.case, "status": status, "differs": differs,
            })),
            Pin::Closes => Some(serde_json::json!({
                "server": d.server, "case": d.case, "closes": true,
            })),
            Pin::PipelinedAnswersAs { .. } => {
                let server = contract::server(d.server).expect("a server of the table");
                assert_ne!(
                    server.build,
                    contract::Build::Go,
                    "{}: contracttest.Run does not read a pipelined pin; teach it first",
                    d.server
                );
                None
            }
            Pin::Framing { .. } => None,
        })
        .collect();
    let closes_after_chunked: Vec<&str> = contract::SERVERS
        .iter()
        .map(|s| s.name)
        .filter(|name| deviations::has(name, Deviation::ClosesAfterChunkedBody))
        .collect();
    let server_headers: serde_json::Map<String, serde_json::Value> = contract::SERVERS
        .iter()
        .map(|s| (s.name.to_owned(), deviations::server_header(s.name).into()))
        .collect();
    let unknown_method: serde_json::Map<String, serde_json::Value> = contract::SERVERS
        .iter()
        .filter_map(|s| {
            let pin = deviations::unknown_method_answer(s.name)?;
            let pin = serde_json::json!({
                "method": pin.method, "status": pin.status, "differs": pin.differs,
            });
            Some((s.name.to_owned(), pin))
        })
        .collect();
    let table = serde_json::json!({
        "cases": cases,
        "deviations": deviations,
        "closes_after_chunked": closes_after_chunked,
        "server_headers": server_headers,
        "unknown_method": unknown_method,
    });
    serde_json::to_string_pretty(&table).expect("JSON values serialize") + "\n"
}

#[test]
fn the_cases_file_for_the_go_servers_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contract/data/cases.json");
    let want = table();
    if std::env::var_os("ROSETTA_WRITE_CASES").is_some() {
        std::fs::write(&path, &want).expect("cannot write cases.json");
    }
    let got = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "{} is out of date: run `ROSETTA_WRITE_CASES=1 cargo test -p conformance --test cases_file`",
        path.display()
    );
}
