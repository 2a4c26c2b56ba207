//! `loadgen merge` of shards: checks that the JSON files are the shards of one run (the same
//! plan and start time, every index once), cuts the same window out of each (from its interval
//! log) when asked, and adds them up exactly with [`RunReport::merge`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::format::{DurationError, parse_duration};
use crate::interval_log::{self, IntervalLogError, TAG_SEND_LAG, TAG_UNCORRECTED};
use crate::load::LoadOutcome;
use crate::shard::{ShardRecord, ShardReport};
use crate::stats::{LatencyHistogram, Tally};
use crate::summary::{MergeError, RunReport};

/// `--window START..END`: seconds from the start of the measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// From.
    pub start: Duration,
    /// To (after `start`).
    pub end: Duration,
}

/// A `--window` that is not `START..END`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WindowError {
    /// No `..` in it.
    #[error("{0:?} is not a window like 5..25 (seconds from the start)")]
    NotAWindow(String),
    /// A side that is not a duration.
    #[error(transparent)]
    Duration(#[from] DurationError),
    /// The end is not after the start.
    #[error("{0:?}: the window must end after it starts")]
    Backwards(String),
}

/// Parses `START..END`, each side a number of seconds or a duration (`5..25`, `5s..25s`).
pub fn parse_window(text: &str) -> Result<Window, WindowError> {
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| WindowError::NotAWindow(text.to_owned()))?;
    let start = parse_duration(start)?;
    let end = parse_duration(end)?;
    if end <= start {
        return Err(WindowError::Backwards(text.to_owned()));
    }
    Ok(Window { start, end })
}

/// One JSON file given to `merge`, with its interval log when a window is cut.
#[derive(Debug, Clone)]
pub struct ShardFile {
    /// How the user named it.
    pub name: String,
    /// What it holds.
    pub report: ShardReport,
    /// Its interval log's bytes (read only for `--window`).
    pub log: Option<Vec<u8>>,
}

impl ShardFile {
    /// Reads `path` and, `with_log`, the interval log its shard section names, beside it.
    pub fn read(path: &Path, with_log: bool) -> Result<Self, ShardMergeError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ShardMergeError::Read {
            file: name.clone(),
            reason: e.to_string(),
        })?;
        let report: ShardReport =
            serde_json::from_str(&text).map_err(|e| ShardMergeError::NotAReport {
                file: name.clone(),
                reason: e.to_string(),
            })?;
        let log = match (&report.shard, with_log) {
            (
                Some(ShardRecord {
                    interval_log: Some(log),
                    ..
                }),
                true,
            ) => {
                let beside = path.parent().unwrap_or(Path::new(".")).join(log);
                let log_path = if beside.exists() {
                    beside
                } else {
                    PathBuf::from(log)
                };
                Some(std::fs::read(&log_path).map_err(|e| ShardMergeError::Read {
                    file: format!("{} (the interval log of {name})", log_path.display()),
                    reason: e.to_string(),
                })?)
            }
            _ => None,
        };
        Ok(Self { name, report, log })
    }
}

/// Shards that cannot be merged.
#[derive(Debug, Error)]
pub enum ShardMergeError {
    /// A file cannot be read.
    #[error("cannot read {file}: {reason}")]
    Read {
        /// Which.
        file: String,
        /// Why.
        reason: String,
    },
    /// A file is not a run's JSON.
    #[error("{file} is not a loadgen run JSON file: {reason}")]
    NotAReport {
        /// Which.
        file: String,
        /// Why.
        reason: String,
    },
    /// Shards and plain runs mixed.
    #[error(
        "{file} was written without --shard, --start-at or --interval-log, but {shard} is a shard: merge the shards of one run together"
    )]
    Mixed {
        /// The plain run.
        file: String,
        /// A shard.
        shard: String,
    },
    /// A window needs interval logs.
    #[error(
        "--window needs interval logs: {0} was written without --shard, --start-at or --interval-log"
    )]
    NoIntervals(String),
    /// A shard of another run.
    #[error("{file} is not a shard of the same run as {first}: {difference}")]
    Foreign {
        /// The foreign shard.
        file: String,
        /// The first file, the reference.
        first: String,
        /// What differs, and how.
        difference: String,
    },
    /// An index given twice.
    #[error("shard {shard} is given twice: {first} and {second}")]
    Duplicate {
        /// The shard.
        shard: String,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// Indices missing.
    #[error("{} of {count} missing ({}): the merge would leave out part of the run's load; give every shard's JSON (given: {})", if .missing.len() == 1 { "shard" } else { "shards" }, .missing.join(", "), .given.join(", "))]
    Missing {
        /// The shards missing, `I/N`.
        missing: Vec<String>,
        /// Shards of the run.
        count: u32,
        /// The shards given, `I/N (file)`.
        given: Vec<String>,
    },
    /// A window that does not fit the intervals.
    #[error("--window {start}..{end}: {reason}")]
    Window {
        /// Its start, seconds.
        start: f64,
        /// Its end, seconds.
        end: f64,
        /// Why.
        reason: String,
    },
    /// An unreadable interval log.
    #[error("{file}: {source}")]
    Log {
        /// The JSON file whose log it is.
        file: String,
        /// Why.
        source: IntervalLogError,
    },
    /// A log whose counts disagree with its JSON.
    #[error(
        "{file}: its interval log does not belong to it: interval {interval} holds {logged} answers in the log and {counted} in the JSON"
    )]
    LogMismatch {
        /// The JSON file.
        file: String,
        /// The interval.
        interval: usize,
        /// Answers in the log.
        logged: u64,
        /// Answers in the JSON.
        counted: u64,
    },
    /// The reports themselves do not merge.
    #[error(transparent)]
    Merge(#[from] MergeError),
}

/// What a merge of shards says about them, beside the merged figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// Shards of the run (all of them were merged).
    pub count: u32,
    /// Their common start time, RFC 3339 UTC.
    pub start_at: Option<String>,
    /// The window merged, seconds from the start; `None`: the whole measurement.
    pub window_s: Option<(f64, f64)>,
    /// What was found wrong but leaves the result sound, one sentence each.
    pub warnings: Vec<String>,
}

/// The JSON `merge --json` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedReport {
    /// The merged figures.
    #[serde(flatten)]
    pub report: RunReport,
    /// The shards, when the files were shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<MergeRecord>,
}

/// Merges `files`: plain runs as before; shards after checking that they are every shard of
/// one run, cut to `window` if given.
pub fn merge(files: &[ShardFile], window: Option<Window>) -> Result<MergedReport, ShardMergeError> {
    let reference = files.iter().find_map(|f| {
        f.report
            .shard
            .as_ref()
            .map(|record| (f.name.as_str(), record))
    });
    let Some((reference, first)) = reference else {
        if let (Some(file), Some(_)) = (files.first(), window) {
            return Err(ShardMergeError::NoIntervals(file.name.clone()));
        }
        let reports: Vec<(String, RunReport)> = files
            .iter()
            .map(|f| (f.name.clone(), f.report.report.clone()))
            .collect();
        return Ok(MergedReport {
            report: RunReport::merge(&reports)?,
            shards: None,
        });
    };
    let shards = check_shards(files, reference, first)?;
    let mut warnings = Vec::new();
    if first.shard.count > 1 && first.start_at.is_none() {
        warnings.push(
            "the shards were started without --start-at: their measurements need not overlap, and their schedules are not interleaved"
                .to_owned(),
        );
    }
    for (file, record) in &shards {
        if let Some(late) = record.lateness() {
            let sound = match (window, record.connected_s) {
                (Some(w), Some(connected)) if w.start.as_secs_f64() >= connected => {
                    "; the window starts after it was connected, so the window is sound"
                }
                _ => {
                    "; its first moments ran with fewer connections than planned: cut them off with --window"
                }
            };
            warnings.push(format!(
                "shard {} ({}) was {late}{sound}",
                record.shard, file.name
            ));
        }
    }
    let reports = files
        .iter()
        .zip(&shards)
        .map(|(file, (_, record))| {
            let report = match window {
                Some(w) => cut(file, record, w)?,
                None => file.report.report.clone(),
            };
            Ok((file.name.clone(), report))
        })
        .collect::<Result<Vec<_>, ShardMergeError>>()?;
    let mut report = RunReport::merge(&reports)?;
    if window.is_none()
        && let Some(rate) = send_rate(report.requests, &shards)
    {
        report.achieved_rate = Some(rate);
    }
    Ok(MergedReport {
        report,
        shards: Some(MergeRecord {
            count: first.shard.count,
            start_at: first.start_at.clone(),
            window_s: window.map(|w| (w.start.as_secs_f64(), w.end.as_secs_f64())),
            warnings,
        }),
    })
}

/// Open loop: the rate at which the shards' requests left, from the first send to the last
/// over all of them (the sum of the shards' rates counts up to each one's last answer, so a slow
/// last answer would lower it). `None` without send times.
fn send_rate(requests: u64, shards: &[(&ShardFile, &ShardRecord)]) -> Option<f64> {
    shards.first()?.1.plan.rate?;
    let spans: Vec<(f64, f64)> = shards
        .iter()
        .map(|(_, r)| r.sent_s)
        .collect::<Option<_>>()?;
    let first = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let last = spans.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
    // n requests sent at a steady rate span n - 1 gaps.
    (last > first && requests > 1).then(|| (requests - 1) as f64 / (last - first))
}

/// Every file's shard section, after checking they are all the shards of one run, each once.
fn check_shards<'a>(
    files: &'a [ShardFile],
    reference: &str,
    first: &ShardRecord,
) -> Result<Vec<(&'a ShardFile, &'a ShardRecord)>, ShardMergeError> {
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    let mut shards = Vec::new();
    for file in files {
        let Some(record) = &file.report.shard else {
            return Err(ShardMergeError::Mixed {
                file: file.name.clone(),
                shard: reference.to_owned(),
            });
        };
        let foreign = |difference: String| ShardMergeError::Foreign {
            file: file.name.clone(),
            first: reference.to_owned(),
            difference,
        };
        if let Some(difference) = first.plan.difference(&record.plan) {
            return Err(foreign(difference));
        }
        if record.shard.count != first.shard.count {
            return Err(foreign(format!(
                "shards {}, not {}",
                record.shard.count, first.shard.count
            )));
        }
        if record.start_at != first.start_at {
            return Err(foreign(format!(
                "start time {}, not {}",
                record.start_at.as_deref().unwrap_or("none"),
                first.start_at.as_deref().unwrap_or("none")
            )));
        }
        if let Some(other) = seen.insert(record.shard.index, &file.name) {
            return Err(ShardMergeError::Duplicate {
                shard: record.shard.to_string(),
                first: other.to_owned(),
                second: file.name.clone(),
            });
        }
        shards.push((file, record));
    }
    let count = first.shard.count;
    let missing: Vec<String> = (0..count)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(ShardMergeError::Missing {
            missing,
            count,
            given: seen
                .iter()
                .map(|(i, file)| format!("{i}/{count} ({file})"))
                .collect(),
        });
    }
    Ok(shards)
}

/// `file`'s figures over `window` only: histograms from its interval log, counts from its JSON.
fn cut(
    file: &ShardFile,
    record: &ShardRecord,
    window: Window,
) -> Result<RunReport, ShardMergeError> {
    let (start, end) = (window.start.as_secs_f64(), window.end.as_secs_f64());
    let window_error = |reason: String| ShardMergeError::Window { start, end, reason };
    let length = record.plan.interval_s;
    let on_boundary = |t: f64| ((t / length) - (t / length).round()).abs() < 1e-6;
    if !(on_boundary(start) && on_boundary(end)) {
        return Err(window_error(format!(
            "the intervals are {length} s long: start and end on multiples of it"
        )));
    }
    // The last interval holds the answers that came after the last request was due.
    let recorded = record.intervals.len() as f64 * length;
    if end > recorded + 1e-9 {
        return Err(window_error(format!(
            "{} recorded {recorded} s of intervals: the window must end by then",
            file.name
        )));
    }
    let (Some(log), Some(settings)) = (&file.log, &file.report.report.settings) else {
        return Err(ShardMergeError::NoIntervals(file.name.clone()));
    };
    let log_error = |source| ShardMergeError::Log {
        file: file.name.clone(),
        source,
    };
    let logged = interval_log::read_log(log).map_err(log_error)?;
    let first = (start / length).round() as usize;
    let last = (end / length).round() as usize;
    let mut tally = Tally::default();
    let per_interval = add_histograms(&mut tally, &logged, length, first..last);
    for (index, counts) in record.intervals.iter().enumerate().take(last).skip(first) {
        let counted: u64 = counts.status.values().sum();
        let logged = per_interval.get(&index).copied().unwrap_or(0);
        if logged != counted {
            return Err(ShardMergeError::LogMismatch {
                file: file.name.clone(),
                interval: index,
                logged,
                counted,
            });
        }
        for (&code, n) in &counts.status {
            *tally.status.entry(code).or_default() += n;
        }
        for (&kind, n) in &counts.errors {
            *tally.errors.entry(kind).or_default() += n;
        }
        tally.body_bytes += counts.body_bytes;
    }
    let report = &file.report.report;
    let outcome = LoadOutcome {
        tally,
        duration: window.end - window.start,
        client_cpu: report.client_cpu.clone(),
        client_waited: report.client_waited.clone(),
        partial: report.partial,
        open_loop: settings.rate.is_some(),
        connections: settings.connections,
        pipeline: settings.pipeline,
    };
    Ok(RunReport::new(settings.clone(), &outcome))
}

/// Adds the histograms of the intervals `within` (their indexes, each `length` seconds) of an
/// interval log to `tally`; returns how many answers each interval's latency histogram holds.
fn add_histograms(
    tally: &mut Tally,
    logged: &[interval_log::LoggedInterval],
    length: f64,
    within: std::ops::Range<usize>,
) -> BTreeMap<usize, u64> {
    let mut per_interval: BTreeMap<usize, u64> = BTreeMap::new();
    for interval in logged {
        let index = (interval.start.as_secs_f64() / length).round() as usize;
        if !within.contains(&index) {
            continue;
        }
        let into: &mut LatencyHistogram = match interval.tag.as_deref() {
            None => {
                *per_interval.entry(index).or_default() += interval.histogram.len();
                &mut tally.latency
            }
            Some(TAG_UNCORRECTED) => &mut tally.latency_uncorrected,
            Some(TAG_SEND_LAG) => &mut tally.send_lag,
            Some(_) => continue,
        };
        into.merge(&interval.histogram);
    }
    per_interval
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::engine::EngineKind;
    use crate::interval_log::IntervalTallies;
    use crate::shard::{IntervalCounts, RunPlan, Shard};
    use crate::stats::ErrorKind;
    use crate::summary::RunSettings;

    /// A sample: when it was answered (ms from the start), its latency (µs), its status.
    type Sample = (u64, u64, u16);

    fn plan(rate: f64) -> RunPlan {
        RunPlan {
            url: "http://x/".into(),
            method: "GET".into(),
            headers: Vec::new(),
            engine: "h1".into(),
            connections: 4,
            requests: None,
            rate: Some(rate),
            duration_s: Some(3.0),
            pipeline: 1,
            warmup_s: 0.0,
            timeout_s: 1.0,
            interval_s: 1.0,
        }
    }

    /// The files shard `index` of 2 would write after answering `samples`.
    fn shard_file(index: u32, samples: &[Sample], plan: RunPlan) -> ShardFile {
        let mut tally = Tally::default();
        let mut intervals = IntervalTallies::new(Duration::from_secs(1));
        for &(at_ms, latency, status) in samples {
            for t in [&mut tally, intervals.at(Duration::from_millis(at_ms))] {
                t.record_status(status, 2);
                t.latency.record(latency);
                t.latency_uncorrected.record(latency / 2);
                t.send_lag.record(1);
            }
        }
        let settings = RunSettings {
            url: plan.url.clone(),
            method: "GET".into(),
            engine: EngineKind::H1,
            connections: 2,
            threads: 1,
            duration_s: Some(3.0),
            requests: None,
            rate: plan.rate.map(|r| r / 2.0),
            pipeline: 1,
            warmup_s: 0.0,
            timeout_s: 1.0,
            http2: false,
        };
        let outcome = LoadOutcome {
            tally,
            duration: Duration::from_secs(3),
            client_cpu: vec![0.5],
            client_waited: vec![0.0],
            partial: false,
            open_loop: true,
            connections: 2,
            pipeline: 1,
        };
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_617_000);
        ShardFile {
            name: format!("shard-{index}.json"),
            log: Some(interval_log::write_log(&intervals, start, true, "test").unwrap()),
            report: ShardReport {
                report: RunReport::new(settings, &outcome),
                shard: Some(ShardRecord {
                    shard: Shard { index, count: 2 },
                    plan,
                    start_at: Some("2026-11-25T14:30:00.000000000Z".into()),
                    ready: true,
                    connected_s: Some(-0.5),
                    warmup_done_s: 0.0,
                    sent_s: None,
                    interval_log: Some(format!("shard-{index}.hlog")),
                    intervals: intervals.tallies().iter().map(IntervalCounts::of).collect(),
                }),
            },
        }
    }

    fn samples(seed: u64, n: usize) -> Vec<Sample> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n)
            .map(|_| {
                let latency = rng.u64(1..100_000) * rng.u64(1..30);
                (
                    rng.u64(0..3_000),
                    latency,
                    if rng.u8(..) < 10 { 503 } else { 200 },
                )
            })
            .collect()
    }

    fn histogram_of(samples: &[Sample]) -> LatencyHistogram {
        let mut h = LatencyHistogram::default();
        for &(_, latency, _) in samples {
            h.record(latency);
        }
        h
    }

    fn counts(h: &LatencyHistogram) -> Vec<(u64, u64)> {
        h.as_hdr()
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    #[test]
    fn shards_merge_into_the_histogram_of_all_samples_whole_or_windowed() {
        let (a, b) = (samples(1, 5_000), samples(2, 3_000));
        let files = [
            shard_file(0, &a, plan(1000.0)),
            shard_file(1, &b, plan(1000.0)),
        ];
        let all: Vec<Sample> = a.iter().chain(&b).copied().collect();

        let whole = merge(&files, None).unwrap();
        let merged = whole.report.latency_histogram().unwrap();
        assert_eq!(counts(&merged), counts(&histogram_of(&all)));
        assert_eq!(whole.report.responses, 8_000);
        assert!(whole.shards.unwrap().warnings.is_empty());

        let window = Window {
            start: Duration::from_secs(1),
            end: Duration::from_secs(3),
        };
        let cut = merge(&files, Some(window)).unwrap().report;
        let inside: Vec<Sample> = all.iter().filter(|s| s.0 >= 1_000).copied().collect();
        assert_eq!(
            counts(&cut.latency_histogram().unwrap()),
            counts(&histogram_of(&inside))
        );
        assert_eq!(cut.responses, inside.len() as u64);
        let unavailable = inside.iter().filter(|s| s.2 == 503).count() as u64;
        assert_eq!(cut.status[&503], unavailable);
        assert_eq!(cut.duration_s, 2.0);
        assert_eq!(cut.body_bytes, 2 * inside.len() as u64);
    }

    #[test]
    fn shards_that_do_not_belong_together_are_refused_by_name() {
        let (a, b) = (samples(3, 100), samples(4, 100));
        let ours = shard_file(0, &a, plan(1000.0));
        let theirs = shard_file(1, &b, plan(2000.0));
        let err = merge(&[ours.clone(), theirs], None).unwrap_err();
        assert!(
            err.to_string()
                .contains("shard-1.json is not a shard of the same run as shard-0.json: rate 2000.0, not 1000.0"),
            "{err}"
        );
        let err = merge(std::slice::from_ref(&ours), None).unwrap_err();
        assert!(
            err.to_string().contains("shard of 2 missing (1/2)"),
            "{err}"
        );
        let mut tampered = shard_file(1, &b, plan(1000.0));
        tampered.log = shard_file(1, &a, plan(1000.0)).log;
        let err = merge(
            &[ours, tampered],
            Some(Window {
                start: Duration::ZERO,
                end: Duration::from_secs(1),
            }),
        )
        .unwrap_err();
        assert!(matches!(err, ShardMergeError::LogMismatch { .. }), "{err}");
    }

    #[test]
    fn an_unknown_error_kind_in_a_shard_file_is_refused_by_name() {
        let mut file = shard_file(0, &samples(1, 10), plan(10.0));
        let record = file.report.shard.as_mut().unwrap();
        record.intervals[0].errors.insert(ErrorKind::Reset, 1);
        let text = serde_json::to_string(&file.report).unwrap();
        assert!(text.contains(r#""errors":{"reset":1}"#), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard-0.json");
        std::fs::write(&path, &text).unwrap();
        let read = ShardFile::read(&path, false).unwrap();
        assert_eq!(
            read.report.shard.unwrap().intervals,
            file.report.shard.unwrap().intervals,
            "the kinds and codes read back as written"
        );
        std::fs::write(&path, text.replace(r#"{"reset":1}"#, r#"{"eaten":1}"#)).unwrap();
        let err = ShardFile::read(&path, false).unwrap_err().to_string();
        assert!(err.contains("eaten"), "{err}");
    }

    #[test]
    fn windows_parse_and_must_go_forward() {
        assert_eq!(
            parse_window("5..25"),
            Ok(Window {
                start: Duration::from_secs(5),
                end: Duration::from_secs(25)
            })
        );
        assert_eq!(
            parse_window("500ms..2s").unwrap().end,
            Duration::from_secs(2)
        );
        assert!(parse_window("5").is_err());
        assert!(parse_window("5..5").is_err());
        assert!(parse_window("a..b").is_err());
    }
}
