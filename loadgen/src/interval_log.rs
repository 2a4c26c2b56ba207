//! Latency per interval: what a run records second by second ([`IntervalTallies`]), written as an
//! HdrHistogram interval log, the format of HdrHistogram's `HistogramLogWriter` that its
//! `HistogramLogProcessor` reads, and read back to cut a window out of a run.
//!
//! The log's `StartTime` and `BaseTime` are both the start of the measurement, so each interval's
//! timestamp is seconds from that start. Values are µs. The untagged histograms are the latency
//! (from the due time in the open loop); in the open loop, `Tag=uncorrected` holds the latency
//! from the send and `Tag=send-lag` the send lag. Every interval is written, empty or not.

use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use thiserror::Error;

use crate::stats::{LatencyHistogram, Tally};

/// The tag of the latency from the send (open loop).
pub const TAG_UNCORRECTED: &str = "uncorrected";
/// The tag of the send lag (open loop).
pub const TAG_SEND_LAG: &str = "send-lag";
/// The interval length when none is given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// One tally per interval of the measurement, interval `i` covering `[i, i + 1) × length` from
/// its start.
#[derive(Debug, Clone)]
pub struct IntervalTallies {
    length: Duration,
    tallies: Vec<Tally>,
}

impl IntervalTallies {
    /// No intervals yet, each `length` long (more than zero).
    pub fn new(length: Duration) -> Self {
        Self {
            length: length.max(Duration::from_micros(1)),
            tallies: Vec::new(),
        }
    }

    /// The length of an interval.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// The tally of the interval `since_start` falls in, made (and those before it) if need be.
    pub fn at(&mut self, since_start: Duration) -> &mut Tally {
        let index = usize::try_from(since_start.as_nanos() / self.length.as_nanos())
            .unwrap_or(usize::MAX - 1);
        if index >= self.tallies.len() {
            self.tallies.resize_with(index + 1, Tally::growing);
        }
        &mut self.tallies[index]
    }

    /// Adds `other`'s intervals to these, interval by interval.
    pub fn merge(&mut self, other: &Self) {
        if other.tallies.len() > self.tallies.len() {
            self.tallies
                .resize_with(other.tallies.len(), Tally::growing);
        }
        for (mine, theirs) in self.tallies.iter_mut().zip(&other.tallies) {
            mine.merge(theirs);
        }
    }

    /// The tallies, in time order.
    pub fn tallies(&self) -> &[Tally] {
        &self.tallies
    }
}

/// An interval log that cannot be written or read.
#[derive(Debug, Error)]
pub enum IntervalLogError {
    /// A histogram could not be encoded.
    #[error("cannot write the interval log: {0}")]
    Write(String),
    /// A line is not an interval log's.
    #[error("not an HdrHistogram interval log (byte {0} does not parse)")]
    Parse(usize),
    /// A histogram in it is unreadable.
    #[error("interval at {start:.3} s: {reason}")]
    Histogram {
        /// The interval's start, seconds.
        start: f64,
        /// Why.
        reason: String,
    },
}

/// Writes `intervals` as an interval log whose intervals start at `start` (the wall-clock
/// time of the measurement's start), with the uncorrected latency and the send lag when
/// `open_loop`.
pub fn write_log(
    intervals: &IntervalTallies,
    start: SystemTime,
    open_loop: bool,
    comment: &str,
) -> Result<Vec<u8>, IntervalLogError> {
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let error = |e: &dyn std::fmt::Display| IntervalLogError::Write(e.to_string());
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment(comment)
        // What HdrHistogram's own HistogramLogWriter puts first.
        .add_comment("[Histogram log format version 1.3]")
        .with_start_time(start)
        .with_base_time(start)
        // Interval_Max in ms, as the Java tools print it; the histograms stay in µs.
        .with_max_value_divisor(1000.0)
        .begin_log_with(&mut out, &mut serializer)
        .map_err(|e| error(&e))?;
    let tags: &[Option<&str>] = if open_loop {
        &[None, Some(TAG_UNCORRECTED), Some(TAG_SEND_LAG)]
    } else {
        &[None]
    };
    let length = intervals.length();
    for (i, tally) in intervals.tallies().iter().enumerate() {
        let start = length * u32::try_from(i).unwrap_or(u32::MAX);
        for &tag in tags {
            let histogram = match tag {
                None => &tally.latency,
                Some(TAG_UNCORRECTED) => &tally.latency_uncorrected,
                Some(_) => &tally.send_lag,
            };
            writer
                .write_histogram(histogram.as_hdr(), start, length, tag.and_then(Tag::new))
                .map_err(|e| error(&e))?;
        }
    }
    Ok(out)
}

/// One interval histogram of a log.
#[derive(Debug, Clone)]
pub struct LoggedInterval {
    /// Its tag (`None`: the latency).
    pub tag: Option<String>,
    /// Its start, from the log's base time.
    pub start: Duration,
    /// Its length.
    pub length: Duration,
    /// Its values.
    pub histogram: LatencyHistogram,
}

/// Reads every interval of an interval log, in the order written.
pub fn read_log(bytes: &[u8]) -> Result<Vec<LoggedInterval>, IntervalLogError> {
    let mut intervals = Vec::new();
    for entry in IntervalLogIterator::new(bytes) {
        let entry = entry.map_err(|e| match e {
            hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset } => {
                IntervalLogError::Parse(offset)
            }
        })?;
        let LogEntry::Interval(interval) = entry else {
            continue;
        };
        let histogram =
            LatencyHistogram::from_base64(interval.encoded_histogram()).map_err(|e| {
                IntervalLogError::Histogram {
                    start: interval.start_timestamp().as_secs_f64(),
                    reason: e.to_string(),
                }
            })?;
        intervals.push(LoggedInterval {
            tag: interval.tag().map(|t| t.as_str().to_owned()),
            start: interval.start_timestamp(),
            length: interval.duration(),
            histogram,
        });
    }
    Ok(intervals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_written_and_read_back_exactly() {
        let mut tallies = IntervalTallies::new(Duration::from_secs(1));
        for (ms, us) in [(10, 100), (900, 200), (1_500, 300), (3_200, 40_000)] {
            let tally = tallies.at(Duration::from_millis(ms));
            tally.latency.record(us);
            tally.latency_uncorrected.record(us / 2);
            tally.send_lag.record(3);
        }
        assert_eq!(tallies.tallies().len(), 4, "interval 2 is empty but there");
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_617_000);
        let log = write_log(&tallies, start, true, "test").unwrap();
        let text = String::from_utf8(log.clone()).unwrap();
        assert!(text.contains("#[StartTime: 1795617000.000"), "{text}");
        assert!(text.contains("#[BaseTime: 1795617000.000"), "{text}");
        assert!(text.contains("\nTag=send-lag,3.000,1.000,"), "{text}");
        let read = read_log(&log).unwrap();
        assert_eq!(read.len(), 12);
        let latency: Vec<&LoggedInterval> = read.iter().filter(|i| i.tag.is_none()).collect();
        assert_eq!(latency[0].histogram.len(), 2);
        assert_eq!(latency[2].histogram.len(), 0);
        assert_eq!(latency[3].start, Duration::from_secs(3));
        assert_eq!(
            latency[3].histogram.summary(),
            tallies.tallies()[3].latency.summary()
        );
        assert!(matches!(
            read_log(b"1.0,1.0,1.0,%%%\n"),
            Err(IntervalLogError::Histogram { .. })
        ));
        assert!(read_log(b"not a log\n").is_err());
    }

    #[test]
    fn merged_intervals_add_up() {
        let mut a = IntervalTallies::new(Duration::from_millis(500));
        a.at(Duration::from_millis(100)).latency.record(1);
        let mut b = IntervalTallies::new(Duration::from_millis(500));
        b.at(Duration::from_millis(1_200)).latency.record(2);
        b.at(Duration::from_millis(300)).latency.record(3);
        a.merge(&b);
        let lens: Vec<u64> = a.tallies().iter().map(|t| t.latency.len()).collect();
        assert_eq!(lens, [2, 0, 1]);
    }
}
