//! What a cost run measures and with what: the servers, the scenarios, the settings, and the
//! tools found on this machine ([`ToolPaths`]), checked before anything starts.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use contract::Case;
use harness::ServerProcess;
use thiserror::Error;

use super::counters;
use crate::results::cost::{CostSettings, ToolStatus, Tools};
use crate::target::Target;

/// Requests written together in the pipelined scenario, as in compare.
pub use crate::results::PIPELINE_DEPTH;

/// The command that installs valgrind on Debian.
pub const INSTALL_VALGRIND: &str = "apt-get install valgrind";

/// A name that is not a scenario of `loadgen cost`, or a bad `--binary`.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum PlanError {
    /// An unknown scenario.
    #[error("unknown scenario {name:?}; the scenarios are: {valid}")]
    UnknownScenario {
        /// What was given.
        name: String,
        /// The valid names.
        valid: String,
    },
    /// A binary that is not there.
    #[error("no server binary at {} for {name} (build it with `cargo build --release -p server-{name}`, or name one with --binary NAME=PATH)", path.display())]
    NoBinary {
        /// The server.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
    },
}

/// One scenario: a request of the contract, alone or pipelined.
#[derive(Debug, Clone)]
pub struct CostScenario {
    /// Its name: a route's name, or `pipelined`.
    pub name: &'static str,
    /// The request and the answer's status, from the contract.
    pub case: Case,
    /// Requests written together: 1, or [`PIPELINE_DEPTH`].
    pub pipeline: u32,
}

impl CostScenario {
    /// Whether its answers come from the database.
    pub fn reads_database(&self) -> bool {
        DATABASE_SCENARIOS.contains(&self.name)
    }

    /// The name as tables show it (`pipelined ×16`).
    pub fn label(&self) -> String {
        crate::results::scenario_label(self.name, self.pipeline)
    }

    /// The load of this scenario against a server at `addr`, for the load engine.
    pub fn target(&self, addr: SocketAddr) -> Result<Target, crate::target::TargetError> {
        let headers: Vec<String> = self
            .case
            .content_type
            .iter()
            .map(|ct| format!("Content-Type: {ct}"))
            .collect();
        Target::new(
            &format!("http://{addr}{}", self.case.path),
            self.case.method,
            &headers,
            Bytes::from(self.case.body.clone()),
        )
    }
}

/// The database scenarios the cost phase can measure: what one row through the driver and the
/// pool costs, and what the template adds (`/queries` and `/updates` are twenty of the first).
pub const DATABASE_SCENARIOS: &[&str] = &["db", "fortunes"];

/// The names of every scenario, in report order.
pub fn scenario_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = contract::ROUTES.iter().map(|r| r.name).collect();
    names.insert(1, "pipelined");
    names.extend_from_slice(DATABASE_SCENARIOS);
    names
}

/// The request of a database scenario as a case: its answers are random rows, so only the
/// status (200) and the content type are known ahead.
fn database_case(name: &'static str) -> Option<Case> {
    let route = contract::DATABASE_ROUTES.iter().find(|r| r.name == name)?;
    Some(Case {
        name: route.name,
        method: route.method,
        path: route.path.to_owned(),
        content_type: None,
        body: Vec::new(),
        status: 200,
        response_content_type: if name == "fortunes" {
            contract::TEXT_HTML
        } else {
            contract::APPLICATION_JSON
        },
        response_body: Vec::new(),
        content_length: 0,
        allow: None,
        host: contract::HostHeader::One,
        chunked: false,
    })
}

/// The scenarios named (all of them when `names` is empty), in the order given: each route of
/// the contract as its contract case, and `pipelined`, the `plaintext` case ×16.
pub fn scenarios(names: &[String]) -> Result<Vec<CostScenario>, PlanError> {
    let all = scenario_names();
    let names: Vec<String> = if names.is_empty() {
        all.iter().map(|s| (*s).to_owned()).collect()
    } else {
        names.to_vec()
    };
    let cases = contract::cases();
    names
        .iter()
        .map(|name| {
            let unknown = || PlanError::UnknownScenario {
                name: name.clone(),
                valid: all.join(", "),
            };
            let scenario = *all.iter().find(|s| *s == name).ok_or_else(unknown)?;
            let (case_name, pipeline) = match scenario {
                "pipelined" => ("plaintext", PIPELINE_DEPTH),
                route => (route, 1),
            };
            let case = cases
                .iter()
                .find(|c| c.name == case_name)
                .cloned()
                .or_else(|| database_case(scenario))
                .ok_or_else(unknown)?;
            Ok(CostScenario {
                name: scenario,
                case,
                pipeline,
            })
        })
        .collect()
}

/// A server binary to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBinary {
    /// Its name, as results show it.
    pub name: String,
    /// The binary.
    pub path: PathBuf,
}

impl ServerBinary {
    /// `server-<name>` in `dir`, which must exist.
    pub fn in_dir(name: &str, dir: &Path) -> Result<Self, PlanError> {
        let path = dir.join(format!("server-{name}"));
        if !path.is_file() {
            return Err(PlanError::NoBinary {
                name: name.to_owned(),
                path,
            });
        }
        Ok(Self {
            name: name.to_owned(),
            path,
        })
    }
}

/// A tool that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ToolMissing {
    /// No valgrind (or no vgdb) in `PATH`.
    #[error("valgrind is not installed (no valgrind and vgdb in PATH): `{INSTALL_VALGRIND}`")]
    Valgrind,
    /// The kernel's counters cannot be opened: what the kernel said.
    #[error("{0}")]
    PerfEvents(String),
}

/// A server that did not start or print its ready line: what its start said.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct NotStarted(pub String);

/// The tools, where they were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPaths {
    /// valgrind and vgdb, or why they cannot be used.
    pub valgrind: Result<(PathBuf, PathBuf), ToolMissing>,
    /// Whether the kernel's counters can be opened (and what they follow), or why not.
    pub perf_events: Result<&'static str, ToolMissing>,
}

impl ToolPaths {
    /// Looks for valgrind and vgdb in the directories of `path` (a `PATH`-like list) and tries
    /// the kernel's counters.
    pub fn detect(path: Option<&OsStr>) -> Self {
        let valgrind = find_in_path("valgrind", path)
            .zip(find_in_path("vgdb", path))
            .ok_or(ToolMissing::Valgrind);
        Self {
            valgrind,
            perf_events: counters::probe().map_err(|e| ToolMissing::PerfEvents(e.to_string())),
        }
    }

    /// What was found, for the results.
    pub fn status(&self) -> Tools {
        let valgrind = match &self.valgrind {
            Ok((valgrind, _)) => ToolStatus::Available(version_of(valgrind)),
            Err(reason) => ToolStatus::Missing(reason.to_string()),
        };
        let perf_events = match &self.perf_events {
            Ok(scope) => ToolStatus::Available(format!(
                "perf_event_open on Linux {}, counting {scope}",
                kernel_release()
            )),
            Err(reason) => ToolStatus::Missing(reason.to_string()),
        };
        Tools {
            valgrind,
            perf_events,
        }
    }
}

/// The first executable `name` in the directories of `path`.
pub fn find_in_path(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|file| {
            file.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn version_of(valgrind: &Path) -> String {
    Command::new(valgrind)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Everything a cost run needs.
#[derive(Debug, Clone)]
pub struct CostPlan {
    /// The servers, in order.
    pub servers: Vec<ServerBinary>,
    /// The scenarios, in order.
    pub scenarios: Vec<CostScenario>,
    /// Counts, connections, repeats, CPUs.
    pub settings: CostSettings,
    /// The tools.
    pub tools: ToolPaths,
    /// Where the tools' files go while they are read.
    pub work_dir: PathBuf,
    /// The database URL every server gets, when the database scenarios are measured.
    pub database_url: Option<String>,
}

impl CostPlan {
    fn server_args(&self) -> Vec<String> {
        let mut args = vec![
            "--addr".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--threads".to_owned(),
            self.settings.server_threads.to_string(),
        ];
        if let Some(url) = &self.database_url {
            args.extend(["--database-url".to_owned(), url.clone()]);
        }
        args
    }

    /// Whether any scenario reads the database.
    pub fn needs_database(&self) -> bool {
        self.scenarios.iter().any(CostScenario::reads_database)
    }

    /// The port of the database, when it runs on this machine ([`super::backends::local_port`]).
    pub fn local_database_port(&self) -> Option<u16> {
        self.database_url
            .as_deref()
            .and_then(super::backends::local_port)
    }

    /// Starts `server` through `launcher` (`taskset`, a valgrind command line, or nothing)
    /// and waits up to `timeout` for its ready line.
    pub(super) fn start(
        &self,
        server: &ServerBinary,
        launcher: Vec<String>,
        timeout: Duration,
    ) -> Result<ServerProcess, NotStarted> {
        ServerProcess::spawn(
            &server.name,
            &server.path,
            &self.server_args(),
            &launcher,
            timeout,
        )
        .map_err(|e| NotStarted(e.to_string()))
    }
}

/// Checks `args` and makes the plan: the binaries must exist, the names be known.
pub fn make_plan(
    args: &crate::cli::CostArgs,
    tools: ToolPaths,
    work_dir: &Path,
) -> anyhow::Result<CostPlan> {
    use anyhow::Context as _;
    let bin_dir = match &args.server_bin_dir {
        Some(dir) => dir.clone(),
        None => crate::workspace::cargo_target_dir().join("release"),
    };
    let names: Vec<String> = if args.servers.is_empty() && args.binary.is_empty() {
        contract::SERVERS
            .iter()
            .map(|s| s.name.to_owned())
            .collect()
    } else {
        args.servers.clone()
    };
    let mut servers = names
        .iter()
        .map(|name| {
            let info = crate::workspace::find_server(name)?;
            Ok(ServerBinary::in_dir(info.name, &bin_dir)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for binary in &args.binary {
        let (name, path) = binary
            .split_once('=')
            .with_context(|| format!("--binary {binary:?} is not NAME=PATH"))?;
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(PlanError::NoBinary {
                name: name.to_owned(),
                path,
            }
            .into());
        }
        servers.push(ServerBinary {
            name: name.to_owned(),
            path,
        });
    }
    let cpus = crate::machine::CpuSplit::halves(&crate::machine::available_cpus());
    Ok(CostPlan {
        servers,
        scenarios: scenarios(&args.scenarios)?,
        settings: CostSettings {
            callgrind_requests: args.requests,
            dhat_requests: args.dhat_requests,
            load_requests: args.load_requests,
            connections: args.connections,
            warmup_requests: args.warmup_requests,
            repeat: args.repeat,
            server_threads: args.threads,
            cpus,
        },
        tools,
        work_dir: work_dir.to_owned(),
        database_url: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_a_scenario_and_one_is_pipelined() {
        let all = scenarios(&[]).unwrap();
        let names: Vec<&str> = all.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "plaintext",
                "pipelined",
                "json",
                "html",
                "users",
                "echo",
                "error",
                "db",
                "fortunes"
            ]
        );
        let labels: Vec<String> = all.iter().map(CostScenario::label).collect();
        assert_eq!(labels[1], "pipelined ×16");
        assert_eq!(all[5].case.method, "POST");
        let err = scenarios(&["json".into(), "jsonn".into()]).unwrap_err();
        assert!(
            err.to_string().contains("plaintext, pipelined, json"),
            "{err}"
        );
    }

    #[test]
    fn a_path_without_valgrind_names_the_install_command() {
        let dir = tempfile::tempdir().unwrap();
        let tools = ToolPaths::detect(Some(dir.path().as_os_str()));
        let reason = tools.valgrind.unwrap_err();
        assert!(reason.to_string().contains(INSTALL_VALGRIND), "{reason}");
        assert_eq!(find_in_path("valgrind", None), None);
        let status = ToolPaths {
            valgrind: Err(reason),
            perf_events: Ok(counters::CGROUP_SCOPE),
        }
        .status();
        assert!(status.valgrind.missing().is_some());
        assert!(status.perf_events.missing().is_none());
    }
}
