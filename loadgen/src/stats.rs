//! What a load records and how records are merged: latency histograms, status and error counts.
//!
//! Each load thread fills its own [`Tally`]; nothing here is shared between threads. Tallies are
//! merged once, at the end, exactly (HdrHistogram counts add up).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Highest latency recorded, in µs (one hour); longer ones are recorded as this.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Latencies in microseconds, 3 significant digits, 1 µs to one hour.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyHistogram(Histogram<u64>);

/// A histogram that could not be read back.
#[derive(Debug, Error)]
#[error("cannot read the histogram: {0}")]
pub struct HistogramError(String);

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("these bounds are valid"))
    }
}

impl LatencyHistogram {
    /// An empty histogram of the same precision that starts small and grows to the largest
    /// latency recorded, for the many short histograms of an interval log (a default one holds
    /// 190 KB of counts from the start).
    pub fn growing() -> Self {
        Self(Histogram::new(3).expect("3 significant digits are valid"))
    }

    /// The HdrHistogram inside, for writers of HdrHistogram's own formats.
    pub fn as_hdr(&self) -> &Histogram<u64> {
        &self.0
    }

    /// Records one latency; 0 µs counts as 1 µs and anything over an hour as an hour.
    pub fn record(&mut self, micros: u64) {
        let micros = micros.clamp(1, MAX_LATENCY_US);
        // Within the bounds, so this cannot fail, and a growing histogram grows to hold it
        // (`saturating_record` would clamp it to what it holds so far instead).
        if self.0.record(micros).is_err() {
            self.0.saturating_record(micros);
        }
    }

    /// Adds all of `other`'s counts.
    pub fn merge(&mut self, other: &Self) {
        // Values are clamped to an hour in every histogram (a growing one grows to hold them),
        // so adding cannot fail; saturate rather than panic anyway.
        let _ = self.0.add(&other.0);
    }

    /// Number of latencies recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The latency at quantile `q` (0.0 to 1.0), in µs.
    pub fn quantile(&self, q: f64) -> u64 {
        self.0.value_at_quantile(q)
    }

    /// The summary figures.
    pub fn summary(&self) -> LatencySummary {
        let h = &self.0;
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }

    /// The percentile curve: (percentile, latency µs) at HdrHistogram's usual steps (ticks per
    /// half distance), for plotting.
    pub fn percentile_curve(&self) -> Vec<(f64, u64)> {
        if self.0.is_empty() {
            return Vec::new();
        }
        self.0
            .iter_quantiles(5)
            .map(|v| (v.quantile_iterated_to() * 100.0, v.value_iterated_to()))
            .collect()
    }

    /// The histogram in HdrHistogram's V2 encoding, base64: other HdrHistogram tools read it.
    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail for want of space; an encoding error would be a bug.
        if V2Serializer::new().serialize(&self.0, &mut bytes).is_err() {
            bytes.clear();
        }
        BASE64.encode(bytes)
    }

    /// Reads a histogram written by [`Self::to_base64`] (or any V2 / V2+DEFLATE encoder).
    pub fn from_base64(text: &str) -> Result<Self, HistogramError> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|e| HistogramError(e.to_string()))?;
        let read: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| HistogramError(format!("{e:?}")))?;
        let mut histogram = Self::default();
        histogram
            .0
            .add(&read)
            .map_err(|e| HistogramError(format!("{e:?}")))?;
        Ok(histogram)
    }
}

/// A load thread is this busy or more: it, not the server, set the pace.
pub const CLIENT_BOUND_BUSY: f64 = 0.9;
/// Closed loop: connections spend this share of their time or more between an answer and
/// their next request (Little's law): the client, not the server, set the pace.
pub const CLIENT_BOUND_TURNAROUND: f64 = 0.2;
/// A load thread that waited for a CPU this share of the time or more fell behind for want of
/// CPU: another process took it (a shared machine, a build, a second client).
pub const CLIENT_WAITED_BOUND: f64 = 0.05;
/// Open loop: the 99th percentile of the send lag above this many µs makes a run
/// client-lagged: its requests left late enough to distort what the server is seen to do.
pub const CLIENT_LAG_BOUND_US: u64 = 50;

/// Latency figures in µs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Fastest.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest.
    pub max: u64,
}

/// Why a request failed. Ordered by name, as the JSON files have always listed the kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// The connection was refused.
    Refused,
    /// The connection was reset or closed before a whole answer arrived.
    Reset,
    /// No answer within `--timeout`.
    Timeout,
    /// Anything else (a malformed answer, a TLS failure, …).
    Other,
}

impl ErrorKind {
    /// Every kind, in report order.
    pub const ALL: [Self; 4] = [Self::Refused, Self::Reset, Self::Timeout, Self::Other];

    /// The kind of an I/O error.
    pub fn of_io(err: &std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        match err.kind() {
            Io::ConnectionRefused => Self::Refused,
            Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::BrokenPipe
            | Io::UnexpectedEof
            | Io::NotConnected => Self::Reset,
            Io::TimedOut | Io::WouldBlock => Self::Timeout,
            _ => Self::Other,
        }
    }

    /// The kind of any error: the first I/O error in its chain of sources decides.
    pub fn of(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut source = Some(err);
        while let Some(err) = source {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                return Self::of_io(io);
            }
            source = err.source();
        }
        Self::Other
    }
}

impl ErrorKind {
    /// Its name in the JSON files and the text: `refused`, `reset`, `timeout`, `other`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::Reset => "reset",
            Self::Timeout => "timeout",
            Self::Other => "other",
        }
    }
}

impl Ord for ErrorKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for ErrorKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything one load thread records. Merging two tallies adds them up.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Latency of each answer: from when it was due (open loop) or sent (closed loop).
    pub latency: LatencyHistogram,
    /// Open loop only: latency from when each request was actually sent.
    pub latency_uncorrected: LatencyHistogram,
    /// Open loop only: how late each request went out, counted from when it was both due and
    /// its connection was free to send it: the client's own lateness, not the server's.
    pub send_lag: LatencyHistogram,
    /// Connections opened again after the server closed one (announced or not) or after an
    /// error.
    pub reconnects: u64,
    /// Answers per status code.
    pub status: BTreeMap<u16, u64>,
    /// Failures per kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Body bytes read.
    pub body_bytes: u64,
}

impl Tally {
    /// An empty tally whose histograms grow as they fill ([`LatencyHistogram::growing`]).
    pub fn growing() -> Self {
        Self {
            latency: LatencyHistogram::growing(),
            latency_uncorrected: LatencyHistogram::growing(),
            send_lag: LatencyHistogram::growing(),
            reconnects: 0,
            status: BTreeMap::new(),
            errors: BTreeMap::new(),
            body_bytes: 0,
        }
    }

    /// Answers received (whatever their status).
    pub fn responses(&self) -> u64 {
        self.status.values().sum()
    }

    /// Failed requests.
    pub fn failures(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Records one failure.
    pub fn record_error(&mut self, kind: ErrorKind) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// Records one answer.
    pub fn record_status(&mut self, status: u16, body_bytes: u64) {
        *self.status.entry(status).or_default() += 1;
        self.body_bytes += body_bytes;
    }

    /// Adds `other` to this tally.
    pub fn merge(&mut self, other: &Self) {
        self.latency.merge(&other.latency);
        self.latency_uncorrected.merge(&other.latency_uncorrected);
        self.send_lag.merge(&other.send_lag);
        self.reconnects += other.reconnects;
        for (code, count) in &other.status {
            *self.status.entry(*code).or_default() += count;
        }
        for (kind, count) in &other.errors {
            *self.errors.entry(*kind).or_default() += count;
        }
        self.body_bytes += other.body_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_histograms_hold_every_count_exactly() {
        let mut a = LatencyHistogram::default();
        let mut b = LatencyHistogram::default();
        for us in 1..=1000 {
            a.record(us);
        }
        for _ in 0..1000 {
            b.record(1_000_000);
        }
        a.merge(&b);
        assert_eq!(a.len(), 2000);
        let summary = a.summary();
        assert_eq!(summary.min, 1);
        assert_eq!(summary.p50, 1000, "the 1,000th of 2,000 values");
        assert!(summary.p90 >= 999_000, "{}", summary.p90);
        assert!(summary.max >= 999_000 && summary.max <= 1_001_000);
    }

    #[test]
    fn histograms_survive_the_v2_base64_round_trip() {
        let mut h = LatencyHistogram::default();
        for us in [3, 50, 700, 9_000, 120_000, 4_000_000] {
            h.record(us);
        }
        let back = LatencyHistogram::from_base64(&h.to_base64()).unwrap();
        assert_eq!(back.summary(), h.summary());
        assert_eq!(back.len(), 6);
        assert!(LatencyHistogram::from_base64("not base64!").is_err());
        assert!(LatencyHistogram::from_base64("aGVsbG8=").is_err());
    }

    #[test]
    fn out_of_range_latencies_are_clamped_not_lost() {
        let mut h = LatencyHistogram::default();
        h.record(0);
        h.record(u64::MAX);
        assert_eq!(h.len(), 2);
        assert_eq!(h.summary().min, 1);
    }

    #[test]
    fn tallies_add_up() {
        let mut a = Tally::default();
        a.record_status(200, 10);
        a.record_error(ErrorKind::Reset);
        let mut b = Tally::default();
        b.record_status(200, 5);
        b.record_status(404, 9);
        b.record_error(ErrorKind::Reset);
        b.record_error(ErrorKind::Timeout);
        a.merge(&b);
        assert_eq!(a.responses(), 3);
        assert_eq!(a.status[&200], 2);
        assert_eq!(a.errors[&ErrorKind::Reset], 2);
        assert_eq!(a.failures(), 3);
        assert_eq!(a.body_bytes, 24);
    }

    #[test]
    fn io_errors_are_sorted_into_kinds() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(ErrorKind::of(&refused), ErrorKind::Refused);
        let wrapped =
            std::io::Error::other(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(ErrorKind::of(&wrapped), ErrorKind::Other);
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert_eq!(ErrorKind::of(&eof), ErrorKind::Reset);
    }
}
