//! The scenarios of a comparison: one per route of [`contract::ROUTES`], loaded the same way on
//! every contender; the plaintext route also pipelined, as TechEmpower's plaintext test is, and
//! a path that no route matches.

use bytes::Bytes;

use crate::results::PIPELINED;
use crate::target::{Target, TargetError};
pub use crate::workspace::UnknownName;

/// One kind of request, loaded on every contender.
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

pub use crate::results::PIPELINE_DEPTH;

/// The body `POST /echo` sends.
const ECHO_BODY: &str = r#"{"message":"Hello from the load generator"}"#;

/// The request that no route of the contract matches.
const NOT_FOUND: Scenario = Scenario {
    name: "not-found",
    method: "GET",
    path: "/nope",
    body: None,
    expect_status: 404,
    pipeline: 1,
};

impl Scenario {
    /// The scenario of one route of the contract: its method and path, the status its
    /// conformance case expects, a body when the route takes one.
    fn of_route(route: &'static contract::Route) -> Self {
        Self {
            name: route.name,
            method: route.method,
            path: route.path,
            body: (route.method == "POST").then_some(ECHO_BODY),
            expect_status: route.status(),
            pipeline: 1,
        }
    }
}

/// TechEmpower's four database tests, on the routes of [`contract::DATABASE_ROUTES`]: one row,
/// twenty rows read one by one, the fortunes page, and twenty rows read and written back (q=20,
/// the count TechEmpower's tables are most often quoted at).
pub const DATABASE: &[Scenario] = &[
    Scenario {
        name: "db",
        method: "GET",
        path: "/db",
        body: None,
        expect_status: 200,
        pipeline: 1,
    },
    Scenario {
        name: "queries",
        method: "GET",
        path: "/queries?q=20",
        body: None,
        expect_status: 200,
        pipeline: 1,
    },
    Scenario {
        name: "fortunes",
        method: "GET",
        path: "/fortunes",
        body: None,
        expect_status: 200,
        pipeline: 1,
    },
    Scenario {
        name: "updates",
        method: "GET",
        path: "/updates?q=20",
        body: None,
        expect_status: 200,
        pipeline: 1,
    },
];

impl Scenario {
    /// Whether it reads the database (one of [`DATABASE`]).
    pub fn needs_database(&self) -> bool {
        DATABASE.iter().any(|s| s.name == self.name)
    }
}

/// Every scenario, in report order: each route of [`contract::ROUTES`], the plaintext route
/// pipelined right after it, a path no route matches, then the [`DATABASE`] scenarios.
pub fn all() -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    for route in contract::ROUTES {
        let scenario = Scenario::of_route(route);
        scenarios.push(scenario);
        if route.name == "plaintext" {
            scenarios.push(Scenario {
                name: PIPELINED,
                pipeline: PIPELINE_DEPTH,
                ..scenario
            });
        }
    }
    scenarios.push(NOT_FOUND);
    scenarios.extend_from_slice(DATABASE);
    scenarios
}

/// The scenarios a default comparison runs: TechEmpower's six tests (plaintext pipelined, json,
/// db, queries, fortunes, updates) and plaintext one request at a time. The contract's other
/// routes (html, users, echo, error, not-found) run when `--scenarios` names them: with them,
/// sixteen servers took 21 min 52 s on 2 cores on 2026-12-03, past the 15-minute budget. What
/// they measure (a path parameter, a JSON body, an error and a 404 answered) is traded for the
/// budget; they are one `--scenarios` away, and the conformance suite still checks them all.
pub const DEFAULT_SCENARIOS: &[&str] = &[
    "plaintext",
    PIPELINED,
    "json",
    "db",
    "queries",
    "fortunes",
    "updates",
];

/// The scenarios `--quick` runs.
pub const QUICK_SCENARIOS: &[&str] = &["plaintext", PIPELINED, "json", "db"];
/// The scenarios swept in the open loop when `--sweep-scenarios` is not given (those of them
/// that run).
pub const DEFAULT_SWEEP: &[&str] = &["plaintext", "json"];
/// The scenarios `--quick` sweeps.
pub const QUICK_SWEEP: &[&str] = &["plaintext"];

impl Scenario {
    /// The name as tables and charts show it: `pipelined ×16` says what the scenario does.
    pub fn label(&self) -> String {
        crate::results::scenario_label(self.name, self.pipeline)
    }

    /// Looks scenarios up by name, keeping the order given.
    pub fn select(names: &[String]) -> Result<Vec<Self>, UnknownName> {
        let all = all();
        names
            .iter()
            .map(|name| {
                all.iter()
                    .find(|s| s.name == name)
                    .copied()
                    .ok_or_else(|| UnknownName {
                        what: "scenario",
                        name: name.clone(),
                        valid: all.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_hits_a_route_of_the_contract_with_the_expected_status() {
        let cases = contract::cases();
        for scenario in all().iter().filter(|s| !s.needs_database()) {
            let path = scenario.path.replace("{id}", "42");
            let case = cases
                .iter()
                .find(|c| c.path == path && c.method == scenario.method);
            let case = case.unwrap_or_else(|| panic!("no contract case for {}", scenario.name));
            assert_eq!(case.status, scenario.expect_status, "{}", scenario.name);
        }
        let pipelined: Vec<String> = all()
            .iter()
            .filter(|s| s.pipeline > 1)
            .map(Scenario::label)
            .collect();
        assert_eq!(pipelined, ["pipelined ×16"]);
        // Each database scenario loads a database route of the contract.
        for scenario in DATABASE {
            let path = scenario.path.split('?').next().unwrap_or_default();
            assert!(
                contract::DATABASE_ROUTES
                    .iter()
                    .any(|r| r.path == path && r.name == scenario.name),
                "{}",
                scenario.name
            );
        }
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
        let err = crate::workspace::find_server("gin").unwrap_err();
        assert_eq!(err.name, "gin");
        assert!(
            err.to_string()
                .contains("std, tokio, hyper, axum, actix-web, warp"),
            "{err}"
        );
    }
}
