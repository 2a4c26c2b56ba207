//! The result of `loadgen run` as data ([`RunReport`], what `--json` writes and `merge` reads);
//! `report::RunText` renders it as the text a person reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::engine::EngineKind;
use crate::load::{LoadOutcome, LoadSpec, Stop};
use crate::stats::CLIENT_LAG_BOUND_US;
use crate::stats::{ErrorKind, HistogramError, LatencyHistogram, LatencySummary};

/// Version of the JSON layout of [`RunReport`].
pub const RUN_SCHEMA_VERSION: u32 = 1;
/// An open-loop run that reaches less than this share of its target rate gets a warning.
pub const RATE_SHORTFALL: f64 = 0.95;

/// The settings a run was made with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// The URL (with `{id}` if it varied ids).
    pub url: String,
    /// Request method.
    pub method: String,
    /// Which client.
    pub engine: EngineKind,
    /// Connections.
    pub connections: u32,
    /// Load threads.
    pub threads: u32,
    /// Measured duration asked for, in seconds (timed runs).
    pub duration_s: Option<f64>,
    /// Requests asked for (`-n` runs).
    pub requests: Option<u64>,
    /// Open-loop target rate, requests per second.
    pub rate: Option<f64>,
    /// Requests written together per connection (1: no pipelining).
    #[serde(default = "one")]
    pub pipeline: u32,
    /// Warmup, seconds.
    pub warmup_s: f64,
    /// Per-request timeout, seconds.
    pub timeout_s: f64,
    /// HTTP/2.
    pub http2: bool,
}

impl RunSettings {
    /// The settings of `spec`, with the URL as the user gave it.
    pub fn of(spec: &LoadSpec, url: &str) -> Self {
        Self {
            url: url.to_owned(),
            method: spec.target.method.to_string(),
            engine: spec.engine,
            connections: spec.connections,
            threads: spec.threads,
            duration_s: match spec.stop {
                Stop::After(d) => Some(d.as_secs_f64()),
                Stop::Requests(_) => None,
            },
            requests: match spec.stop {
                Stop::Requests(n) => Some(n),
                Stop::After(_) => None,
            },
            rate: spec.rate,
            pipeline: spec.pipeline,
            warmup_s: spec.warmup.as_secs_f64(),
            timeout_s: spec.timeout.as_secs_f64(),
            http2: spec.http2,
        }
    }
}

/// Everything a run measured, as written by `--json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Layout version ([`RUN_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// How the run was made; absent in a merge of runs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub settings: Option<RunSettings>,
    /// The files a merge was made from.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub merged_from: Vec<String>,
    /// Requests sent while measuring: answers plus failures.
    pub requests: u64,
    /// Answers received, whatever their status.
    pub responses: u64,
    /// Measured time, seconds.
    pub duration_s: f64,
    /// Answers per second.
    pub rps: f64,
    /// Latency in µs: from the due time in an open-loop run (coordinated omission corrected),
    /// from the send otherwise.
    pub latency_us: LatencySummary,
    /// Open loop only: latency in µs from the actual send.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_uncorrected_us: Option<LatencySummary>,
    /// Answers per status code.
    #[serde(deserialize_with = "status_codes")]
    pub status: BTreeMap<u16, u64>,
    /// Failures per kind (refused, reset, timeout, other).
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Body bytes read.
    pub body_bytes: u64,
    /// How busy each load thread was (CPU time / wall time).
    pub client_cpu: Vec<f64>,
    /// The share of the time each load thread was ready to run but waited for a CPU.
    #[serde(default)]
    pub client_waited: Vec<f64>,
    /// The client set the pace (a busy load thread or, by Little's law, connections waiting in
    /// the client in the closed loop; a send lag over its bound in the open loop): the figures
    /// are a lower bound for the server.
    pub client_bound: bool,
    /// Closed loop: the share of each connection's time spent between an answer and its next
    /// request, by Little's law (`1 - throughput × mean latency ÷ requests in flight`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_turnaround: Option<f64>,
    /// Open loop only: how late requests left, in µs, counted from when each was both due and
    /// free to go (its connection was not still waiting for an earlier answer).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub send_lag_us: Option<LatencySummary>,
    /// Open loop only: the send lag's p99 is over the bound ([`CLIENT_LAG_BOUND_US`]), so the
    /// client, not the server, made requests late.
    #[serde(default)]
    pub client_lagged: bool,
    /// Connections opened again after a close or an error.
    #[serde(default)]
    pub reconnects: u64,
    /// Stopped early (Ctrl-C): what was measured so far.
    pub partial: bool,
    /// Open loop: requests sent per second, to set against the target rate.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub achieved_rate: Option<f64>,
    /// The latency histogram (HdrHistogram V2, base64).
    pub histogram: String,
    /// Open loop only: the uncorrected latency histogram (HdrHistogram V2, base64).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub histogram_uncorrected: Option<String>,
    /// Open loop only: the send-lag histogram (HdrHistogram V2, base64).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub histogram_send_lag: Option<String>,
}

fn one() -> u32 {
    1
}

/// Reports that cannot be merged.
#[derive(Debug, Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("nothing to merge")]
    Empty,
    /// A histogram is unreadable.
    #[error("{file}: {source}")]
    Histogram {
        /// The report's file.
        file: String,
        /// Why.
        source: HistogramError,
    },
    /// Written by another version of the layout.
    #[error("{file}: schema version {found}, this loadgen reads {RUN_SCHEMA_VERSION}")]
    Schema {
        /// The report's file.
        file: String,
        /// What it says.
        found: u32,
    },
}

impl RunReport {
    /// The report of a load.
    pub fn new(settings: RunSettings, outcome: &LoadOutcome) -> Self {
        let tally = &outcome.tally;
        let open_loop = settings.rate.is_some();
        let duration_s = outcome.duration.as_secs_f64();
        let requests = tally.responses() + tally.failures();
        Self {
            schema_version: RUN_SCHEMA_VERSION,
            settings: Some(settings),
            merged_from: Vec::new(),
            requests,
            responses: tally.responses(),
            duration_s,
            rps: outcome.rps(),
            latency_us: tally.latency.summary(),
            latency_uncorrected_us: open_loop.then(|| tally.latency_uncorrected.summary()),
            status: tally.status.clone(),
            // Every kind, zero or not, so that readers of the JSON find all four keys.
            errors: ErrorKind::ALL
                .iter()
                .map(|&kind| (kind, tally.errors.get(&kind).copied().unwrap_or(0)))
                .collect(),
            body_bytes: tally.body_bytes,
            client_cpu: outcome.client_cpu.clone(),
            client_waited: outcome.client_waited.clone(),
            client_bound: outcome.client_bound(),
            client_turnaround: outcome.turnaround(),
            send_lag_us: open_loop.then(|| tally.send_lag.summary()),
            client_lagged: outcome.client_lagged(),
            reconnects: tally.reconnects,
            partial: outcome.partial,
            achieved_rate: open_loop.then(|| {
                if duration_s > 0.0 {
                    requests as f64 / duration_s
                } else {
                    0.0
                }
            }),
            histogram: tally.latency.to_base64(),
            histogram_uncorrected: open_loop.then(|| tally.latency_uncorrected.to_base64()),
            histogram_send_lag: open_loop.then(|| tally.send_lag.to_base64()),
        }
    }

    /// The latency histogram, decoded.
    pub fn latency_histogram(&self) -> Result<LatencyHistogram, HistogramError> {
        LatencyHistogram::from_base64(&self.histogram)
    }

    /// Merges runs made at the same time (for example from several machines against one
    /// server): counts and histograms add up exactly, throughputs add up, and the duration is
    /// the longest.
    pub fn merge(reports: &[(String, Self)]) -> Result<Self, MergeError> {
        let ((_, first), _) = reports.split_first().ok_or(MergeError::Empty)?;
        let mut merged = Self {
            settings: None,
            merged_from: Vec::new(),
            requests: 0,
            responses: 0,
            body_bytes: 0,
            rps: 0.0,
            duration_s: 0.0,
            achieved_rate: None,
            reconnects: 0,
            status: BTreeMap::new(),
            errors: BTreeMap::new(),
            client_cpu: Vec::new(),
            client_waited: Vec::new(),
            ..first.clone()
        };
        let mut histograms = Histograms::default();
        for (file, report) in reports {
            if report.schema_version != RUN_SCHEMA_VERSION {
                return Err(MergeError::Schema {
                    file: file.clone(),
                    found: report.schema_version,
                });
            }
            histograms
                .add(report)
                .map_err(|source| MergeError::Histogram {
                    file: file.clone(),
                    source,
                })?;
            merged.add(file, report);
        }
        let Histograms {
            latency,
            uncorrected,
            send_lag,
        } = histograms;
        Ok(Self {
            latency_us: latency.summary(),
            latency_uncorrected_us: uncorrected.as_ref().map(LatencyHistogram::summary),
            histogram: latency.to_base64(),
            histogram_uncorrected: uncorrected.as_ref().map(LatencyHistogram::to_base64),
            // Runs at the same time each put their own share of load in flight: Little's law
            // does not add up across them, so no merged turnaround.
            client_turnaround: None,
            send_lag_us: send_lag.as_ref().map(LatencyHistogram::summary),
            client_lagged: merged.client_lagged
                || send_lag
                    .as_ref()
                    .is_some_and(|h| h.quantile(0.99) > CLIENT_LAG_BOUND_US),
            histogram_send_lag: send_lag.as_ref().map(LatencyHistogram::to_base64),
            ..merged
        })
    }

    /// Adds the counts, rates and flags of `report`, read from `file`, to this merge.
    fn add(&mut self, file: &str, report: &Self) {
        for (&code, n) in &report.status {
            *self.status.entry(code).or_default() += n;
        }
        for (&kind, n) in &report.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        self.requests += report.requests;
        self.responses += report.responses;
        self.body_bytes += report.body_bytes;
        self.rps += report.rps;
        self.duration_s = self.duration_s.max(report.duration_s);
        if let Some(rate) = report.achieved_rate {
            *self.achieved_rate.get_or_insert(0.0) += rate;
        }
        self.client_cpu.extend_from_slice(&report.client_cpu);
        self.client_waited.extend_from_slice(&report.client_waited);
        self.client_bound |= report.client_bound;
        self.client_lagged |= report.client_lagged;
        self.reconnects += report.reconnects;
        self.partial |= report.partial;
        self.merged_from.push(file.to_owned());
    }
}

/// Reads a map of status codes, written as JSON keys (`"200"`), whichever way serde hands the
/// keys over: a shard's report is read flattened, which gives map keys as strings only.
pub fn status_codes<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<u16, u64>, D::Error> {
    use serde::de::Error as _;
    let by_text = BTreeMap::<String, u64>::deserialize(deserializer)?;
    by_text
        .into_iter()
        .map(|(code, n)| {
            let status = code
                .parse()
                .map_err(|_| D::Error::custom(format!("{code:?} is not a status code")))?;
            Ok((status, n))
        })
        .collect()
}

/// The histograms of runs being merged, added up.
#[derive(Default)]
struct Histograms {
    latency: LatencyHistogram,
    uncorrected: Option<LatencyHistogram>,
    send_lag: Option<LatencyHistogram>,
}

impl Histograms {
    /// Adds `report`'s histograms.
    fn add(&mut self, report: &RunReport) -> Result<(), HistogramError> {
        self.latency.merge(&report.latency_histogram()?);
        if let Some(text) = &report.histogram_uncorrected {
            let h = LatencyHistogram::from_base64(text)?;
            self.uncorrected
                .get_or_insert_with(LatencyHistogram::default)
                .merge(&h);
        }
        if let Some(text) = &report.histogram_send_lag {
            let h = LatencyHistogram::from_base64(text)?;
            self.send_lag
                .get_or_insert_with(LatencyHistogram::default)
                .merge(&h);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::{ErrorKind, Tally};

    fn report(latencies: &[u64], status: u16, rate: Option<f64>) -> RunReport {
        let mut tally = Tally::default();
        for &us in latencies {
            tally.latency.record(us);
            tally.latency_uncorrected.record(us / 2);
            if rate.is_some() {
                // Each request left later than the last: the slowest 1 % are over the bound.
                tally.send_lag.record(us / 10);
            }
            tally.record_status(status, 10);
        }
        tally.record_error(ErrorKind::Timeout);
        tally.reconnects = 1;
        let outcome = LoadOutcome {
            tally,
            duration: Duration::from_secs(2),
            client_cpu: vec![0.95],
            client_waited: vec![0.01],
            partial: false,
            open_loop: rate.is_some(),
            connections: 4,
            pipeline: 1,
        };
        let settings = RunSettings {
            url: "http://x/".into(),
            method: "GET".into(),
            engine: EngineKind::Hyper,
            connections: 4,
            threads: 1,
            duration_s: Some(2.0),
            requests: None,
            rate,
            pipeline: 1,
            warmup_s: 0.0,
            timeout_s: 1.0,
            http2: false,
        };
        RunReport::new(settings, &outcome)
    }

    #[test]
    fn a_report_carries_every_required_field_in_json() {
        let json = serde_json::to_value(report(&[100, 200, 300], 200, None)).unwrap();
        for field in [
            "requests",
            "duration_s",
            "rps",
            "latency_us",
            "status",
            "errors",
            "client_cpu",
            "client_bound",
            "partial",
            "histogram",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        for field in ["min", "mean", "p50", "p90", "p99", "p999", "max"] {
            assert!(json["latency_us"].get(field).is_some(), "{field}");
        }
        assert_eq!(json["requests"], 4);
        assert_eq!(json["status"]["200"], 3);
        assert_eq!(json["errors"]["timeout"], 1);
        assert_eq!(json["errors"]["refused"], 0, "every kind is listed");
        assert_eq!(json["client_bound"], true);
        assert_eq!(json["rps"], 1.5);
        assert_eq!(json["settings"]["pipeline"], 1);
        assert_eq!(json["reconnects"], 1);
        // 4 connections, 1.5 answers/s, 200 µs on average: nearly all the time in the client.
        assert!(json["client_turnaround"].as_f64().unwrap() > 0.99);
        assert!(
            json.get("send_lag_us").is_none(),
            "closed loop: no send lag"
        );
        let open = serde_json::to_value(report(&[100, 200, 3000], 200, Some(10.0))).unwrap();
        assert_eq!(open["send_lag_us"]["p99"], 300);
        assert_eq!(open["client_lagged"], true);
        assert_eq!(open["client_bound"], true, "lagged, whatever the CPU");
        assert!(open.get("client_turnaround").is_none());
    }

    #[test]
    fn merging_adds_counts_and_histograms_exactly() {
        let a = report(&[100; 10], 200, Some(10.0));
        let b = report(&[10_000; 30], 404, Some(10.0));
        let merged =
            RunReport::merge(&[("a.json".into(), a.clone()), ("b.json".into(), b)]).unwrap();
        assert_eq!(merged.responses, 40);
        assert_eq!(merged.requests, 42);
        assert_eq!(merged.status[&200], 10);
        assert_eq!(merged.status[&404], 30);
        assert_eq!(merged.errors[&ErrorKind::Timeout], 2);
        assert_eq!(merged.latency_histogram().unwrap().len(), 40);
        assert!((merged.latency_us.p50 as f64 - 10_000.0).abs() < 10.0);
        assert_eq!(merged.rps, 5.0 + 15.0);
        assert!(merged.latency_uncorrected_us.is_some());
        assert_eq!(merged.send_lag_us.unwrap().max, 1000);
        assert!(merged.client_lagged);
        assert_eq!(merged.reconnects, 2);
        assert_eq!(merged.merged_from, ["a.json", "b.json"]);
        let mut bad = a;
        bad.histogram = "%%%".into();
        assert!(RunReport::merge(&[("bad.json".into(), bad)]).is_err());
    }

    #[test]
    fn the_text_warns_about_a_saturated_client_and_a_missed_rate() {
        let text = crate::report::RunText.text(&report(&[1_000; 4], 200, Some(1000.0)));
        assert!(text.contains("client-lagged"), "{text}");
        assert!(text.contains("send lag (µs) p50 100"), "{text}");
        let closed = crate::report::RunText.text(&report(&[1_000; 4], 200, None));
        assert!(closed.contains("client-bound"), "{closed}");
        assert!(text.contains("short of the 1,000.0 req/s"), "{text}");
        assert!(text.contains("from due time"), "{text}");
    }
}
