//! One run split over several processes, usually on several machines: which share of the load
//! this process does (`--shard I/N`, or `--shard auto` from the launcher's environment), when the
//! shards start together (`--start-at`), and what each one writes so that `merge` can check the
//! shards belong together and add them up exactly.
//!
//! Every shard is started with the same command line; the totals (`-c`, `--rate`, `-n`) are the
//! whole run's. Shard `I` of `N` takes every `N`-th request of the run's one open-loop schedule,
//! starting with request `I`: its own schedule at `rate / N` offset by `I / rate`, so that the
//! `N` shards together send one evenly spaced schedule and the coordinated-omission correction
//! holds for the whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::Args;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::format::parse_duration;

use crate::load::{LoadSpec, PlacedOutcome, Placement, Stop};
use crate::stats::{ErrorKind, Tally};
use crate::summary::RunReport;

/// This process's place among the shards of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// From 0.
    pub index: u32,
    /// Shards of the run, at least 1.
    pub count: u32,
}

/// `--shard`: a fixed place, or the launcher's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardChoice {
    /// `I/N`.
    Fixed(Shard),
    /// `auto`: from the environment of a Kubernetes Indexed Job, Slurm, or an MPI launcher.
    Auto,
}

/// The flags of `run` for one run spread over several processes (see `loadgen::shard`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Several load machines")]
pub struct ShardArgs {
    /// Do shard I of N of the run: its share of the connections (-c), of the rate (--rate) and
    /// of -n, the totals of the run. `auto`: from a Kubernetes Indexed Job
    /// (JOB_COMPLETION_INDEX, with --shard-count), Slurm (SLURM_PROCID/SLURM_NTASKS) or MPI
    /// (OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/PMI_SIZE).
    #[arg(long, value_name = "I/N|auto", value_parser = parse_shard)]
    pub shard: Option<ShardChoice>,
    /// The number of shards for `--shard auto` in a Kubernetes Indexed Job (its completions).
    #[arg(long, value_name = "N", env = "LOADGEN_SHARDS", value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: Option<u32>,
    /// Start measuring at this time, RFC 3339 in UTC (2026-11-25T14:30:00Z) or Unix seconds:
    /// connect and warm up before it. It must be ahead.
    #[arg(long, value_name = "TIME", env = "LOADGEN_START_AT", value_parser = parse_start_at)]
    pub start_at: Option<SystemTime>,
    /// Write the latency of each interval as an HdrHistogram interval log to this file
    /// [default: beside --json, with .hlog for .json, when --shard or --start-at is given].
    #[arg(long, value_name = "FILE")]
    pub interval_log: Option<PathBuf>,
    /// The length of an interval of the interval log.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub interval: Duration,
}

/// A shard that cannot be placed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ShardError {
    /// Not `I/N` or `auto`.
    #[error(
        "--shard takes I/N (this process's index from 0, and the number of shards, e.g. 0/4) or auto, not {0:?}"
    )]
    Syntax(String),
    /// No shards at all.
    #[error("--shard {0}/0: a run needs at least one shard")]
    NoShards(u32),
    /// The index is not below the count.
    #[error("--shard {index}/{count}: the index counts from 0, so it must be below {count}")]
    IndexOutOfRange {
        /// The index given.
        index: u32,
        /// The count given.
        count: u32,
    },
    /// `--shard auto` with no launcher in the environment.
    #[error(
        "--shard auto found no launcher: set JOB_COMPLETION_INDEX and LOADGEN_SHARDS (or --shard-count) in a Kubernetes Indexed Job, run under Slurm (SLURM_PROCID, SLURM_NTASKS) or an MPI launcher (OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/PMI_SIZE), or give --shard I/N"
    )]
    NoLauncher,
    /// A Kubernetes index without the number of completions.
    #[error(
        "--shard auto: JOB_COMPLETION_INDEX={0} is set but not the number of shards: pass the Job's completions as --shard-count N or LOADGEN_SHARDS=N"
    )]
    NoCount(String),
    /// A launcher variable that is not a number.
    #[error("--shard auto: {name}={value:?} is not a whole number")]
    NotANumber {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
    },
    /// Fewer connections than shards.
    #[error(
        "-c {connections} connections cannot be shared by {count} shards: give at least one connection per shard"
    )]
    TooFewConnections {
        /// Connections of the whole run.
        connections: u32,
        /// Shards.
        count: u32,
    },
    /// Fewer requests than shards.
    #[error(
        "-n {requests} requests cannot be shared by {count} shards: give at least one per shard"
    )]
    TooFewRequests {
        /// Requests of the whole run.
        requests: u64,
        /// Shards.
        count: u32,
    },
}

/// The launchers `--shard auto` knows, as (index variable, count variable), in the order they are
/// looked for. Kubernetes sets only the index; the count comes from `--shard-count`.
const LAUNCHERS: [(&str, &str); 3] = [
    ("SLURM_PROCID", "SLURM_NTASKS"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    ("PMI_RANK", "PMI_SIZE"),
];

impl Shard {
    /// The whole run in one process.
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    /// `index`/`count`, checked.
    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        if count == 0 {
            return Err(ShardError::NoShards(index));
        }
        if index >= count {
            return Err(ShardError::IndexOutOfRange { index, count });
        }
        Ok(Self { index, count })
    }

    /// The place the launcher gives this process, read through `env` (the process environment,
    /// or a table in tests); `count` is the number of shards given on the command line, which a
    /// Kubernetes Indexed Job needs (it sets only the index).
    pub fn from_launcher(
        env: &dyn Fn(&str) -> Option<String>,
        count: Option<u32>,
    ) -> Result<Self, ShardError> {
        let number = |name: &str, value: String| {
            value
                .trim()
                .parse::<u32>()
                .map_err(|_| ShardError::NotANumber {
                    name: name.to_owned(),
                    value,
                })
        };
        if let Some(index) = env("JOB_COMPLETION_INDEX") {
            let count = count.ok_or_else(|| ShardError::NoCount(index.clone()))?;
            return Self::new(number("JOB_COMPLETION_INDEX", index)?, count);
        }
        for (index_name, count_name) in LAUNCHERS {
            if let (Some(index), Some(size)) = (env(index_name), env(count_name)) {
                return Self::new(number(index_name, index)?, number(count_name, size)?);
            }
        }
        Err(ShardError::NoLauncher)
    }

    /// This shard's share of `total` (connections, requests): as even as it goes, the first
    /// shards taking one more.
    pub fn share(self, total: u64) -> u64 {
        let count = u64::from(self.count);
        total / count + u64::from(u64::from(self.index) < total % count)
    }

    /// How much later than the run's schedule this shard's starts, at `rate` requests per second
    /// in total: `index / rate`, the due time of the run's request number `index`.
    pub fn schedule_offset(self, rate: f64) -> Duration {
        Duration::from_secs_f64(f64::from(self.index) / rate)
    }

    /// This shard's part of the whole run's `spec`: its connections, its rate, its requests.
    pub fn part_of(self, spec: &LoadSpec) -> Result<LoadSpec, ShardError> {
        if spec.connections < self.count {
            return Err(ShardError::TooFewConnections {
                connections: spec.connections,
                count: self.count,
            });
        }
        let stop = match spec.stop {
            Stop::Requests(n) if n < u64::from(self.count) => {
                return Err(ShardError::TooFewRequests {
                    requests: n,
                    count: self.count,
                });
            }
            Stop::Requests(n) => Stop::Requests(self.share(n)),
            after => after,
        };
        Ok(LoadSpec {
            connections: u32::try_from(self.share(u64::from(spec.connections)))
                .unwrap_or(spec.connections),
            rate: spec.rate.map(|rate| rate / f64::from(self.count)),
            stop,
            ..spec.clone()
        })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parses `--shard`: `I/N` or `auto`.
pub fn parse_shard(text: &str) -> Result<ShardChoice, ShardError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("auto") {
        return Ok(ShardChoice::Auto);
    }
    let syntax = || ShardError::Syntax(text.to_owned());
    let (index, count) = text.split_once('/').ok_or_else(syntax)?;
    let index = index.trim().parse().map_err(|_| syntax())?;
    let count = count.trim().parse().map_err(|_| syntax())?;
    Shard::new(index, count).map(ShardChoice::Fixed)
}

/// Parses `--start-at`: RFC 3339 in UTC (`2026-11-25T14:30:00Z`, fractions allowed), or Unix
/// seconds (`1795617000`, `1795617000.25`).
pub fn parse_start_at(text: &str) -> Result<SystemTime, StartAtError> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .ok()
            .and_then(|since| SystemTime::UNIX_EPOCH.checked_add(since))
            .ok_or_else(|| StartAtError::Seconds(text.to_owned()));
    }
    humantime::parse_rfc3339_weak(text).map_err(|source| StartAtError::Time {
        text: text.to_owned(),
        source,
    })
}

/// A `--start-at` that is not a time.
#[derive(Debug, Error)]
pub enum StartAtError {
    /// A number that is no time in Unix seconds.
    #[error("{0:?} is not a time in Unix seconds")]
    Seconds(String),
    /// Neither a number nor RFC 3339.
    #[error(
        "{text:?} is not a time: give RFC 3339 in UTC (2026-11-25T14:30:00Z) or Unix seconds ({source})"
    )]
    Time {
        /// What was given.
        text: String,
        /// What the RFC 3339 parser said.
        source: humantime::TimestampError,
    },
}

/// A start time that has passed.
#[derive(Debug, Error)]
#[error(
    "--start-at {time} is {ago:.1} s in the past: give a time far enough ahead for every shard to connect and warm up (for example `date -u -d '+30 sec' +%s`)"
)]
pub struct StartInThePast {
    /// The time given, RFC 3339.
    pub time: String,
    /// How long ago, seconds.
    pub ago: f64,
}

/// Checks that `start_at` is still ahead of `now`.
pub fn check_start_at(start_at: SystemTime, now: SystemTime) -> Result<(), StartInThePast> {
    match start_at.duration_since(now) {
        Ok(ahead) if !ahead.is_zero() => Ok(()),
        _ => Err(StartInThePast {
            time: rfc3339(start_at),
            ago: now
                .duration_since(start_at)
                .unwrap_or_default()
                .as_secs_f64(),
        }),
    }
}

/// `time` in RFC 3339 to the nanosecond: exact, so two shards' start times compare equal.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_nanos(time).to_string()
}

/// The whole run's plan, the same in every shard's JSON: `merge` refuses shards whose plans
/// differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPlan {
    /// The URL as given.
    pub url: String,
    /// Request method.
    pub method: String,
    /// Request headers as given.
    pub headers: Vec<String>,
    /// The client.
    pub engine: String,
    /// Connections of the whole run.
    pub connections: u32,
    /// Requests of the whole run (`-n`).
    pub requests: Option<u64>,
    /// Open-loop rate of the whole run, requests per second.
    pub rate: Option<f64>,
    /// Measured seconds (timed runs).
    pub duration_s: Option<f64>,
    /// Requests written together per connection.
    pub pipeline: u32,
    /// Warmup before the start, seconds.
    pub warmup_s: f64,
    /// Per-request timeout, seconds.
    pub timeout_s: f64,
    /// Length of an interval of the interval log, seconds.
    pub interval_s: f64,
}

impl RunPlan {
    /// The plan of the whole run `spec` (before it is shared out), as the user wrote it.
    pub fn of(spec: &LoadSpec, url: &str, headers: &[String], interval: Duration) -> Self {
        Self {
            url: url.to_owned(),
            method: spec.target.method.to_string(),
            headers: headers.to_vec(),
            engine: spec.engine.name().to_owned(),
            connections: spec.connections,
            requests: match spec.stop {
                Stop::Requests(n) => Some(n),
                Stop::After(_) => None,
            },
            rate: spec.rate,
            duration_s: match spec.stop {
                Stop::After(d) => Some(d.as_secs_f64()),
                Stop::Requests(_) => None,
            },
            pipeline: spec.pipeline,
            warmup_s: spec.warmup.as_secs_f64(),
            timeout_s: spec.timeout.as_secs_f64(),
            interval_s: interval.as_secs_f64(),
        }
    }

    /// The first setting in which `other` differs, as `name: other's, not this one's`.
    pub fn difference(&self, other: &Self) -> Option<String> {
        let (a, b) = (
            serde_json::to_value(self).ok()?,
            serde_json::to_value(other).ok()?,
        );
        let (a, b) = (a.as_object()?, b.as_object()?);
        a.iter()
            .find(|(key, value)| b.get(*key) != Some(value))
            .map(|(key, value)| {
                let theirs = b.get(key).map_or("nothing".to_owned(), ToString::to_string);
                format!("{key} {theirs}, not {value}")
            })
    }
}

/// What one shard says about itself in its JSON, beside the run's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// Its place.
    pub shard: Shard,
    /// The whole run's plan.
    pub plan: RunPlan,
    /// When the measurement started (`--start-at`), RFC 3339 UTC; `None` without it.
    pub start_at: Option<String>,
    /// Whether every connection was open, and the warmup done, by the start time (always true
    /// without `--start-at`).
    pub ready: bool,
    /// When the last of its connections opened, seconds from the start time (negative: before
    /// it); `None` if one never opened or without `--start-at`.
    pub connected_s: Option<f64>,
    /// Seconds of warmup done before the start time (less than the plan's when the process
    /// started too late for all of it).
    pub warmup_done_s: f64,
    /// When its first and last measured requests were sent, seconds from the start.
    #[serde(default)]
    pub sent_s: Option<(f64, f64)>,
    /// The interval log's file name (HdrHistogram interval log), looked for beside this JSON.
    pub interval_log: Option<String>,
    /// What each interval of the interval log counted, that the log's histograms do not say:
    /// interval `i` covers `[i, i + 1) × interval_s` from the start.
    pub intervals: Vec<IntervalCounts>,
}

impl ShardRecord {
    /// Why this shard is late, if it is: a sentence for `merge` to print.
    pub fn lateness(&self) -> Option<String> {
        if self.ready {
            return None;
        }
        let connected = match self.connected_s {
            Some(s) if s > 0.0 => format!("its last connection opened {s:.3} s after the start"),
            Some(_) => "its connections were open in time".to_owned(),
            None => "some of its connections never opened".to_owned(),
        };
        let warmup = if self.warmup_done_s + 1e-3 < self.plan.warmup_s {
            format!(
                ", and it warmed up {:.3} s of the {:.3} s asked",
                self.warmup_done_s, self.plan.warmup_s
            )
        } else {
            String::new()
        };
        Some(format!("not ready at the start time: {connected}{warmup}"))
    }
}

/// The counts of one interval.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalCounts {
    /// Answers per status code (written as `"200"`, as JSON keys are).
    #[serde(deserialize_with = "crate::summary::status_codes")]
    pub status: BTreeMap<u16, u64>,
    /// Failures per kind; a kind this load generator does not know is refused when the file
    /// is read, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Body bytes read.
    pub body_bytes: u64,
}

/// The JSON a run with `--shard`, `--start-at` or `--interval-log` writes: the usual report,
/// and what the shard says about itself under `"shard"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    /// The run's figures, as `run --json` writes them.
    #[serde(flatten)]
    pub report: RunReport,
    /// The shard, absent from a JSON written without any of those flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardRecord>,
}

/// The shard flags of `run`, resolved and checked before any load.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardSetup {
    /// This process's place (0/1 without `--shard`).
    pub shard: Shard,
    /// When the measurement starts.
    pub start_at: Option<SystemTime>,
    /// Where the interval log goes, if anywhere.
    pub interval_log: Option<PathBuf>,
    /// The whole run's plan.
    pub plan: RunPlan,
    interval: Duration,
}

/// Shard flags that cannot run.
#[derive(Debug, Error)]
pub enum SetupError {
    /// A bad `--shard`.
    #[error(transparent)]
    Shard(#[from] ShardError),
    /// A start time that has passed.
    #[error(transparent)]
    Past(#[from] StartInThePast),
    /// An interval too short to mean anything.
    #[error("--interval {0:?} is too short: give at least 1ms")]
    Interval(Duration),
}

impl ShardSetup {
    /// Resolves `args` for the whole run `whole` (the user's `url` and `headers`, the `--json`
    /// path beside which the interval log goes by default), reading the launcher's variables
    /// through `env`; `None` when none of the shard flags is given.
    pub fn new(
        args: &ShardArgs,
        whole: &LoadSpec,
        (url, headers): (&str, &[String]),
        json: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, SetupError> {
        if args.shard.is_none() && args.start_at.is_none() && args.interval_log.is_none() {
            return Ok(None);
        }
        let shard = match args.shard {
            None => Shard::WHOLE,
            Some(ShardChoice::Fixed(shard)) => shard,
            Some(ShardChoice::Auto) => Shard::from_launcher(env, args.shard_count)?,
        };
        shard.part_of(whole)?;
        if args.interval < Duration::from_millis(1) {
            return Err(SetupError::Interval(args.interval));
        }
        if let Some(start_at) = args.start_at {
            check_start_at(start_at, SystemTime::now())?;
        }
        Ok(Some(Self {
            shard,
            start_at: args.start_at,
            interval_log: args
                .interval_log
                .clone()
                .or_else(|| json.map(|path| path.with_extension("hlog"))),
            plan: RunPlan::of(whole, url, headers, args.interval),
            interval: args.interval,
        }))
    }

    /// How the load runs: its offset in the run's schedule, its start, its intervals.
    pub fn placement(&self, whole: &LoadSpec) -> Placement {
        Placement {
            schedule_offset: whole
                .rate
                .map_or(Duration::ZERO, |rate| self.shard.schedule_offset(rate)),
            start_at: self.start_at,
            interval: Some(self.interval),
        }
    }

    /// What the shard says about itself after the load `placed`.
    pub fn record(&self, placed: &PlacedOutcome) -> ShardRecord {
        let warmup_done_s = placed.warmup_done.as_secs_f64();
        let ready = self.start_at.is_none()
            || (placed.connected.is_some_and(|at| at <= 0.0)
                && warmup_done_s + 1e-3 >= self.plan.warmup_s);
        ShardRecord {
            shard: self.shard,
            plan: self.plan.clone(),
            start_at: self.start_at.map(rfc3339),
            ready,
            connected_s: placed.connected,
            warmup_done_s,
            sent_s: placed.sent,
            interval_log: self
                .interval_log
                .as_deref()
                .and_then(Path::file_name)
                .map(|name| name.to_string_lossy().into_owned()),
            intervals: placed
                .intervals
                .as_ref()
                .map(|i| i.tallies().iter().map(IntervalCounts::of).collect())
                .unwrap_or_default(),
        }
    }
}

impl IntervalCounts {
    /// The counts of `tally`.
    pub fn of(tally: &Tally) -> Self {
        Self {
            status: tally.status.clone(),
            errors: tally.errors.clone(),
            body_bytes: tally.body_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_bad_ones_say_why() {
        assert_eq!(
            parse_shard("1/4"),
            Ok(ShardChoice::Fixed(Shard { index: 1, count: 4 }))
        );
        assert_eq!(parse_shard("auto"), Ok(ShardChoice::Auto));
        assert_eq!(
            parse_shard("3/2"),
            Err(ShardError::IndexOutOfRange { index: 3, count: 2 })
        );
        assert_eq!(parse_shard("0/0"), Err(ShardError::NoShards(0)));
        for bad in ["", "1", "1/", "/2", "-1/2", "a/b", "1/2/3"] {
            assert!(
                matches!(parse_shard(bad), Err(ShardError::Syntax(_))),
                "{bad}"
            );
        }
        assert!(
            ShardError::IndexOutOfRange { index: 3, count: 2 }
                .to_string()
                .contains("below 2")
        );
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn auto_reads_each_launcher() {
        let at = |index, count| Ok(Shard { index, count });
        let kubernetes = env(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(Shard::from_launcher(&kubernetes, Some(3)), at(2, 3));
        assert_eq!(
            Shard::from_launcher(&kubernetes, None),
            Err(ShardError::NoCount("2".into()))
        );
        let slurm = env(&[("SLURM_PROCID", "1"), ("SLURM_NTASKS", "2")]);
        assert_eq!(Shard::from_launcher(&slurm, None), at(1, 2));
        let openmpi = env(&[("OMPI_COMM_WORLD_RANK", "0"), ("OMPI_COMM_WORLD_SIZE", "8")]);
        assert_eq!(Shard::from_launcher(&openmpi, None), at(0, 8));
        let pmi = env(&[("PMI_RANK", "5"), ("PMI_SIZE", "6")]);
        assert_eq!(Shard::from_launcher(&pmi, None), at(5, 6));
        assert_eq!(
            Shard::from_launcher(&env(&[]), Some(2)),
            Err(ShardError::NoLauncher)
        );
        let broken = env(&[("SLURM_PROCID", "x"), ("SLURM_NTASKS", "2")]);
        assert!(matches!(
            Shard::from_launcher(&broken, None),
            Err(ShardError::NotANumber { .. })
        ));
        let beyond = env(&[("PMI_RANK", "6"), ("PMI_SIZE", "6")]);
        assert!(Shard::from_launcher(&beyond, None).is_err());
    }

    #[test]
    fn shares_add_up_to_the_whole() {
        for count in 1..=7 {
            for total in [7, 64, 1001] {
                let sum: u64 = (0..count)
                    .map(|index| Shard { index, count }.share(total))
                    .sum();
                assert_eq!(sum, total, "{total} over {count}");
            }
        }
        assert_eq!(
            Shard { index: 3, count: 4 }.schedule_offset(1000.0),
            Duration::from_millis(3)
        );
    }

    #[test]
    fn shards_together_send_one_evenly_spaced_schedule() {
        use crate::schedule::Schedule;
        // 1,000 req/s in total over 3 shards and 7 connections (3, 2 and 2).
        let (rate, count, end) = (1000.0, 3, Duration::from_millis(300));
        let mut all = Vec::new();
        for index in 0..count {
            let shard = Shard { index, count };
            let connections = shard.share(7);
            for connection in 0..connections {
                let schedule = Schedule::new(rate / f64::from(count), connection, connections);
                all.extend(
                    (0..200)
                        .map(|k| shard.schedule_offset(rate) + schedule.due(k))
                        .filter(|due| *due < end),
                );
            }
        }
        all.sort();
        assert_eq!(all.len(), 300);
        for (i, due) in all.iter().enumerate() {
            let off = due.as_secs_f64() - i as f64 / rate;
            assert!(off.abs() < 1e-9, "request {i} is due at {due:?}");
        }
    }

    #[test]
    fn start_times_parse_in_both_forms_and_the_past_is_refused() {
        let unix = parse_start_at("1795617000").unwrap();
        let rfc = parse_start_at("2026-11-25T14:30:00Z").unwrap();
        assert_eq!(unix, rfc);
        assert_eq!(
            parse_start_at("1795617000.25").unwrap(),
            unix + Duration::from_millis(250)
        );
        assert!(parse_start_at("tomorrow").is_err());
        assert!(parse_start_at("-5").is_err());
        let now = SystemTime::now();
        assert!(check_start_at(now + Duration::from_secs(5), now).is_ok());
        let err = check_start_at(now - Duration::from_secs(5), now).unwrap_err();
        assert!(err.to_string().contains("5.0 s in the past"), "{err}");
        assert!(check_start_at(now, now).is_err());
    }
}
