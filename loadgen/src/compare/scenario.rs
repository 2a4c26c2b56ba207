//! The scenarios of a comparison: one route of the contract each, loaded the same way on every
//! server; one of them pipelined, as TechEmpower's plaintext test is.

use bytes::Bytes;
use thiserror::Error;

use crate::target::{Target, TargetError};

/// One kind of request, loaded on every server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// Name, as given to `--scenarios` and shown in results.
    pub name: &'static str,
    /// Request method.
    pub method: &'static str,
    /// Path; `{id}` is replaced by varying u32 ids.
    pub path: &'static str,
    /// JSON request body, if any.
    pub body: Option<&'static str>,
    /// The status every answer must have.
    pub expect_status: u16,
    /// Requests written together on a connection: 1 (one request in flight), or
    /// [`PIPELINE_DEPTH`] for the pipelined scenario.
    pub pipeline: u32,
}

/// Requests per write in the pipelined scenario, as in TechEmpower's plaintext test.
pub const PIPELINE_DEPTH: u32 = 16;

/// Every scenario, in report order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "plaintext",
        method: "GET",
        path: "/",
        body: None,
        expect_status: 200,
        pipeline: 1,
    },
    Scenario {
        name: "pipelined",
        method: "GET",
        path: "/",
        body: None,
        expect_status: 200,
        pipeline: PIPELINE_DEPTH,
    },
    Scenario {
        name: "json",
        method: "GET",
        path: "/json",
        body: None,
        expect_status: 200,
        pipeline: 1,
    },
    Scenario {
        name: "html",
        method: "GET",
        path: "/html",
        body: None,
        expect_status: 200,
        pipeline: 1,
    },
    Scenario {
        name: "users",
        method: "GET",
        path: "/users/{id}",
        body: None,
        expect_status: 200,
        pipeline: 1,
    },
    Scenario {
        name: "echo",
        method: "POST",
        path: "/echo",
        body: Some(r#"{"message":"Hello from the load generator"}"#),
        expect_status: 200,
        pipeline: 1,
    },
    Scenario {
        name: "not-found",
        method: "GET",
        path: "/nope",
        body: None,
        expect_status: 404,
        pipeline: 1,
    },
    Scenario {
        name: "error",
        method: "GET",
        path: "/error",
        body: None,
        expect_status: 500,
        pipeline: 1,
    },
];

/// The scenarios `--quick` runs.
pub const QUICK_SCENARIOS: &[&str] = &["plaintext", "pipelined", "json"];
/// The scenarios swept in the open loop when `--sweep-scenarios` is not given (those of them
/// that run).
pub const DEFAULT_SWEEP: &[&str] = &["plaintext", "json"];
/// The scenarios `--quick` sweeps.
pub const QUICK_SWEEP: &[&str] = &["plaintext"];

/// A name that is not a scenario or a server.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown {what} {name:?}; the {what}s are: {valid}")]
pub struct UnknownName {
    /// "server" or "scenario".
    pub what: &'static str,
    /// What was given.
    pub name: String,
    /// The valid names, comma-separated.
    pub valid: String,
}

impl Scenario {
    /// The name as tables and charts show it: `pipelined ×16` says what the scenario does.
    pub fn label(&self) -> String {
        crate::results::scenario_label(self.name, self.pipeline)
    }

    /// Looks scenarios up by name, keeping the order given.
    pub fn select(names: &[String]) -> Result<Vec<Self>, UnknownName> {
        names
            .iter()
            .map(|name| {
                SCENARIOS
                    .iter()
                    .find(|s| s.name == name)
                    .copied()
                    .ok_or_else(|| UnknownName {
                        what: "scenario",
                        name: name.clone(),
                        valid: SCENARIOS
                            .iter()
                            .map(|s| s.name)
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            })
            .collect()
    }

    /// The requests of this scenario against a server at `base` (`http://host:port`).
    pub fn target(&self, base: &str) -> Result<Target, TargetError> {
        let url = format!("{base}{}", self.path);
        match self.body {
            Some(body) => Target::new(
                &url,
                self.method,
                &[format!("Content-Type: {}", contract::APPLICATION_JSON)],
                Bytes::from_static(body.as_bytes()),
            ),
            None => Target::new(&url, self.method, &[], Bytes::new()),
        }
    }
}

/// Looks servers up by name, keeping the order given.
pub fn select_servers(names: &[String]) -> Result<Vec<&'static contract::ServerInfo>, UnknownName> {
    let mut selected: Vec<&'static contract::ServerInfo> = Vec::new();
    for name in names {
        // A side names every server of one language: `rust` or `go`.
        let side: Vec<_> = contract::SERVERS
            .iter()
            .filter(|s| s.build.language().eq_ignore_ascii_case(name))
            .collect();
        if !side.is_empty() {
            selected.extend(side);
            continue;
        }
        selected.push(contract::server(name).ok_or_else(|| {
            UnknownName {
                what: "server",
                name: name.clone(),
                valid: contract::SERVERS
                    .iter()
                    .map(|s| s.name)
                    .chain(["rust", "go"])
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })?);
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_side_selects_every_server_of_its_language() {
        let names = |given: &[&str]| -> Vec<&str> {
            let given: Vec<String> = given.iter().map(|s| (*s).to_owned()).collect();
            select_servers(&given)
                .unwrap()
                .iter()
                .map(|s| s.name)
                .collect()
        };
        let go = names(&["go"]);
        assert_eq!(go.len(), 6);
        assert!(go.iter().all(|n| n.starts_with("go-")));
        assert_eq!(names(&["rust"]).len(), contract::SERVERS.len() - 6);
        assert_eq!(names(&["axum", "go-gin"]), ["axum", "go-gin"]);
        assert!(select_servers(&["nope".to_owned()]).is_err());
    }

    #[test]
    fn every_scenario_hits_a_route_of_the_contract_with_the_expected_status() {
        let cases = contract::cases();
        for scenario in SCENARIOS {
            let path = scenario.path.replace("{id}", "42");
            let case = cases
                .iter()
                .find(|c| c.path == path && c.method == scenario.method);
            let case = case.unwrap_or_else(|| panic!("no contract case for {}", scenario.name));
            assert_eq!(case.status, scenario.expect_status, "{}", scenario.name);
        }
        let pipelined: Vec<String> = SCENARIOS
            .iter()
            .filter(|s| s.pipeline > 1)
            .map(Scenario::label)
            .collect();
        assert_eq!(pipelined, ["pipelined ×16"]);
        assert!(
            Scenario::select(
                &QUICK_SCENARIOS
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
            )
            .is_ok()
        );
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = Scenario::select(&["json".into(), "jsonn".into()]).unwrap_err();
        assert!(
            err.to_string().contains("plaintext, pipelined, json, html"),
            "{err}"
        );
        let err = select_servers(&["axum".into(), "gin".into()]).unwrap_err();
        assert_eq!(err.name, "gin");
        assert!(
            err.to_string()
                .contains("std, tokio, hyper, axum, actix-web, warp"),
            "{err}"
        );
    }
}
