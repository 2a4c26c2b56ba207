//! Layout 2 of `run.json` (one entry per server, figures computed at run time), read into
//! today's [`RunRecord`] so that the committed reference runs still render. What layout 2 kept
//! carries over as it was: each closed-loop round, the open-loop points (each rate's loads
//! already merged: one sample of [`OpenSample::loads`] loads, with the corrected histogram
//! only), each server's starts, clean exits and peak memory, and its failures.

use serde::Deserialize;
use thiserror::Error;

use super::{
    ClosedSample, CompareSettings, ContenderRecord, FailureRecord, Measurements, OpenSample, Phase,
    RoundResult, RunRecord, ScenarioSweep, VisitRecord,
};
use crate::machine::Environment;

/// A layout-2 run that cannot be read.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct LegacyError(String);

#[derive(Debug, Deserialize)]
struct RunV2 {
    started_at: String,
    finished_at: String,
    partial: bool,
    command: String,
    environment: Environment,
    settings: CompareSettings,
    servers: Vec<ServerV2>,
    sweeps: Vec<ScenarioSweep>,
}

#[derive(Debug, Deserialize)]
struct ServerV2 {
    name: String,
    failures: Vec<String>,
    rss_peak_kib: u64,
    clean_exits: u32,
    rounds_started: u32,
    scenarios: Vec<ScenarioV2>,
}

#[derive(Debug, Deserialize)]
struct ScenarioV2 {
    name: String,
    failures: Vec<String>,
    rounds: Vec<RoundResult>,
    sweep: Vec<PointV2>,
}

#[derive(Debug, Deserialize)]
struct PointV2 {
    label: String,
    target_rate: f64,
    achieved_rate: f64,
    client_lagged: bool,
    rounds: u32,
    histogram: String,
}

/// Reads a layout-2 `run.json` (already parsed) as today's record.
pub fn from_v2(value: serde_json::Value) -> Result<RunRecord, LegacyError> {
    let run: RunV2 = serde_json::from_value(value).map_err(|e| LegacyError(e.to_string()))?;
    let mut measurements = Measurements::default();
    for server in &run.servers {
        add_server(&mut measurements, server, run.settings.rounds);
    }
    let contenders = run
        .servers
        .iter()
        .map(|s| ContenderRecord {
            label: s.name.clone(),
            server: s.name.clone(),
            revision: None,
            commit: None,
            binary: format!("{}/server-{}", run.environment.server_binaries, s.name),
            stderr_log: None,
            remote_url: None,
        })
        .collect();
    Ok(RunRecord {
        schema_version: 2,
        started_at: run.started_at,
        finished_at: run.finished_at,
        partial: run.partial,
        command: run.command,
        environment: run.environment,
        settings: run.settings,
        contenders,
        sweeps: run.sweeps,
        measurements,
        stray_servers: Vec::new(),
        cost: None,
        idle: None,
    })
}

fn add_server(into: &mut Measurements, server: &ServerV2, closed_rounds: u32) {
    let label = &server.name;
    for n in 1..=server.rounds_started {
        let (phase, round) = if n <= closed_rounds {
            (Phase::Closed, n)
        } else {
            (Phase::Sweep, n - closed_rounds)
        };
        into.visits.push(VisitRecord {
            contender: label.clone(),
            phase,
            round,
            started: true,
            clean_exit: n <= server.clean_exits,
            rss_peak_kib: Some(server.rss_peak_kib),
            cpu_method: None,
            memory_peak_kib: None,
        });
    }
    into.failures
        .extend(server.failures.iter().map(|f| failure(label, None, f)));
    for scenario in &server.scenarios {
        let name = scenario.name.as_str();
        into.failures.extend(
            scenario
                .failures
                .iter()
                .map(|f| failure(label, Some(name), f)),
        );
        into.closed
            .extend(scenario.rounds.iter().map(|r| ClosedSample {
                contender: label.clone(),
                scenario: name.to_owned(),
                measure: r.clone(),
            }));
        into.open.extend(scenario.sweep.iter().map(|p| OpenSample {
            contender: label.clone(),
            scenario: name.to_owned(),
            round: 1,
            label: p.label.clone(),
            target_rate: p.target_rate,
            achieved_rate: p.achieved_rate,
            latency: p.histogram.clone(),
            latency_uncorrected: None,
            send_lag: None,
            client_lagged: p.client_lagged,
            loads: p.rounds,
        }));
    }
}

/// A layout-2 failure line (`round 2: …`, `sweep round 1: …`) as a record.
fn failure(contender: &str, scenario: Option<&str>, line: &str) -> FailureRecord {
    let parse = |prefix: &str, phase: Phase| {
        let rest = line.strip_prefix(prefix)?;
        let (round, message) = rest.split_once(": ")?;
        Some((phase, round.parse().ok()?, message.to_owned()))
    };
    let (phase, round, message) = parse("sweep round ", Phase::Sweep)
        .or_else(|| parse("round ", Phase::Closed))
        .unwrap_or((Phase::Closed, 0, line.to_owned()));
    FailureRecord {
        contender: contender.to_owned(),
        phase,
        round,
        scenario: scenario.map(str::to_owned),
        message,
    }
}
