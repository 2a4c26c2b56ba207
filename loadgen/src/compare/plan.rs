//! The plan of a comparison, checked before any server starts: which servers and scenarios, how
//! long each load lasts, where the servers' binaries are, and, once the closed-loop maxima are
//! known, the open-loop rates every server is given.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};

use super::scenario::{
    DEFAULT_SWEEP, QUICK_SCENARIOS, QUICK_SWEEP, SCENARIOS, Scenario, select_servers,
};
use crate::cli::CompareArgs;
use crate::machine::{self, CpuSplit, available_cpus, parse_cpu_list};
use crate::results::{CompareSettings, PlannedRate, ScenarioSweep};

/// The sweep's rates when `--rates` is not given: shares of the slowest server's maximum.
pub const DEFAULT_RATES: &[&str] = &["10%", "25%", "50%", "75%", "90%"];
/// The sweep's rates with `--quick`.
pub const QUICK_RATES: &[&str] = &["25%", "50%", "75%"];

/// An open-loop rate of the sweep: absolute, or a share of the slowest server's closed-loop
/// maximum, so that every server is given the same rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Requests per second.
    PerSecond(f64),
    /// A fraction (0 to 1) of the lowest median closed-loop maximum of the servers.
    OfSlowest(f64),
}

impl Rate {
    /// Parses `5000` or `50%`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || {
            format!(
                "{text:?} is not a rate: give requests per second (5000) or a share of the slowest server's maximum (50%)"
            )
        };
        match text.strip_suffix('%') {
            Some(share) => {
                let share: f64 = share.trim().parse().map_err(|_| bad())?;
                if share > 0.0 && share <= 100.0 {
                    Ok(Self::OfSlowest(share / 100.0))
                } else {
                    Err(bad())
                }
            }
            None => {
                let rate: f64 = text.parse().map_err(|_| bad())?;
                if rate > 0.0 && rate.is_finite() {
                    Ok(Self::PerSecond(rate))
                } else {
                    Err(bad())
                }
            }
        }
    }
}

/// Everything a comparison needs, checked before any server starts.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The servers, in the order asked for.
    pub servers: Vec<&'static contract::ServerInfo>,
    /// The scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// The sweep's rates, with their labels.
    pub rates: Vec<(String, Rate)>,
    /// Indices into `scenarios` of the scenarios swept.
    pub swept: Vec<usize>,
    /// The settings as recorded.
    pub settings: CompareSettings,
    /// Measured time of each closed-loop load.
    pub duration: Duration,
    /// Load on a freshly started server before its first scenario.
    pub warmup: Duration,
    /// Unrecorded load before each scenario.
    pub scenario_warmup: Duration,
    /// Measured time of each open-loop load.
    pub sweep_duration: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Where the `server-<name>` binaries are.
    pub bin_dir: PathBuf,
    /// Build them with cargo into [`Self::target_dir`] first.
    pub build: bool,
    /// Cargo's target folder (when building).
    pub target_dir: PathBuf,
    /// The results folder.
    pub out: PathBuf,
}

impl Plan {
    /// The binary of `server`.
    pub fn binary(&self, server: &str) -> PathBuf {
        self.bin_dir.join(format!("server-{server}"))
    }

    /// Seconds of load in one closed-loop round of one server.
    pub fn closed_round_seconds(&self) -> f64 {
        self.warmup.as_secs_f64()
            + (self.scenario_warmup + self.duration).as_secs_f64() * self.scenarios.len() as f64
    }

    /// Seconds of one open-loop load of the sweep, its unrecorded start included.
    pub fn rate_load_seconds(&self) -> f64 {
        (self.sweep_duration + super::round::OPEN_LOOP_WARMUP).as_secs_f64()
    }

    /// Seconds of load in one sweep round of one server.
    pub fn sweep_round_seconds(&self) -> f64 {
        if self.swept.is_empty() || self.rates.is_empty() {
            return 0.0;
        }
        self.warmup.as_secs_f64()
            + (self.scenario_warmup.as_secs_f64()
                + self.rate_load_seconds() * self.rates.len() as f64)
                * self.swept.len() as f64
    }

    /// Seconds of load in the whole run, for the progress bar.
    pub fn total_seconds(&self) -> f64 {
        self.servers.len() as f64
            * (self.closed_round_seconds() * f64::from(self.settings.rounds)
                + self.sweep_round_seconds() * f64::from(self.settings.sweep_rounds))
    }
}

/// The workspace this load generator was built from.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Cargo's target folder, where the servers' release binaries go: `CARGO_TARGET_DIR` when it
/// is set (relative to `cwd`, as cargo reads it), else the target folder the running load
/// generator `exe` sits in (`target/<profile>/loadgen`, or `target/<profile>/deps/…` in tests),
/// else `workspace/target`.
pub fn target_dir(
    cargo_target_dir: Option<&OsStr>,
    cwd: &Path,
    exe: &Path,
    workspace: &Path,
) -> PathBuf {
    if let Some(dir) = cargo_target_dir.filter(|d| !d.is_empty()) {
        return cwd.join(dir);
    }
    let mut profile = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if profile.ends_with("deps") {
        profile.pop();
    }
    // Cargo marks every target folder with CACHEDIR.TAG; an installed binary has none above it.
    match profile.parent() {
        Some(target) if target.join("CACHEDIR.TAG").is_file() => target.to_path_buf(),
        _ => workspace.join("target"),
    }
}

/// Rounds `rate` to two significant digits: 43,217 → 43,000; 987 → 990.
pub fn round_rate(rate: f64) -> f64 {
    if rate <= 0.0 || !rate.is_finite() {
        return 0.0;
    }
    let step = 10f64.powf(rate.log10().floor() - 1.0);
    ((rate / step).round() * step).max(1.0)
}

/// The sweep of `scenario` from each server's median closed-loop maximum (`None` for a server
/// that was not measured): every rate the same for all servers, lowest first, shares taken of
/// the slowest server's maximum; the headline rate is the middle one. `None` when no server
/// was measured.
pub fn plan_sweep(
    scenario: &str,
    rates: &[(String, Rate)],
    maxima: &[(&str, Option<f64>)],
) -> Option<ScenarioSweep> {
    let (slowest, slowest_rps) = maxima
        .iter()
        .filter_map(|(name, max)| max.filter(|m| *m > 0.0).map(|m| (*name, m)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let mut planned: Vec<PlannedRate> = rates
        .iter()
        .map(|(label, rate)| PlannedRate {
            label: label.clone(),
            rate: round_rate(match rate {
                Rate::PerSecond(r) => *r,
                Rate::OfSlowest(share) => share * slowest_rps,
            }),
        })
        .collect();
    planned.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    if planned.is_empty() {
        return None;
    }
    Some(ScenarioSweep {
        scenario: scenario.to_owned(),
        slowest_server: slowest.to_owned(),
        slowest_rps,
        headline: planned.len() / 2,
        rates: planned,
    })
}

/// Every server that can be built here: all of them, less the Go servers when Go is not
/// installed (said in one line).
fn default_servers() -> Vec<&'static str> {
    conformance::runnable_servers()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// Checks `args` and makes the plan; `started_at` names the default results folder.
pub fn make_plan(args: &CompareArgs, started_at: &str) -> Result<Plan> {
    let names = |given: &[String], default: Vec<&str>| -> Vec<String> {
        if given.is_empty() {
            default.into_iter().map(str::to_owned).collect()
        } else {
            given.to_vec()
        }
    };
    let servers = select_servers(&names(&args.servers, default_servers()))?;
    let default_scenarios = if args.quick {
        QUICK_SCENARIOS.to_vec()
    } else {
        SCENARIOS.iter().map(|s| s.name).collect()
    };
    let scenarios = Scenario::select(&names(&args.scenarios, default_scenarios))?;
    let rate_texts = names(
        &args.rates,
        if args.quick {
            QUICK_RATES
        } else {
            DEFAULT_RATES
        }
        .to_vec(),
    );
    let rates = if args.no_sweep {
        Vec::new()
    } else {
        rate_texts
            .iter()
            .map(|text| {
                Rate::parse(text)
                    .map(|rate| (text.trim().to_owned(), rate))
                    .map_err(anyhow::Error::msg)
            })
            .collect::<Result<Vec<_>>>()?
    };
    let swept = swept_scenarios(args, &scenarios)?;
    let cpus = match (&args.server_cpus, &args.client_cpus) {
        (Some(server), Some(client)) => CpuSplit::given(
            parse_cpu_list(server).map_err(anyhow::Error::msg)?,
            parse_cpu_list(client).map_err(anyhow::Error::msg)?,
        )
        .map_err(anyhow::Error::msg)?,
        _ => CpuSplit::halves(&available_cpus()),
    };
    let client_threads = u32::try_from(cpus.client.len()).unwrap_or(1).max(1);
    if args.connections < client_threads {
        bail!(
            "{} connections cannot be spread over {client_threads} load threads: give -c {client_threads} or more",
            args.connections
        );
    }
    let pick = |given: Option<Duration>, normal: u64, quick: u64| {
        given.unwrap_or(Duration::from_millis(if args.quick {
            quick
        } else {
            normal
        }))
    };
    // Many short rounds rather than a few long ones: on the shared VM the slow spells last
    // seconds, longer than one load, so more rounds help the median more than longer loads do;
    // with 7 rounds its interval is the range of the rounds (about 98 %). Sixteen servers (the
    // ten Rust ones and the six Go ones) then take about 11 minutes of load on 2 cores (10
    // rounds, as for the ten alone, would take about 14); --quick under two minutes.
    let duration = pick(args.duration, 350, 300);
    let warmup = pick(args.warmup, 200, 150);
    let scenario_warmup = pick(args.scenario_warmup, 100, 100);
    let sweep_duration = pick(args.sweep_duration, 600, 300);
    let rounds = args.rounds.unwrap_or(if args.quick { 2 } else { 7 });
    let sweep_rounds = if rates.is_empty() || swept.is_empty() {
        0
    } else {
        args.sweep_rounds.unwrap_or(if args.quick { 1 } else { 2 })
    };
    let workspace = workspace_root();
    let target = target_dir(
        std::env::var_os("CARGO_TARGET_DIR").as_deref(),
        &std::env::current_dir().unwrap_or_default(),
        &std::env::current_exe().unwrap_or_default(),
        &workspace,
    );
    let (bin_dir, build) = match &args.server_bin_dir {
        Some(dir) => (dir.clone(), false),
        None => (target.join("release"), true),
    };
    if !build {
        for server in &servers {
            let binary = bin_dir.join(format!("server-{}", server.name));
            if !binary.is_file() {
                bail!(
                    "there is no server-{} in {} (build it with `cargo build --release -p server-{}`, or drop --server-bin-dir to let compare build release binaries)",
                    server.name,
                    bin_dir.display(),
                    server.name
                );
            }
        }
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None => {
            let results = if workspace.join("results").is_dir() {
                workspace.join("results")
            } else {
                PathBuf::from("results")
            };
            results.join(format!(
                "{}-{}",
                started_at.replace(':', "-"),
                machine::hostname()
            ))
        }
    };
    let settings = CompareSettings {
        servers: servers.iter().map(|s| s.name.to_owned()).collect(),
        scenarios: scenarios.iter().map(|s| s.name.to_owned()).collect(),
        pipeline_depth: super::scenario::PIPELINE_DEPTH,
        connections: args.connections,
        duration_s: duration.as_secs_f64(),
        warmup_s: warmup.as_secs_f64(),
        scenario_warmup_s: scenario_warmup.as_secs_f64(),
        rounds,
        rates: rates.iter().map(|(label, _)| label.clone()).collect(),
        sweep_scenarios: swept
            .iter()
            .map(|&i| scenarios[i].name.to_owned())
            .collect(),
        sweep_rounds,
        sweep_duration_s: sweep_duration.as_secs_f64(),
        server_threads: cpus.server.len().max(1),
        client_threads,
        cpus,
        engine: "h1".to_owned(),
        timeout_s: args.timeout.as_secs_f64(),
        quick: args.quick,
    };
    Ok(Plan {
        servers,
        scenarios,
        rates,
        swept,
        settings,
        duration,
        warmup,
        scenario_warmup,
        sweep_duration,
        timeout: args.timeout,
        bin_dir,
        build,
        target_dir: target,
        out,
    })
}

/// Indices of the scenarios to sweep: `--sweep-scenarios`, or those of [`DEFAULT_SWEEP`] (with
/// `--quick`, [`QUICK_SWEEP`]) that run, or else the first scenario that is not pipelined.
fn swept_scenarios(args: &CompareArgs, scenarios: &[Scenario]) -> Result<Vec<usize>> {
    if args.no_sweep {
        return Ok(Vec::new());
    }
    let position = |name: &str| scenarios.iter().position(|s| s.name == name);
    if !args.sweep_scenarios.is_empty() {
        return args
            .sweep_scenarios
            .iter()
            .map(|name| {
                let Some(i) = position(name) else {
                    bail!("--sweep-scenarios names {name:?}, which is not among the scenarios run");
                };
                if scenarios[i].pipeline > 1 {
                    bail!(
                        "the {name} scenario cannot be swept: the open loop times single requests, and a pipelined batch is not one"
                    );
                }
                Ok(i)
            })
            .collect();
    }
    let wanted = if args.quick {
        QUICK_SWEEP
    } else {
        DEFAULT_SWEEP
    };
    let default: Vec<usize> = wanted.iter().filter_map(|n| position(n)).collect();
    Ok(if default.is_empty() {
        scenarios
            .iter()
            .position(|s| s.pipeline == 1)
            .into_iter()
            .collect()
    } else {
        default
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_absolute_or_share() {
        assert_eq!(Rate::parse("5000"), Ok(Rate::PerSecond(5000.0)));
        assert_eq!(Rate::parse(" 50% "), Ok(Rate::OfSlowest(0.5)));
        assert!(Rate::parse("0").is_err());
        assert!(Rate::parse("150%").is_err());
        assert!(Rate::parse("fast").is_err());
    }

    #[test]
    fn rates_round_to_two_significant_digits() {
        assert_eq!(round_rate(43_217.0), 43_000.0);
        assert_eq!(round_rate(987.0), 990.0);
        assert_eq!(round_rate(15.4), 15.0);
        assert_eq!(round_rate(0.0), 0.0);
    }

    #[test]
    fn the_sweep_gives_every_server_the_same_rates_from_the_slowest_maximum() {
        let rates: Vec<(String, Rate)> = ["50%", "10%", "90%", "2000"]
            .iter()
            .map(|t| (t.to_string(), Rate::parse(t).unwrap()))
            .collect();
        let maxima = [
            ("hyper", Some(171_000.0)),
            ("std", Some(86_400.0)),
            ("warp", None),
            ("axum", Some(0.0)),
        ];
        let sweep = plan_sweep("json", &rates, &maxima).unwrap();
        assert_eq!(sweep.slowest_server, "std");
        assert_eq!(sweep.slowest_rps, 86_400.0);
        let planned: Vec<(&str, f64)> = sweep
            .rates
            .iter()
            .map(|r| (r.label.as_str(), r.rate))
            .collect();
        assert_eq!(
            planned,
            [
                ("2000", 2_000.0),
                ("10%", 8_600.0),
                ("50%", 43_000.0),
                ("90%", 78_000.0)
            ]
        );
        assert_eq!(sweep.headline_rate().unwrap().label, "50%");
        assert!(plan_sweep("json", &rates, &[("std", None)]).is_none());
        assert!(plan_sweep("json", &[], &maxima).is_none());
    }

    #[test]
    fn server_binaries_are_found_where_cargo_puts_them() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::create_dir_all(target.join("release/deps")).unwrap();
        std::fs::write(
            target.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .unwrap();
        let workspace = dir.path().join("ws");
        let cwd = dir.path().join("somewhere");
        // Without CARGO_TARGET_DIR: the target folder of the running binary, tests included.
        let exe = target.join("release/loadgen");
        assert_eq!(target_dir(None, &cwd, &exe, &workspace), target);
        let test_exe = target.join("release/deps/loadgen-0123abcd");
        assert_eq!(target_dir(None, &cwd, &test_exe, &workspace), target);
        // Installed elsewhere: the workspace's own target folder.
        let installed = dir.path().join("bin/loadgen");
        assert_eq!(
            target_dir(None, &cwd, &installed, &workspace),
            workspace.join("target")
        );
        // With CARGO_TARGET_DIR, absolute or relative to where cargo ran.
        let elsewhere = dir.path().join("shared-target");
        assert_eq!(
            target_dir(Some(elsewhere.as_os_str()), &cwd, &exe, &workspace),
            elsewhere
        );
        assert_eq!(
            target_dir(Some(OsStr::new("tgt")), &cwd, &exe, &workspace),
            cwd.join("tgt")
        );
        assert_eq!(
            target_dir(Some(OsStr::new("")), &cwd, &exe, &workspace),
            target
        );
    }
}
