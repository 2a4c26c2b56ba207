//! Sends a case of the request-framing corpus ([`contract::framing_cases`]) with the smuggled
//! follow-up behind it, and says what the server did: refused it, served it, or served the
//! request smuggled behind it.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use contract::{FramingCase, Pin};

use harness::{Parsed, parse_response};

/// Every answer a server gave to one case and its follow-up, and whether it closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The status of each answer, in order.
    pub answers: Vec<u16>,
    /// Whether the server closed the connection (end of stream or a reset) before the wait ran
    /// out.
    pub closed: bool,
}

/// A refusal: a 4xx, or 501 for a transfer coding the server does not implement.
fn refusal(status: u16) -> bool {
    (400..500).contains(&status) || status == 501
}

impl Outcome {
    /// The server refused the request (a 4xx, or a close without an answer), served nothing
    /// after it, and closed the connection: RFC 9112, 6.3 wants a 400 "and then close the
    /// connection" when a request's body length cannot be determined.
    pub fn refused(&self) -> bool {
        match self.answers.split_first() {
            None => self.closed,
            Some((first, rest)) => {
                refusal(*first) && rest.iter().all(|s| refusal(*s)) && self.closed
            }
        }
    }

    /// The follow-up, `GET /error`, was answered as a request: an answer after the first that is
    /// not a refusal.
    pub fn smuggled(&self) -> bool {
        self.answers.iter().skip(1).any(|s| !refusal(*s))
    }

    /// Exactly what `pin` says: a [`Pin::Framing`] with these answers, closed or left open as it
    /// says. No other pin is a framing case's.
    pub fn is(&self, pin: &Pin) -> bool {
        matches!(pin, Pin::Framing { answers, closes } if *answers == self.answers.as_slice() && *closes == self.closed)
    }

    /// What the RFC allows for `case`: a refusal, or, where [`FramingCase::may_frame`], the
    /// request framed one way and the follow-up served after it as the request it is, or the
    /// request answered and the connection closed (a server may close after any answer; nothing
    /// behind it is served).
    pub fn acceptable(&self, case: &FramingCase) -> bool {
        let framed = match self.answers.as_slice() {
            [first, 500] => *first < 500,
            [first] => *first < 500 && self.closed,
            _ => false,
        };
        self.refused() || (case.may_frame && framed)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let answers: Vec<String> = self.answers.iter().map(u16::to_string).collect();
        let answers = match answers.is_empty() {
            true => "no answer".to_owned(),
            false => answers.join(", then "),
        };
        let end = if self.closed { "closed" } else { "left open" };
        let smuggled = if self.smuggled() {
            " (the smuggled GET /error was served)"
        } else {
            ""
        };
        write!(f, "{answers}; {end}{smuggled}")
    }
}

/// Sends `case` and the follow-up in one write on a new connection and collects the answers
/// until the server closes or `wait` passes without a byte.
pub fn probe(addr: SocketAddr, case: &FramingCase, wait: Duration) -> io::Result<Outcome> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(wait))?;
    let mut outcome = Outcome {
        answers: Vec::new(),
        closed: false,
    };
    // The server may close before it has read everything: a failed write is a close.
    if stream.write_all(&case.bytes()).is_err() {
        outcome.closed = true;
        return Ok(outcome);
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let deadline = Instant::now() + wait * 4;
    while Instant::now() < deadline {
        match stream.read(&mut chunk) {
            Ok(0) => {
                outcome.closed = true;
                break;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(_) => {
                outcome.closed = true;
                break;
            }
        }
        // Take every whole answer off the front; a HEAD never comes here, so no `head` flag.
        while let Ok(Parsed::Complete(response, len)) = parse_response(&buf, false) {
            outcome.answers.push(response.status);
            buf.drain(..len);
        }
    }
    // Bytes that never made a whole answer: an answer cut short by the close, or one without a
    // length that the close ends.
    if !buf.is_empty()
        && let Ok(Parsed::UntilClose(response, _) | Parsed::Complete(response, _)) =
            parse_response(&buf, false)
    {
        outcome.answers.push(response.status);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(answers: &[u16], closed: bool) -> Outcome {
        Outcome {
            answers: answers.to_vec(),
            closed,
        }
    }

    #[test]
    fn refusals_smuggling_and_lenient_framing_are_told_apart() {
        let strict = contract::framing_cases()
            .into_iter()
            .find(|c| !c.may_frame)
            .unwrap();
        let lenient = contract::framing_cases()
            .into_iter()
            .find(|c| c.may_frame)
            .unwrap();
        assert!(outcome(&[400], true).refused());
        assert!(outcome(&[], true).refused());
        assert!(outcome(&[400, 400], true).refused());
        assert!(
            !outcome(&[400, 400], false).refused(),
            "a refusal closes the connection"
        );
        assert!(!outcome(&[], false).refused(), "silence is no refusal");
        assert!(outcome(&[400, 500], false).smuggled());
        assert!(!outcome(&[400, 500], false).acceptable(&strict));
        assert!(!outcome(&[200], true).acceptable(&strict));
        assert!(outcome(&[200, 500], false).acceptable(&lenient));
        assert!(!outcome(&[200, 400], false).acceptable(&lenient));
        assert!(
            outcome(&[200], true).acceptable(&lenient),
            "answered, then closed"
        );
        assert!(
            !outcome(&[200], false).acceptable(&lenient),
            "answered, then silence"
        );
        let swallowed = Pin::Framing {
            answers: &[200],
            closes: false,
        };
        assert!(outcome(&[200], false).is(&swallowed));
        assert!(
            !outcome(&[200], true).is(&swallowed),
            "a close is not the pin"
        );
        assert!(
            !outcome(&[200, 500], false).is(&swallowed),
            "nor is serving the follow-up"
        );
        assert!(!outcome(&[200], false).is(&Pin::Closes));
        assert_eq!(
            outcome(&[400, 500], false).to_string(),
            "400, then 500; left open (the smuggled GET /error was served)"
        );
    }
}
