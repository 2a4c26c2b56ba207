//! Servers that already run elsewhere, for `compare --targets NAME=URL,…`: parsed, checked, and
//! verified against the route contract before any load, as a local server is after its start.
//! They are not restarted between rounds, and their CPU time and memory cannot be read from
//! here: they are reported as [`NOT_MEASURED_REMOTE`], never as zero.

use std::time::Duration;

use bytes::Bytes;
use thiserror::Error;

use crate::target::Target;
use crate::verify::{self, Verdict, VerifyError};

/// What a report says where a remote server's CPU time or memory would be.
pub const NOT_MEASURED_REMOTE: &str = "not measured (remote)";

/// A server that runs elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTarget {
    /// The name it goes by in the comparison.
    pub name: String,
    /// Its base URL, without a trailing slash (`http://server.example:8084`).
    pub url: String,
}

/// A `--targets` list that cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TargetsError {
    /// An entry that is not `NAME=URL`.
    #[error(
        "--targets takes NAME=URL entries separated by commas (axum=http://server:8084), not {0:?}"
    )]
    Syntax(String),
    /// A name given twice.
    #[error("--targets names {0} twice: every target needs a name of its own")]
    Duplicate(String),
    /// A URL the comparison cannot load.
    #[error("--targets {name}: {reason}")]
    Url {
        /// The target.
        name: String,
        /// Why.
        reason: String,
    },
    /// Nothing given.
    #[error("--targets is empty")]
    Empty,
}

/// Parses `NAME=URL,NAME=URL,…`: plain http:// base URLs (the comparison's h1 engine), names
/// unique.
pub fn parse_targets(text: &str) -> Result<Vec<RemoteTarget>, TargetsError> {
    let mut targets: Vec<RemoteTarget> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, url) = entry
            .split_once('=')
            .filter(|(name, url)| !name.trim().is_empty() && !url.trim().is_empty())
            .ok_or_else(|| TargetsError::Syntax(entry.to_owned()))?;
        let (name, url) = (name.trim(), url.trim().trim_end_matches('/'));
        let bad_url = |reason: String| TargetsError::Url {
            name: name.to_owned(),
            reason,
        };
        let target =
            Target::new(url, "GET", &[], Bytes::new()).map_err(|e| bad_url(e.to_string()))?;
        if !target.is_plain_http() {
            return Err(bad_url(format!(
                "{url} is not plain http://, which the comparison's h1 engine needs"
            )));
        }
        if targets.iter().any(|t| t.name == name) {
            return Err(TargetsError::Duplicate(name.to_owned()));
        }
        targets.push(RemoteTarget {
            name: name.to_owned(),
            url: url.to_owned(),
        });
    }
    if targets.is_empty() {
        return Err(TargetsError::Empty);
    }
    Ok(targets)
}

/// Verifies every target against the route contract, as the comparison does for a local
/// server after its start: each target's verdict, or why it could not be checked.
pub fn verify_all(
    targets: &[RemoteTarget],
    timeout: Duration,
) -> Vec<(&RemoteTarget, Result<Verdict, VerifyError>)> {
    targets
        .iter()
        .map(|target| (target, verify::verify(&target.url, None, timeout)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_lists_say_why() {
        let targets = parse_targets("axum=http://10.0.0.5:8084/, go-gin = http://b:8080").unwrap();
        assert_eq!(
            targets,
            [
                RemoteTarget {
                    name: "axum".into(),
                    url: "http://10.0.0.5:8084".into()
                },
                RemoteTarget {
                    name: "go-gin".into(),
                    url: "http://b:8080".into()
                },
            ]
        );
        assert_eq!(
            parse_targets("axum"),
            Err(TargetsError::Syntax("axum".into()))
        );
        assert_eq!(
            parse_targets("=http://a"),
            Err(TargetsError::Syntax("=http://a".into()))
        );
        assert_eq!(
            parse_targets("a=http://x:1,a=http://y:2"),
            Err(TargetsError::Duplicate("a".into()))
        );
        assert!(matches!(
            parse_targets("a=https://x"),
            Err(TargetsError::Url { .. })
        ));
        assert!(matches!(
            parse_targets("a=not a url"),
            Err(TargetsError::Url { .. })
        ));
        assert_eq!(parse_targets(" , "), Err(TargetsError::Empty));
    }

    #[test]
    fn an_unreachable_target_fails_its_check_with_the_reason() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let targets = parse_targets(&format!("gone=http://127.0.0.1:{port}")).unwrap();
        let verdicts = verify_all(&targets, Duration::from_secs(1));
        let err = verdicts[0].1.as_ref().unwrap_err();
        assert!(err.to_string().contains("cannot connect"), "{err}");
    }
}
