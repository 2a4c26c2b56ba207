//! The route contract, checked against the real binary of every server over TCP.
//!
//! One table drives every test: `contract::SERVERS` (the Go rows when Go is installed). One
//! more server is one more row there.
//! Each test runs against all servers and reports every failure of every server at once.

use std::time::Duration;

use conformance::deviations::{self, Deviation};
use conformance::{check, differing_parts};
use contract::{Case, HostHeader, Pin};
use harness::{RawClient, RawResponse, ServerProcess, request_bytes};
use nix::sys::signal::Signal;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Starts each server in turn, runs `test` against it, and fails with every server's failures.
fn for_each_server(test: impl Fn(&ServerProcess) -> Result<(), String>) {
    let mut failures = Vec::new();
    for server in harness::servers_to_test("the contract") {
        let outcome = ServerProcess::start(server.name, 2)
            .map_err(|err| err.to_string())
            .and_then(|process| test(&process));
        if let Err(failure) = outcome {
            failures.push(format!("server-{}: {failure}", server.name));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn case(name: &str) -> Case {
    contract::cases()
        .into_iter()
        .find(|c| c.name == name)
        .expect("a case of that name")
}

fn connect(server: &ServerProcess) -> Result<RawClient, String> {
    RawClient::connect(server.addr(), TIMEOUT).map_err(|e| format!("connect: {e}"))
}

fn read(client: &mut RawClient, head: bool, what: &str) -> Result<RawResponse, String> {
    client
        .read_response(head)
        .map_err(|e| format!("{what}: no response: {e}"))
}

/// The answer meets the contract, or, where `contract::DEVIATIONS` pins the row for this server,
/// deviates exactly as pinned: the same status and the same parts differing. Any other answer
/// fails, a regression and a fix alike; a fix says to drop the deviation. A row pinned only
/// when pipelined between two others ([`Pin::PipelinedAnswersAs`]) must conform here:
/// [`a_pipelined_head_between_two_requests_has_no_body`] checks its pin.
fn conforms(case: &Case, server: &ServerProcess, response: &RawResponse) -> Result<(), String> {
    let mismatches = check(case, server.name(), response);
    let known = contract::deviation(server.name(), case.name)
        .filter(|d| !matches!(d.pin, Pin::PipelinedAnswersAs { .. }));
    let Some(known) = known else {
        return match mismatches.is_empty() {
            true => Ok(()),
            false => Err(mismatches.join("; ")),
        };
    };
    let differs = differing_parts(case, server.name(), response);
    match known.pin {
        _ if differs.is_empty() => Err(format!(
            "{}: the known deviation is gone ({}): drop it from contract::DEVIATIONS and the README",
            case.name, known.instead
        )),
        Pin::Answers {
            status,
            differs: pinned,
        } if response.status == status && differs == pinned => Ok(()),
        pin => Err(format!(
            "{}: not the known deviation {pin:?}: answered {} with {differs:?} differing ({})",
            case.name,
            response.status,
            mismatches.join("; ")
        )),
    }
}

/// A read error that is the server closing the connection (end of stream or a reset), not the
/// client giving up after its timeout.
fn is_close(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    matches!(
        err.kind(),
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
    )
}

#[test]
fn every_row_of_the_contract_on_its_own_connection() {
    for_each_server(|server| {
        let mut mismatches = Vec::new();
        for case in contract::cases() {
            // Every row is tried, and every failing one reported, not only the first.
            let sent = connect(server).and_then(|mut client| {
                client
                    .send(&request_bytes(&case, &[]))
                    .map_err(|e| format!("send: {e}"))?;
                Ok(client)
            });
            let mut client = match sent {
                Ok(client) => client,
                Err(e) => {
                    mismatches.push(format!("{}: {e}", case.name));
                    continue;
                }
            };
            let answer = client.read_response(case.method == "HEAD");
            let closes =
                contract::deviation(server.name(), case.name).filter(|d| d.pin == Pin::Closes);
            match (answer, closes) {
                (Ok(response), None) => {
                    if let Err(mismatch) = conforms(&case, server, &response) {
                        mismatches.push(mismatch);
                    }
                }
                (Err(e), None) => mismatches.push(format!("{}: no response: {e}", case.name)),
                // Pinned: the stack cannot answer this row and closes the connection at once.
                (Err(e), Some(_)) if is_close(&e) => {}
                (Err(e), Some(d)) => mismatches.push(format!(
                    "{}: the known deviation closes the connection ({}), but it did not within \
                     {TIMEOUT:?}: {e}",
                    case.name, d.instead
                )),
                (Ok(response), Some(d)) => mismatches.push(format!(
                    "{}: the known deviation is gone (answered {}; {}): drop it from \
                     contract::DEVIATIONS and the README",
                    case.name, response.status, d.instead
                )),
            }
        }
        if mismatches.is_empty() {
            Ok(())
        } else {
            Err(mismatches.join("\n  "))
        }
    });
}

/// A method no route knows (QUERY, which schemathesis sends to every path) is one the route does
/// not allow: the answer is the 405 of `DELETE /json`, that row's pins included. A stack that
/// refuses an unknown method itself must answer exactly its pinned
/// [`Deviation::UnknownMethodAnswer`], and fails here the day it answers the 405.
#[test]
fn an_unknown_method_is_answered_405_with_allow() {
    for_each_server(|server| {
        let pin = deviations::unknown_method_answer(server.name());
        let mut query = case("DELETE /json");
        query.method = pin.map_or("QUERY", |pin| pin.method);
        let mut client = connect(server)?;
        client
            .send(&request_bytes(&query, &[]))
            .map_err(|e| format!("send: {e}"))?;
        let response = read(&mut client, false, query.method)?;
        let Some(pin) = pin else {
            return conforms(&query, server, &response)
                .map_err(|e| format!("{} instead of DELETE: {e}", query.method));
        };
        let differs = differing_parts(&query, server.name(), &response);
        match (response.status, differs.as_slice()) {
            (status, differs) if status == pin.status && differs == pin.differs => Ok(()),
            (_, []) => Err(format!(
                "{} /json: the known deviation is gone (the 405 is answered): drop it from \
                 conformance::deviations and the README",
                pin.method
            )),
            (status, differs) => Err(format!(
                "{} /json: not the known deviation {pin:?}: answered {status} with {differs:?} \
                 differing ({})",
                pin.method,
                check(&query, server.name(), &response).join("; ")
            )),
        }
    });
}

#[test]
fn keep_alive_serves_every_route_on_one_connection() {
    // A refused body or a Host line against RFC 9112 may end a connection: those rows are
    // checked on their own connections above.
    let cases: Vec<Case> = contract::cases()
        .into_iter()
        .filter(|c| c.status != 413 && c.host == HostHeader::One)
        .collect();
    for_each_server(|server| {
        let mut client = connect(server)?;
        // A row the stack cannot answer at all ends the connection: checked above.
        let answered = |case: &&Case| {
            contract::deviation(server.name(), case.name).is_none_or(|d| d.pin != Pin::Closes)
        };
        let closes_after_chunked =
            deviations::has(server.name(), Deviation::ClosesAfterChunkedBody);
        for _ in 0..3 {
            for case in cases.iter().filter(answered) {
                client
                    .send(&request_bytes(case, &[]))
                    .map_err(|e| format!("{}: send: {e}", case.name))?;
                let response = read(&mut client, case.method == "HEAD", case.name)?;
                conforms(case, server, &response)?;
                if case.chunked && closes_after_chunked {
                    // Pinned: the answer says Connection: close, and the connection closes.
                    if !response.closes() || !client.is_closed_by_peer() {
                        return Err(format!(
                            "{}: the known deviation ClosesAfterChunkedBody is gone: drop it",
                            case.name
                        ));
                    }
                    client = connect(server)?;
                    continue;
                }
                // A server may close after refusing a request whose body it did not read
                // (actix does); anything else must keep the connection.
                let refused_body = case.status >= 400 && !case.body.is_empty();
                if response.closes() && refused_body {
                    client = connect(server)?;
                } else if response.closes() || client.is_closed_by_peer_now() {
                    return Err(format!("{}: closed a keep-alive connection", case.name));
                }
            }
        }
        Ok(())
    });
}

/// A connection on which the requests of `cases` were sent in one write.
fn send_pipelined(server: &ServerProcess, cases: &[Case]) -> Result<RawClient, String> {
    let batch: Vec<u8> = cases
        .iter()
        .flat_map(|case| request_bytes(case, &[]))
        .collect();
    let mut client = connect(server)?;
    client.send(&batch).map_err(|e| format!("send: {e}"))?;
    Ok(client)
}

/// Sends `cases` in one write and checks the answers come back whole and in order.
fn pipeline(server: &ServerProcess, cases: &[Case]) -> Result<(), String> {
    let mut client = send_pipelined(server, cases)?;
    for case in cases {
        let response = read(&mut client, case.method == "HEAD", case.name)?;
        conforms(case, server, &response)?;
    }
    Ok(())
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let cases = [
        case("users"),
        case("echo"),
        case("users max id"),
        case("not found"),
        case("json"),
    ];
    for_each_server(|server| pipeline(server, &cases));
}

/// A request whose route answers without reading its body (a 405 here) is answered, and its body
/// skipped: the request behind it on the connection is answered too, unless the answer said
/// `Connection: close` and the connection then closes (ntex does, rather than read a body
/// nobody asked for). schemathesis found may-minihttp parsing such a body as the next request and
/// dropping the connection with neither answer.
#[test]
fn a_body_the_route_does_not_read_is_skipped() {
    let mut put = case("PUT /users/1");
    put.content_type = Some(contract::APPLICATION_JSON);
    put.body = br#"{"message":"never read"}"#.to_vec();
    let json = case("json");
    for_each_server(|server| {
        let mut client = send_pipelined(server, &[put.clone(), json.clone()])?;
        let answer = read(&mut client, false, "PUT with a body")?;
        conforms(&put, server, &answer)?;
        let closes = answer
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        // Whether a stack that said close still answers what it had already read (actix-web
        // does) is not this test's concern: that it is never the body parsed as a request is.
        match client.read_response(false) {
            Ok(response) => conforms(&json, server, &response),
            Err(e) if closes && is_close(&e) => Ok(()),
            Err(e) => Err(format!("json behind a PUT with a body: no response: {e}")),
        }
    });
}

/// A HEAD sent in one write between two other requests is answered without a body, and the
/// answers come back whole and in order. A server whose stack answers it otherwise carries a
/// [`Pin::PipelinedAnswersAs`] in `contract::DEVIATIONS` (actix-web: the HEAD gets the GET's
/// answer, body included), and must answer exactly that: a regression fails, and so does a fix,
/// until the pin goes.
#[test]
fn a_pipelined_head_between_two_requests_has_no_body() {
    let cases = [case("users"), case("HEAD /json"), case("not found")];
    for_each_server(|server| {
        let mut client = send_pipelined(server, &cases)?;
        for sent in &cases {
            let pinned = contract::deviation(server.name(), sent.name).and_then(|d| match d.pin {
                Pin::PipelinedAnswersAs { row } => Some((row, d.instead)),
                _ => None,
            });
            let Some((row, instead)) = pinned else {
                let response = read(&mut client, sent.method == "HEAD", sent.name)?;
                conforms(sent, server, &response)?;
                continue;
            };
            // Pinned: the answer is exactly the row `row`'s, its body read as that row's is.
            let answered_as = case(row);
            let response = read(&mut client, false, sent.name)?;
            let mismatches = check(&answered_as, server.name(), &response);
            if !mismatches.is_empty() {
                return Err(format!(
                    "{}: not the known deviation (answered as the row {row:?}: {instead}): {}; \
                     if its body is the start of the next answer, the HEAD was answered without \
                     one and the stack is fixed: drop the pin from contract::DEVIATIONS and the \
                     README",
                    sent.name,
                    mismatches.join("; ")
                ));
            }
        }
        Ok(())
    });
}

#[test]
fn a_request_split_into_tiny_writes_is_served() {
    let echo = case("echo");
    let bytes = request_bytes(&echo, &[]);
    for_each_server(|server| {
        let mut client = connect(server)?;
        for piece in bytes.chunks(3) {
            client.send(piece).map_err(|e| format!("send: {e}"))?;
            std::thread::sleep(Duration::from_millis(1));
        }
        conforms(&echo, server, &read(&mut client, false, "split echo")?)
    });
}

#[test]
fn connection_close_and_http10_close_the_connection() {
    let plaintext = case("plaintext");
    for_each_server(|server| {
        let mut client = connect(server)?;
        client
            .send(&request_bytes(&plaintext, &["Connection: close"]))
            .map_err(|e| e.to_string())?;
        conforms(
            &plaintext,
            server,
            &read(&mut client, false, "Connection: close")?,
        )?;
        if !client.is_closed_by_peer() {
            return Err("the connection stayed open after `Connection: close`".into());
        }

        let mut client = connect(server)?;
        client
            .send(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .map_err(|e| e.to_string())?;
        conforms(&plaintext, server, &read(&mut client, false, "HTTP/1.0")?)?;
        if !client.is_closed_by_peer() {
            return Err("the connection stayed open after an HTTP/1.0 request".into());
        }
        Ok(())
    });
}

/// What `ab -k` sends: HTTP/1.0 with `Connection: keep-alive`. The answer must say
/// `Connection: keep-alive` too, or an HTTP/1.0 client reads until a close that never comes.
#[test]
fn http10_keep_alive_is_honoured() {
    let plaintext = case("plaintext");
    let request = b"GET / HTTP/1.0\r\nHost: localhost\r\nConnection: Keep-Alive\r\n\r\n";
    for_each_server(|server| {
        let mut client = connect(server)?;
        for round in 0..2 {
            client
                .send(request)
                .map_err(|e| format!("send {round}: {e}"))?;
            let response = read(&mut client, false, "HTTP/1.0 keep-alive")?;
            conforms(&plaintext, server, &response)?;
            let says = response.header("connection").unwrap_or_default();
            if !says.eq_ignore_ascii_case("keep-alive") {
                return Err(format!(
                    "HTTP/1.0 keep-alive answered with Connection: {says:?}, not keep-alive"
                ));
            }
        }
        Ok(())
    });
}

#[test]
fn sigterm_and_sigint_stop_the_server_with_exit_code_zero() {
    let plaintext = case("plaintext");
    // Every server and signal is tried, and every failure reported, not only the first.
    let mut failures = Vec::new();
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        for server in harness::servers_to_test("the contract") {
            let outcome = (|| {
                let mut process =
                    ServerProcess::start(server.name, 2).map_err(|e| e.to_string())?;
                // An idle keep-alive connection must not hold the shutdown up past the grace
                // period.
                let mut idle = connect(&process)?;
                idle.send(&request_bytes(&plaintext, &[]))
                    .map_err(|e| format!("send: {e}"))?;
                read(&mut idle, false, "plaintext")?;
                process.signal(signal).map_err(|e| format!("signal: {e}"))?;
                let status = process
                    .wait_timeout(contract::SHUTDOWN_GRACE + Duration::from_secs(2))
                    .map_err(|e| format!("wait: {e}"))?;
                match status {
                    Some(status) if status.success() => Ok(()),
                    other => Err(format!("exit {other:?}")),
                }
            })();
            if let Err(failure) = outcome {
                failures.push(format!("server-{} after {signal}: {failure}", server.name));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
